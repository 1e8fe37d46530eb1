#!/usr/bin/env bash
# The GPU check of the CUDA backend, in one script for a session lent an H100/H200 machine
# (CUDA toolkit, CMake, ninja and a compiler there; no Debian -dev packages, no internet).
#
# Before (on the build machine):  bench/gpu/fetch-debs.sh      -> .device-debs/*.deb
# On the GPU machine (device tool, carry [".device-debs"], timeout ~540 s):
#   bench/gpu/run.sh
# It unpacks the .debs into a prefix, configures with FITRUN_CUDA=ON for sm_90, builds the
# test binaries, runs the [gpu] and [cuda] tests (and the fused-update CPU tests), then
# compute-sanitizer memcheck on the [gpu] tests when it is installed, and prints a summary.
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

# Set only now: python3 and the tools above must not load Debian's libraries.
export LD_LIBRARY_PATH=$libdir:$libdir/hdf5/serial:$cudnn_lib:/usr/local/cuda/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-8}

step "configure (FITRUN_CUDA=ON, sm_90)"
cmake -S . -B "$build" -G "$gen" -DCMAKE_BUILD_TYPE=Release -DFITRUN_CUDA=ON \
  -DCMAKE_CUDA_ARCHITECTURES="${FITRUN_CUDA_ARCH:-90}" -DCMAKE_PREFIX_PATH="$prefix/usr" \
  -DCUDNN_ROOT="$cudnn_root" -DFITRUN_BUILD_EXAMPLES=OFF -DFITRUN_BUILD_BENCH=OFF \
  -DFITRUN_BUILD_CLI=OFF -DFITRUN_BUILD_TESTS=ON -DCMAKE_POLICY_VERSION_MINIMUM=3.5 \
  -DHDF5_C_COMPILER_EXECUTABLE=/nonexistent 2>&1 | tee "$logs/configure.log" | tail -25
[[ ${PIPESTATUS[0]} == 0 ]] || { echo "configure failed (log: $logs/configure.log)"; exit 3; }

step "build (test_cuda, test_optimizers)"
cmake --build "$build" -j "$jobs" --target test_cuda test_optimizers > "$logs/build.log" 2>&1
rc=$?
grep -E "error|warning" "$logs/build.log" | head -40
[[ $rc == 0 ]] || { tail -40 "$logs/build.log"; echo "build failed (log: $logs/build.log)"; exit 4; }

status=0
step "fitrun build_info"
"$build/tests/test_cuda" "build_info reports the CUDA backend and its devices" -s 2>&1 |
  grep -E "CUDA|cuda:|cuBLAS|oneDNN" | head -12

step "tests: [cuda] (runtime, error messages)"
"$build/tests/test_cuda" "[cuda]" 2>&1 | tee "$logs/test_cuda_runtime.log" | tail -15
[[ ${PIPESTATUS[0]} == 0 ]] || status=5

step "tests: [gpu] (each GPU op against the CPU op)"
"$build/tests/test_cuda" "[gpu]" --durations yes 2>&1 | tee "$logs/test_gpu.log" | tail -60
[[ ${PIPESTATUS[0]} == 0 ]] || status=5
if grep -q "skipped: no CUDA device" "$logs/test_gpu.log"; then
  echo "the [gpu] tests were SKIPPED: this machine has no usable CUDA device"; status=6
fi

step "tests: fused optimizer updates on the CPU"
"$build/tests/test_optimizers" "[fused]" 2>&1 | tail -3

if command -v compute-sanitizer >/dev/null; then
  step "compute-sanitizer memcheck on [gpu]"
  # cuDNN's algorithm search is slow under memcheck: bounded so the summary still prints.
  timeout 200 compute-sanitizer --tool memcheck --error-exitcode 9 "$build/tests/test_cuda" "[gpu]" \
    > "$logs/sanitizer.log" 2>&1
  echo "compute-sanitizer exit $?"; grep -E "ERROR SUMMARY|Invalid|error" "$logs/sanitizer.log" | head -20
else
  echo "compute-sanitizer: not installed"
fi

step "summary"
grep -E "^(All tests passed|test cases:)" "$logs"/test_*.log
echo "status $status (0 = every [gpu] and [cuda] test passed on a GPU); logs in $logs"
exit $status
