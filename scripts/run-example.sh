#!/usr/bin/env bash
# The main job: install dependencies, build the fitrun CLI, and train the bundled digits MLP
# end to end from its run file (examples/configs/mlp_digits.json): Keras' progress bar, then
# the test metrics. The run's folder (checkpoints, model.h5, history.csv) is build/runs/mlp_digits.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DFITRUN_BUILD_TESTS=OFF
cmake --build build --target fitrun_cli
rm -rf build/runs/mlp_digits   # a run folder is never overwritten; start this one afresh
OMP_NUM_THREADS="${OMP_NUM_THREADS:-$(nproc)}" \
  build/fitrun train examples/configs/mlp_digits.json --set fit.epochs=5 --output build/runs/mlp_digits
