#!/bin/bash
# One call on a GPU machine without a browser (carry .device, .gl and bench/dist from
# bench/node/prepare-device.sh): Node + Dawn over the machine's Vulkan driver runs
#   1. the kernel and training-step benchmarks (npm run bench:node's bundle; rows merged into
#      bench/results.json, copied to $OUT/results.json), then
#   2. the comparison (npm run compare:node's bundle) into $OUT/RESULTS.md and RESULTS.json,
#      starting from the committed ones (so CMP_ARGS="--continue --seeds 0,1,2" trains only the
#      (seed, method) pairs they lack; RESULTS.json is rewritten after every run, so a time limit
#      keeps what finished).
# Env: BENCH_S / CMP_S seconds for each part (0 skips it), BENCH_ONLY, BENCH_SHAPES, BENCH_RUNS,
# CMP_ARGS, PROFILE=1 (the benchmark under node --cpu-prof, profile in $OUT/prof).
# LOCAL=1: a dry run on a machine with node_modules (no packages unpacked; SwiftShader if no GPU).
set -u
cd "$(dirname "$0")/../.."
OUT=${OUT:-/tmp/devout}
mkdir -p "$OUT"
T0=$(date +%s)
if [ -z "${LOCAL:-}" ]; then
  for f in .gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
  if [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ]; then
    export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
    export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
  fi
  nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv | tee "$OUT/gpu.txt"
  mkdir -p /tmp/n
  xz -dc .device/node.xz > /tmp/n/node && chmod +x /tmp/n/node && xz -dc .device/dawn.node.xz > /tmp/n/dawn.node || exit 5
  export PATH=/tmp/n:$PATH DAWN_NODE=/tmp/n/dawn.node
fi
echo "node $(node --version); setup $(($(date +%s) - T0)) s; $(nproc) CPUs"
# The defaults leave room for setup within a 600 s call.
BENCH_S=${BENCH_S:-120}
CMP_S=${CMP_S:-330}
if [ "$BENCH_S" -gt 0 ]; then
  prof=()
  [ -n "${PROFILE:-}" ] && prof=(--cpu-prof --cpu-prof-dir="$OUT/prof")
  # SIGINT, not SIGTERM, at the limit: node still writes its --cpu-prof profile.
  BENCH_RUNS=${BENCH_RUNS:-5} BENCH_ONLY=${BENCH_ONLY:-matmul,train,profile,attention,cross_entropy,adapter,skinny} \
    timeout -s INT -k 10 "$BENCH_S" node ${prof[@]+"${prof[@]}"} bench/dist/bench-node.mjs > "$OUT/bench.log" 2>&1
  echo "bench rc $? at $(($(date +%s) - T0)) s: $(grep -c '^{' "$OUT/bench.log") rows"
  grep -E "\"train_(step|profile)\"" "$OUT/bench.log" | cut -c1-400
  cp bench/results.json "$OUT/results.json"
fi
if [ "$CMP_S" -gt 0 ]; then
  cp RESULTS.md RESULTS.json "$OUT/"
  # shellcheck disable=SC2086
  MOR1E_REQUIRE_GPU=${MOR1E_REQUIRE_GPU:-1} timeout "$CMP_S" node bench/dist/compare-node.mjs \
    --results "$OUT/RESULTS.md" --out /tmp/cmp ${CMP_ARGS:-} > "$OUT/compare.log" 2>&1
  echo "compare rc $? at $(($(date +%s) - T0)) s"
  grep -v '^step' "$OUT/compare.log" | tail -40
  tar czf "$OUT/runs.tgz" -C /tmp cmp 2> /dev/null
fi
ls -la "$OUT"
