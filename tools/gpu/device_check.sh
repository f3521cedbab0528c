#!/usr/bin/env bash
# The TornadoVM backend on a GPU machine that has no JDK and no network, from the repository root:
#   tools/gpu/make_bundle.sh SDK...   (here, beforehand: .gpu-bundle/bundle.tar.xz, ignored by git)
#   tools/gpu/device_check.sh         (there; results under $OUT)
# Steps, in priority order, each under a timeout, all within BUDGET seconds (default 420):
#   devices   TornadoVM's device list for each bundled SDK (PTX first; OpenCL with NVIDIA's ICD if the driver has one)
#   parity    TornadoVM vs CPU backend on fixtures/models/tiny-*: max |logit diff| and top-k mismatches
#   mini      moescope weights init of tools/bench/configs/olmoe-mini.json (bf16), then parity on it
#   bench     moescope bench --backend tornado on the mini, HF transformers on CUDA (bf16, f32), bench --backend cpu
# STEPS="devices parity mini bench" selects steps (devices always runs); SDK=ptx|opencl forces an SDK;
# MINI_CONFIG / MINI_DIR replace the mini's config.json and directory.
set -u
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# Results gather in a work folder; $OUT gets summary.txt, log.txt, machine.txt and everything as results.tar.gz (the
# device tool brings back at most 8 files).
FINAL="${OUT:-$root/gpu-out}"
tmp="${TMPDIR:-/tmp}"
OUT="$tmp/moescope-gpu-results"
rm -rf "$OUT"
BUDGET="${BUDGET:-420}"
STEPS="${STEPS:-devices parity mini bench}"
mkdir -p "$OUT"
log() { echo "[$(date +%T) +${SECONDS}s] $*" | tee -a "$OUT/log.txt" >&2; }
want() { [[ " $STEPS " == *" $1 "* ]]; }
# run NAME TIMEOUT CMD...: stdout to $OUT/NAME.json|txt, stderr to $OUT/NAME.err; never past the budget.
run() {
  local name="$1" limit="$2"; shift 2
  local left=$((BUDGET - SECONDS))
  if (( left < 20 )); then log "skip $name: budget spent"; return 124; fi
  (( limit > left )) && limit=$left
  log "run $name (timeout ${limit}s): $*"
  timeout -k 5 "$limit" "$@" > "$OUT/$name.out" 2> "$OUT/$name.err"
  local rc=$?
  log "  $name rc=$rc; $(tail -c 600 "$OUT/$name.out" | tr '\n' ' ')"
  return $rc
}

B="$tmp/moescope-gpu"
rm -rf "$B" && mkdir -p "$B"
log "unpacking bundle"
if command -v xz > /dev/null; then
  tar -C "$B" -xJf "$root/.gpu-bundle/bundle.tar.xz" || { log "cannot unpack the bundle"; exit 2; }
else
  python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' \
    "$root/.gpu-bundle/bundle.tar.xz" "$B" || { log "cannot unpack the bundle"; exit 2; }
