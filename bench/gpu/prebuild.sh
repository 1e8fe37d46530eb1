#!/usr/bin/env bash
# Builds (here, where nvcc, cuDNN and Debian's -dev packages are) the binaries that the GPU
# check runs, and copies them into .device-build/ (git-ignored) for bench/gpu/run.sh, which
# uses them instead of building on the GPU machine when they load there (device time is short;
# a 16-core build there still costs minutes). Debian's runtime libraries travel in
# .device-debs (bench/gpu/fetch-debs.sh); cuDNN is the GPU machine's own.
#
#   bench/gpu/prebuild.sh [build-dir]      # default: build
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
targets=(test_cuda test_optimizers bench_mlp bench_cnn bench_resnet fitrun_cli)
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DFITRUN_CUDA=ON \
  -DCMAKE_CUDA_ARCHITECTURES=90 -DFITRUN_BUILD_TESTS=ON -DFITRUN_BUILD_BENCH=ON >/dev/null
existing=()
for t in "${targets[@]}"; do
  if cmake --build "$build" --target help | grep -q "^$t:"; then existing+=("$t"); fi
done
cmake --build "$build" -j "$(nproc)" --target "${existing[@]}"
out=.device-build
rm -rf "$out" && mkdir -p "$out/tests" "$out/bench"
cp -L "$build/libfitrun.so.0" "$out/"
for t in "${existing[@]}"; do
  case $t in
    test_*) cp "$build/tests/$t" "$out/tests/" ;;
    fitrun_cli) cp "$build/fitrun" "$out/" ;;
    *) cp "$build/bench/$t" "$out/bench/" ;;
  esac
done
strip --strip-unneeded "$out/libfitrun.so.0" "$out"/tests/* "$out"/bench/* "$out"/fitrun 2>/dev/null || true
git rev-parse HEAD > "$out/COMMIT"
du -sh "$out"
