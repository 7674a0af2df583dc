#!/bin/bash
# Run here, before a GPU lease: builds what bench/node/device.sh needs on a GPU machine that has
# neither node_modules nor a browser nor the Vulkan loader (the project's H200 leases):
#   bench/dist/{bench,compare}-node.mjs    the Node bundles (scripts/build-node-bench.mjs)
#   .device/node.xz, .device/dawn.node.xz   this machine's node and the `webgpu` package's dawn.node
#   .gl/*.deb                               the Vulkan loader and GL dispatch libraries (Debian amd64)
# All three are git-ignored; carry them (.device, .gl, bench/dist: ~30 MB) and run
# `bash bench/node/device.sh` there.
set -euo pipefail
cd "$(dirname "$0")/../.."
node scripts/build-node-bench.mjs
mkdir -p .device .gl
xz -T0 -c "$(command -v node)" > .device/node.xz
xz -T0 -c node_modules/webgpu/dist/linux-x64/dawn.node > .device/dawn.node.xz
GL_PACKAGES=(libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
missing=()
for p in "${GL_PACKAGES[@]}"; do ls .gl/"${p}"_*.deb > /dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  mkdir -p /tmp/amd64/partial
  o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
  # shellcheck disable=SC2086
  apt-get $o update -qq
  # shellcheck disable=SC2086
  (cd .gl && apt-get $o download "${missing[@]}")
fi
du -ch .device .gl bench/dist | tail -1
