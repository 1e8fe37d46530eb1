#!/usr/bin/env bash
# The main job: install dependencies, build, and train the bundled digits MLP end to end.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DFITRUN_BUILD_TESTS=OFF
cmake --build build --target mlp_digits
OMP_NUM_THREADS="${OMP_NUM_THREADS:-$(nproc)}" build/examples/mlp_digits examples/data/digits.csv.gz
