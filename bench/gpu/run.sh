#!/usr/bin/env bash
# The GPU check of the CUDA backend, in one script for a session lent an H100/H200 machine
# (CUDA toolkit, CMake, ninja and a compiler there; no Debian -dev packages, no internet).
#
# Before (on the build machine):  bench/gpu/fetch-debs.sh   -> .device-debs/*.deb
#                                  bench/gpu/prebuild.sh     -> .device-build/ (optional)
# On the GPU machine (device tool, carry [".device-debs", ".device-build"], timeout ~540 s):
#   bench/gpu/run.sh
# It unpacks the .debs into a prefix (Debian's runtime libraries, and the headers for a build),
# uses the binaries of .device-build when they load there, else configures with FITRUN_CUDA=ON
# for sm_90 and builds them; runs the [cuda] and [gpu] tests (and the fused-update CPU tests),
# compute-sanitizer memcheck on the [gpu] tests when it is installed, then the GPU benchmarks
# against PyTorch (bench/compare.py --device cuda), and prints a summary.
# Environment: FITRUN_GPU_SANITIZER_S (seconds for memcheck, 0 = skip; default 150),
# FITRUN_GPU_BENCH (benchmark configs, "" = skip; default "mlp:128 cnn:64 resnet:256"),
# FITRUN_GPU_TESTS (Catch2 filter for the GPU tests; default "[gpu]"), FITRUN_GPU_ROUNDS (default 2),
# FITRUN_GPU_PRECISIONS (default "float32"; "tf32" runs both with TF32 tensor cores; "bf16"
# runs PyTorch alone until fitrun has it), FITRUN_GPU_PROFILE (0 skips the by-layer profiles of the CNN and ResNet steps),
# FITRUN_GPU_C1_LAYOUTS (the other one-channel conv layouts to profile the CNN with; default
# "nhwc nchw_all", "" = none).
# Logs go to $OUT (the device tool brings them back) or to build-gpu/logs.
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
prefix=/tmp/fitrun-deps
build=${FITRUN_GPU_BUILD:-build-gpu}
logs=${OUT:-$build/logs}
mkdir -p "$logs"
jobs=$(nproc)
step() { printf '\n==== %s (%ss)\n' "$1" "$SECONDS"; }

step "machine"
nvidia-smi -L 2>&1 || echo "nvidia-smi: not available"
nvcc --version 2>&1 | tail -2
cmake --version | head -1
c++ --version | head -1
command -v ninja >/dev/null && gen=Ninja || gen="Unix Makefiles"

step "unpacking .device-debs into $prefix"
if ! ls .device-debs/*.deb >/dev/null 2>&1; then
  echo "no .device-debs/*.deb: run bench/gpu/fetch-debs.sh on the build machine and carry .device-debs"
  exit 2
fi
rm -rf "$prefix" && mkdir -p "$prefix"
for f in .device-debs/*.deb; do dpkg -x "$f" "$prefix" || exit 2; done
# Debian's absolute symlinks (libz.so -> /lib/...) must point into the prefix.
find "$prefix" -type l | while read -r l; do
  t=$(readlink "$l")
  if [[ $t == /* && -e "$prefix$t" ]]; then ln -sfn "$prefix$t" "$l"; fi
done
libdir=$prefix/usr/lib/x86_64-linux-gnu
ls "$prefix/usr/include/oneapi/dnnl/dnnl.hpp" "$libdir/libdnnl.so" || exit 2

step "locating cuDNN"
cudnn_root=""
for d in "${CUDNN_ROOT:-}" /usr/local/cuda /usr \
         $(python3 -c 'import nvidia, os; [print(os.path.join(p, "cudnn")) for p in nvidia.__path__]' 2>/dev/null); do
  [[ -n $d ]] || continue
  lib=$(ls "$d"/lib*/libcudnn.so* "$d"/lib/x86_64-linux-gnu/libcudnn.so* 2>/dev/null | head -1)
  if [[ -e $d/include/cudnn_version.h && -n $lib ]]; then
    cudnn_root=$d; cudnn_lib=$(dirname "$lib"); break
  fi
done
if [[ -z $cudnn_root ]]; then echo "cuDNN not found (set CUDNN_ROOT)"; exit 2; fi
echo "cuDNN at $cudnn_root (library in $cudnn_lib)"
# The pip wheel ships only libcudnn.so.9: give the linker an unversioned name.
if [[ ! -e $cudnn_lib/libcudnn.so ]]; then
  mkdir -p "$prefix/cudnn/lib" && ln -sfn "$cudnn_lib/libcudnn.so.9" "$prefix/cudnn/lib/libcudnn.so"
  ln -sfn "$cudnn_root/include" "$prefix/cudnn/include"
  cudnn_root=$prefix/cudnn
