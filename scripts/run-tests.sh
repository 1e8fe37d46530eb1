#!/usr/bin/env bash
# Install dependencies, build everything, and run the whole test suite under ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DFITRUN_BUILD_TESTS=ON
cmake --build build
cd build
ctest --output-on-failure --timeout 600 "$@"
