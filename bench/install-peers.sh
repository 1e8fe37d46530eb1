#!/usr/bin/env bash
# Install the PyTorch (CPU) peer used by the benchmarks, from PyPI only.
#
# PyPI's Linux x86_64 torch wheels are CUDA builds whose dependencies are ~2.5 GB of nvidia-* wheels.
# We only need the CPU, so:
#   1. pip install --no-deps torch==$TORCH_VERSION  (~540 MB wheel) + its small pure-python deps;
#   2. if `import torch` then fails on a missing CUDA library (the normal case), generate tiny
#      stand-in libraries for the CUDA sonames torch links to (bench/peers/make_cuda_stubs.py; needs
#      gcc + readelf). CPU kernels are untouched; torch.cuda.is_available() is False;
#   3. last resort, if the stubs don't work: the full `pip install torch` (~3 GB download).
# Idempotent: does nothing if `import torch` already works with $PYTHON.
set -euo pipefail

PYTHON="${PYTHON:-python3}"
TORCH_VERSION="${TORCH_VERSION:-2.15.0}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PIP=("$PYTHON" -m pip install --disable-pip-version-check --no-input)

torch_ok() {
    "$PYTHON" -c 'import torch; a = torch.randn(64, 64); assert torch.isfinite(a @ a).all()' >/dev/null 2>&1
}

if "$PYTHON" -c 'import torch' >/dev/null 2>&1; then
    echo "install-peers: torch already importable: $("$PYTHON" -c 'import torch; print(torch.__version__)')"
    exit 0
fi

echo "install-peers: pip install --no-deps torch==$TORCH_VERSION"
"${PIP[@]}" --no-deps "torch==$TORCH_VERSION"
"${PIP[@]}" filelock typing-extensions sympy networkx jinja2 fsspec numpy

if ! torch_ok; then
    echo "install-peers: torch needs CUDA libraries; generating CPU-only stubs"
    TORCH_LIB="$("$PYTHON" -c 'import importlib.util, os; s = importlib.util.find_spec("torch"); print(os.path.join(os.path.dirname(s.origin), "lib"))')"
    if ! "$PYTHON" "$HERE/peers/make_cuda_stubs.py" "$TORCH_LIB" || ! torch_ok; then
        echo "install-peers: stubs did not work; falling back to the full torch install (~3 GB)"
        "${PIP[@]}" "torch==$TORCH_VERSION"
    fi
fi

torch_ok
"$PYTHON" -c 'import torch; print("install-peers: torch", torch.__version__, "mkldnn", torch.backends.mkldnn.is_available(), "threads", torch.get_num_threads())'