fi

cuda_lib=$(dirname "$(ls /usr/local/cuda/lib64/libcudart.so* /usr/local/cuda/lib/libcudart.so* 2>/dev/null | head -1)")
# Set only for fitrun's programs: python3 and the tools must not load Debian's libraries.
fitrun_libs=$libdir:$libdir/hdf5/serial:$cudnn_lib:$cuda_lib
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-8}
bin=""
if [[ -f .device-build/COMMIT ]]; then
  step "prebuilt binaries (.device-build, commit $(cat .device-build/COMMIT))"
  missing=$(LD_LIBRARY_PATH=$PWD/.device-build:$fitrun_libs ldd .device-build/tests/test_cuda | grep "not found")
  # (Catch2 v2 exits with the number of tests listed: look at the output instead.)
  listed=$(LD_LIBRARY_PATH=$PWD/.device-build:$fitrun_libs .device-build/tests/test_cuda --list-tests 2>&1)
  if [[ -z $missing && $listed == *"test cases"* ]]; then
    bin=$PWD/.device-build
    echo "they load: using them (no build here)"
  else
    echo "they do not load here ($missing): building"
  fi
fi
run() { LD_LIBRARY_PATH=${bin:-$PWD/$build}:$fitrun_libs "$@"; }

if [[ -z $bin ]]; then
export LD_LIBRARY_PATH=$fitrun_libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
step "configure (FITRUN_CUDA=ON, sm_90)"
cmake -S . -B "$build" -G "$gen" -DCMAKE_BUILD_TYPE=Release -DFITRUN_CUDA=ON \
  -DCMAKE_CUDA_ARCHITECTURES="${FITRUN_CUDA_ARCH:-90}" -DCMAKE_PREFIX_PATH="$prefix/usr" \
  -DCUDNN_ROOT="$cudnn_root" -DFITRUN_BUILD_EXAMPLES=OFF -DFITRUN_BUILD_BENCH=OFF \
  -DFITRUN_BUILD_CLI=OFF -DFITRUN_BUILD_TESTS=ON -DFITRUN_BUILD_BENCH=ON -DCMAKE_POLICY_VERSION_MINIMUM=3.5 \
  -DHDF5_C_COMPILER_EXECUTABLE=/nonexistent 2>&1 | tee "$logs/configure.log" | tail -25
[[ ${PIPESTATUS[0]} == 0 ]] || { echo "configure failed (log: $logs/configure.log)"; exit 3; }

step "build (test_cuda, test_optimizers, benchmarks)"
cmake --build "$build" -j "$jobs" --target test_cuda test_optimizers bench_mlp bench_cnn \
  $(cmake --build "$build" --target help | grep -o "^bench_resnet") > "$logs/build.log" 2>&1
rc=$?
grep -E "error|warning" "$logs/build.log" | head -40
[[ $rc == 0 ]] || { tail -40 "$logs/build.log"; echo "build failed (log: $logs/build.log)"; exit 4; }
unset LD_LIBRARY_PATH
bin=$PWD/$build  # the same layout as .device-build: tests/test_*, bench/bench_*
fi

status=0
step "fitrun build_info"
run "$bin/tests/test_cuda" "build_info reports the CUDA backend and its devices" -s 2>&1 |
  grep -E "CUDA|cuda:|cuBLAS|oneDNN" | head -12

step "tests: [cuda] (runtime, error messages)"
run "$bin/tests/test_cuda" "[cuda]" 2>&1 | tee "$logs/test_cuda_runtime.log" | tail -15
[[ ${PIPESTATUS[0]} == 0 ]] || status=5

gpu_tests=${FITRUN_GPU_TESTS:-[gpu]}
step "tests: $gpu_tests (each GPU op and layer against the CPU)"
run "$bin/tests/test_cuda" "$gpu_tests" --durations yes 2>&1 | tee "$logs/test_gpu.log" | tail -60
[[ ${PIPESTATUS[0]} == 0 ]] || status=5
if grep -q "skipped: no CUDA device" "$logs/test_gpu.log"; then
  echo "the [gpu] tests were SKIPPED: this machine has no usable CUDA device"; status=6
fi

step "tests: fused optimizer updates on the CPU"
run "$bin/tests/test_optimizers" "[fused]" 2>&1 | tail -3