fi
B="$B/bundle"
# Jars newer than the bundle's (rebuilt after it was packed) may sit in .gpu-bundle/app/.
cp "$root"/.gpu-bundle/app/*.jar "$B/app/" 2>/dev/null && log "using jars from .gpu-bundle/app: $(ls "$root"/.gpu-bundle/app)"
export JAVA_HOME="$B/jdk"
export MOESCOPE_JARS="$B/app/moescope.jar:$B/app/backend-tornado.jar"
java_cpu=("$JAVA_HOME/bin/java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -XX:+UseParallelGC
  -Xss8m -jar "$B/app/moescope.jar")
for sdk in "$B"/sdk-*; do sed "s#@SDK@#$sdk#g" "$sdk/tornado-argfile.template" > "$sdk/tornado-argfile"; done

# OpenCL: the bundled ICD loader, and NVIDIA's ICD when the driver libraries include it.
mkdir -p "$B/icd"
cp /etc/OpenCL/vendors/*.icd "$B/icd/" 2>/dev/null
ldconfig() { command ldconfig "$@" 2>/dev/null || /sbin/ldconfig "$@"; }
if ldconfig -p | grep -q 'libnvidia-opencl.so.1' && ! grep -qs nvidia "$B"/icd/*.icd; then
  echo libnvidia-opencl.so.1 > "$B/icd/nvidia.icd"
fi
export OCL_ICD_VENDORS="$B/icd"
export LD_LIBRARY_PATH="$B/ocl${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
{
  date -Is; uname -a; grep -m1 PRETTY /etc/os-release; nproc; free -g | head -2
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1
  ldconfig -p | grep -E 'libcuda.so|libnvidia-opencl|libnvidia-ptxjit|libOpenCL'; ls "$B/icd"
} > "$OUT/machine.txt" 2>&1

candidates=()
for sdk in "$B/sdk-ptx" "$B/sdk-opencl"; do
  [[ -d "$sdk" ]] || continue
  n="$(basename "$sdk")"
  run "devices-$n" 60 "$JAVA_HOME/bin/java" @"$sdk/tornado-argfile" \
    -m tornado.drivers.common/uk.ac.manchester.tornado.drivers.TornadoDeviceQuery verbose
  if grep -qi 'nvidia\|h200\|h100' "$OUT/devices-$n.out"; then candidates+=("$sdk"); fi
done
if (( ${#candidates[@]} == 0 )); then
  log "no TornadoVM SDK sees an NVIDIA device; see devices-*.err"
  candidates=("$B"/sdk-*)
fi
[[ -n "${SDK:-}" && -d "$B/sdk-$SDK" ]] && candidates=("$B/sdk-$SDK")
tornado=("$root/tools/gpu/moescope-tornado")
# The first SDK whose backend runs the smallest fixture (pass or mismatch: exit 0 or 1; 3 is a backend failure).
for sdk in "${candidates[@]}"; do
  export TORNADOVM_HOME="$sdk"
  log "trying $sdk"
  run "parity-tiny-bf16-$(basename "$sdk")" 120 "${tornado[@]}" --main org.moescope.tornado.ParityCheck \
    "$root/fixtures/models/tiny-bf16"
  rc=$?
  (( rc == 0 || rc == 1 )) && break
done
log "using $TORNADOVM_HOME"

if want parity; then
  for m in tiny-f32 tiny-gqa-f32; do
    run "parity-$m" 120 "${tornado[@]}" --main org.moescope.tornado.ParityCheck "$root/fixtures/models/$m"
  done
  run half-check 60 "${tornado[@]}" --main org.moescope.tornado.HalfCheck
fi

mini="${MINI_DIR:-$tmp/moescope-mini}"
mini_config="${MINI_CONFIG:-$root/tools/bench/configs/olmoe-mini.json}"
if want mini || want bench; then
  if [[ ! -f "$mini/config.json" ]]; then
    run weights-init 180 "${java_cpu[@]}" weights init --config "$mini_config" \
      --out "$mini" --seed 1 --dtype bf16 --force
  fi
fi
if want mini; then
  run parity-mini 240 "${tornado[@]}" --main org.moescope.tornado.ParityCheck "$mini"
fi
if want bench; then
  run bench-tornado 240 "${tornado[@]}" bench --model "$mini" --backend tornado
  if command -v python3 > /dev/null; then
    for dt in bfloat16 float32; do
      run "bench-hf-cuda-$dt" 150 python3 "$root/tools/bench/hf_bench.py" --model "$mini" --device cuda --dtype "$dt"
    done
  fi
  run bench-cpu 150 env MOESCOPE_JAVA_OPTS= "${java_cpu[@]}" bench --model "$mini" --backend cpu
fi
{
  echo "backend device: $(sed -n 's/.*"backend" : "\(.*\)".*/\1/p' "$OUT/bench-tornado.out" 2>/dev/null)"
  for f in "$OUT"/parity-*.out; do [[ -f "$f" ]] && echo "$(basename "$f" .out): $(tr -d '\n' < "$f")"; done
  for f in "$OUT"/bench-*.out; do
    [[ -f "$f" ]] && echo "$(basename "$f" .out): $(grep -E '"(prefill_tokens_per_second|decode_tokens_per_second|time_to_first_token_seconds|load_seconds)"' "$f" | tr -d '\n ')"
  done
} > "$OUT/summary.txt"
cat "$OUT/summary.txt" >&2
log "done in ${SECONDS}s"
mkdir -p "$FINAL"
tar -C "$(dirname "$OUT")" -czf "$FINAL/results.tar.gz" "$(basename "$OUT")"
cp "$OUT/summary.txt" "$OUT/log.txt" "$OUT/machine.txt" "$FINAL/" 2>/dev/null
