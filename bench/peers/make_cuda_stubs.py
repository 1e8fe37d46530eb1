#!/usr/bin/env python3
"""Build tiny no-op stand-ins for the CUDA libraries that a PyPI torch wheel links against.

PyPI only ships CUDA builds of torch for Linux x86_64. libtorch_cuda.so (which torch._C always loads)
lists libcudart, libcublas, libcudnn, libnccl, ... as DT_NEEDED, and those come from ~2.5 GB of
nvidia-* wheels. We only benchmark on the CPU, so instead we generate, for every CUDA soname torch
needs, a small shared library with the same soname and symbol versions that defines every symbol
torch imports from it. Each function returns 100 (cudaErrorNoDevice; an error status for the other
libraries), the *ErrorString-style functions return a message, and data symbols are zeroed buffers.
With those in place torch imports, torch.cuda.is_available() is False, and the CPU kernels
(libtorch_cpu.so, MKL, oneDNN) are the very same as in a full install.

The stubs go into torch/lib. That directory is the last entry of torch's RPATH, after the
nvidia/* wheel directories, so real nvidia-* wheels still take precedence if installed later, while
any system CUDA (ld.so.cache) is shadowed and can't cause version mismatches.

Usage: make_cuda_stubs.py TORCH_LIB_DIR    (needs gcc and readelf)
"""
import glob
import os
import re
import subprocess
import sys
import tempfile

CUDA_RE = re.compile(r"^lib(cudart|cublas|cublasLt|cufft|cufile|cusparse|cusparseLt|cusolver|nccl|cudnn"
                     r"|nvrtc|nvshmem_host|cupti|nvJitLink|nvToolsExt|curand)\.so(\.\d+)*$")
# Unversioned imports (nccl, cusparseLt, cufile ...) are attributed to a library by name prefix.
PREFIX = [("nccl", "libnccl"), ("cusparseLt", "libcusparseLt"), ("cuFile", "libcufile"),
          ("nvshmem", "libnvshmem_host"), ("cudnn", "libcudnn"), ("cublasLt", "libcublasLt"),
          ("cublas", "libcublas"), ("cusparse", "libcusparse"), ("cufft", "libcufft"),
          ("cusolver", "libcusolver"), ("nvrtc", "libnvrtc"), ("cupti", "libcupti"), ("cuda", "libcudart"),
          ("__cuda", "libcudart"), ("nvJitLink", "libnvJitLink"), ("nvtx", "libnvToolsExt"),
          ("curand", "libcurand")]
STRING_RET = {"cudaGetErrorString", "cudaGetErrorName"}
STRING_RET_RE = re.compile(r"(ErrorString|ErrorName|StatusString|StatusName|GetLastError|VersionString)$")


def sh(*args):
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def main(libdir):
    libdir = os.path.abspath(libdir)
    libs = sorted(set(glob.glob(os.path.join(libdir, "*.so"))) |
                  set(glob.glob(os.path.join(libdir, "..", "_C*.so"))))
    # libcaffe2_nvrtc.so is only dlopen()ed when NVRTC is used on a GPU (it also needs libcuda.so.1).
    libs = [p for p in libs if not p.endswith("libcaffe2_nvrtc.so")]

    needed = {}    # CUDA soname -> set of symbol-version names it must define
    defined = set()
    undef = {}     # symbol -> (elf type, soname or None, version or None)
    for p in libs:
        for so in re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", sh("readelf", "-d", "-W", p)):
            if CUDA_RE.match(so):
                needed.setdefault(so, set())
        ver2file, cur = {}, None
        for line in sh("readelf", "-V", "-W", p).splitlines():
            m = re.search(r"File: (\S+)", line)
            if m:
                cur = m.group(1)
            m = re.search(r"Name: (\S+)\s+Flags", line)
            if m and cur:
                ver2file[m.group(1)] = cur
        for line in sh("readelf", "--dyn-syms", "-W", p).splitlines():
            f = line.split()
            if len(f) < 8 or not f[0].endswith(":"):
                continue
            typ, bind, ndx, name = f[3], f[4], f[6], f[7]
            ver = None
            if "@" in name:
                name, ver = name.split("@", 1)
                ver = ver.lstrip("@")
            if ndx != "UND":
                defined.add(name)
            elif bind != "WEAK" and name:
                if ver is None:
                    undef.setdefault(name, (typ, None, None))
                elif CUDA_RE.match(ver2file.get(ver, "")):
                    so = ver2file[ver]
                    needed.setdefault(so, set()).add(ver)
                    undef[name] = (typ, so, ver)

    per_lib = {so: {} for so in needed}
    for name, (typ, so, ver) in undef.items():
        if so is None:
            if name in defined:
                continue
            base = next((b for pre, b in PREFIX if name.startswith(pre)), None)
            so = next((s for s in needed if base and s.startswith(base + ".so")), None)
            if so is None:
                continue
        per_lib[so][name] = (typ, ver)

    tmp = tempfile.mkdtemp(prefix="cudastubs")
    for so, syms in sorted(per_lib.items()):
        src = ['static const char stub_msg[] = "CUDA unavailable (CPU-only stub library)";',
               '#define API __attribute__((visibility("default")))']
        by_ver = {}
        for name, (typ, ver) in sorted(syms.items()):
            if typ in ("OBJECT", "TLS"):
                src.append(f"API char {name}[4096];")
            elif name in STRING_RET or (STRING_RET_RE.search(name) and not name.startswith("cuda")):
                src.append(f"API const char* {name}(void) {{ return stub_msg; }}")
            else:
                src.append(f"API long {name}(void) {{ return 100; }}")
            by_ver.setdefault(ver, []).append(name)
        c = os.path.join(tmp, so + ".c")
        with open(c, "w") as fh:
            fh.write("\n".join(src) + "\n")
        out = os.path.join(libdir, so)
        args = ["gcc", "-shared", "-fPIC", "-O1", "-w", "-o", out + ".tmp", c, "-Wl,-soname," + so]
        if needed[so]:
            vs = os.path.join(tmp, so + ".map")
            with open(vs, "w") as fh:
                for v in sorted(needed[so]):
                    fh.write(f"{v} {{ global: {' '.join(n + ';' for n in by_ver.get(v, []))} }};\n")
            args.append("-Wl,--version-script=" + vs)
        sh(*args)
        os.replace(out + ".tmp", out)
        print(f"  stub {so}: {len(syms)} symbols")


if __name__ == "__main__":
    main(sys.argv[1])