if [[ -x $bin/fitrun ]]; then
  step "the CLI on the GPU: fitrun train examples/configs/mlp_digits.json --device cuda"
  rm -rf /tmp/fitrun-gpu-run
  run "$bin/fitrun" train examples/configs/mlp_digits.json --device cuda --set fit.epochs=5 \
    --output /tmp/fitrun-gpu-run 2>&1 | tr '\r' '\n' | grep -vE "^ *[0-9]+/[0-9]+ \[.*ETA" |
    tee "$logs/cli_gpu.log" | tail -12
  [[ ${PIPESTATUS[0]} == 0 ]] || status=7
fi

step "CUDA graphs (jit_compile) against eager launches: samples/s, replays"
for model in mlp cnn resnet; do
  for jit in 1 0; do
    printf '%s --jit %s: ' "$model" "$jit"
    run "$bin/bench/bench_$model" --device cuda --steps 50 --warmup 5 --repeats 3 --jit $jit 2>&1 |
      grep -oE '"samples_per_s_median": [0-9.]+|"cuda_graph_replays": [0-9]+|no CUDA graph: .*' | tr '\n' ' '
    echo
  done
done 2>&1 | tee "$logs/graphs.log"

if [[ ${FITRUN_GPU_PROFILE:-1} != 0 ]]; then
  for model in cnn resnet; do
    step "where a $model training step's time goes on the GPU (by layer, device drained per layer)"
    run "$bin/bench/bench_$model" --device cuda --steps 5 --warmup 3 --repeats 1 --profile 20 \
      2>&1 | tee "$logs/profile_$model.log" | tail -45
  done
  # The CNN's first conv has one input channel: compare how cuDNN is told its layout.
  for layout in ${FITRUN_GPU_C1_LAYOUTS-nhwc nchw_all}; do
    step "the CNN step with FITRUN_CONV_C1_LAYOUT=$layout (the default, nchw, is above)"
    FITRUN_CONV_C1_LAYOUT=$layout run "$bin/bench/bench_cnn" --device cuda --steps 5 --warmup 3 \
      --repeats 1 --profile 20 2>&1 | tee "$logs/profile_cnn_$layout.log" | tail -45
  done
fi

configs=${FITRUN_GPU_BENCH-mlp:128 cnn:64 resnet:256}
if [[ -n $configs ]]; then
  peer_only=""
  run "$bin/bench/bench_mlp" --device cuda --steps 1 --warmup 0 --repeats 1 >/dev/null 2>&1 ||
    { peer_only=--peer-only; echo "(fitrun's benchmarks cannot run on the GPU in this build: PyTorch only)"; }
  for precision in ${FITRUN_GPU_PRECISIONS:-float32}; do
    only=$peer_only
    [[ $precision == float32 || $precision == tf32 ]] || only=--peer-only
    step "benchmarks against PyTorch on the GPU ($precision): $configs"
    FITRUN_BENCH_LD_LIBRARY_PATH=$bin:$fitrun_libs PYTHONUNBUFFERED=1 python3 bench/compare.py --build "$bin" \
      --device cuda --precision $precision --rounds "${FITRUN_GPU_ROUNDS:-2}" --repeats 5 $only $configs 2>&1 |
      tee -a "$logs/bench.log" | tail -8
  done
fi

san_s=${FITRUN_GPU_SANITIZER_S:-150}
if [[ $san_s == 0 ]]; then
  echo "compute-sanitizer: skipped (FITRUN_GPU_SANITIZER_S=0)"
elif command -v compute-sanitizer >/dev/null; then
  step "compute-sanitizer memcheck on $gpu_tests (at most ${san_s}s)"
  # cuDNN's algorithm search is slow under memcheck: bounded so the summary still prints.
  run timeout "$san_s" compute-sanitizer --tool memcheck --error-exitcode 9 \
    "$bin/tests/test_cuda" "$gpu_tests" > "$logs/sanitizer.log" 2>&1
  echo "compute-sanitizer exit $? (124: stopped at the time limit)"
  grep -E "ERROR SUMMARY|Invalid|rror|test cases" "$logs/sanitizer.log" | head -20
else
  echo "compute-sanitizer: not installed"
fi

step "summary"
grep -E "^(All tests passed|test cases:)" "$logs"/test_*.log
grep -E "^(model|mlp|cnn|resnet|lstm|transformer|\()" "$logs/bench.log" 2>/dev/null
echo "status $status (0 = every [gpu] and [cuda] test passed on a GPU); logs in $logs"
exit $status
