#!/usr/bin/env bash
# Installs the Debian 12 packages fitrun needs to build and test. Idempotent; run as root
# (or with sudo available).
set -euo pipefail
packages=(
  build-essential cmake ninja-build pkg-config
  libdnnl-dev nlohmann-json3-dev libhdf5-dev libspdlog-dev libfmt-dev
  catch2 libcli11-dev zlib1g-dev libcurl4-openssl-dev
  clang-tools-19 python3-nbformat  # CI replays the tutorial notebooks in clang-repl-19 (docs/notebooks.md)
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  echo "install-deps: installing ${missing[*]}"
  $SUDO apt-get update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
else
  echo "install-deps: all packages present"
fi
