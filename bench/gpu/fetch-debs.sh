#!/usr/bin/env bash
# Downloads (here, on the Debian 12 build machine) the Debian packages fitrun's build needs,
# with their runtime libraries, into .device-debs/ (git-ignored), for bench/gpu/run.sh to
# unpack with `dpkg -x` on a GPU machine that has CUDA, CMake and a compiler but none of
# Debian's -dev packages and no internet. Only `apt-get download`: nothing is installed.
#
#   bench/gpu/fetch-debs.sh            # then carry .device-debs to the GPU machine
set -euo pipefail
cd "$(dirname "$0")/../.."
out=.device-debs
mkdir -p "$out"

# What CMakeLists.txt finds (scripts/install-deps.sh installs the same on a Debian machine).
top=(libdnnl-dev nlohmann-json3-dev libhdf5-dev libspdlog-dev libfmt-dev catch2 libcli11-dev
     zlib1g-dev libcurl4-openssl-dev)

# The closure of their Depends (first alternative of each), without the base system that every
# Linux machine has (a newer glibc/libstdc++ there must not be shadowed) and without -dev
# packages beyond the list above (libhdf5-dev wants Fortran, JPEG, SSL headers fitrun never uses).
mapfile -t pkgs < <(python3 - "${top[@]}" <<'PY'
import re, subprocess, sys
base = re.compile(r'^(libc6|libc6-dev|libc-dev|libgcc-s1|libstdc\+\+6|gcc-\d+-base|libcrypt1|'
                  r'debconf|perl.*|dpkg|tar|libc-dev-bin|linux-libc-dev|libgomp1|'
                  r'libgfortran\d*|libquadmath0|libhdf5-(fortran|hl|cpp).*|hdf5-helpers|'
                  r'libselinux1|libpcre2.*|libzstd1|lsb-base|.*-common|adduser)$')
top = sys.argv[1:]
seen, todo = set(), list(top)
while todo:
    p = todo.pop()
    if p in seen or base.match(p):
        continue
    seen.add(p)
    out = subprocess.run(['apt-cache', 'depends', '--no-recommends', '--no-suggests',
                          '--no-conflicts', '--no-breaks', '--no-replaces', '--no-enhances', p],
                         capture_output=True, text=True).stdout.splitlines()
    alt = False  # inside a run of |Depends alternatives: keep only the first
    for line in out[1:]:
        m = re.match(r'\s*(\|)?(Pre)?Depends: (\S+)', line)
        if not m:
            continue
        first = not alt
        alt = m.group(1) == '|'
        name = m.group(3)
        if not first or name.startswith('<'):
            continue
        if name.endswith('-dev') and name not in top:
            continue
        todo.append(name)
print('\n'.join(sorted(seen)))
PY
)
echo "downloading ${#pkgs[@]} packages into $out/"
(cd "$out" && apt-get download "${pkgs[@]}")
du -sh "$out"
