#!/usr/bin/env bash
# Installs dllm's build and test dependencies from Debian 12's packages (run as root, or with
# sudo), and any further packages named as arguments (.ci/run: clang). Installs only what is
# missing, so it is cheap to run again.
set -euo pipefail
packages=(
  build-essential cmake ninja-build pkg-config git xz-utils
  libdnnl-dev libhwy-dev libeigen3-dev libsentencepiece-dev doctest-dev
  # oneDNN's CMake package looks for OpenCL (Debian builds it with the OpenCL GPU runtime), but
  # libdnnl-dev only recommends the OpenCL development files, which --no-install-recommends skips.
  ocl-icd-opencl-dev
  # Python references, the tiny model's PyTorch sampler and the ctypes example.
  python3 python3-numpy python3-sentencepiece python3-torch libopenblas0-pthread
  "$@"
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  SUDO=""
  [[ $(id -u) -eq 0 ]] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
