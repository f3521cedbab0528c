#!/usr/bin/env bash
# moescope against llama.cpp on the same GGUF files, same token ids, same threads, engines alternating, plus the check
# that llama.cpp loads the files our converter writes and picks the same greedy tokens (docs/performance.md,
# docs/gguf.md). llama.cpp runs through node-llama-cpp (tools/bench/llamacpp/install.sh puts it in a cache folder)
# and, when built (install.sh --llama-bench), through its own llama-bench.
#
# For each bench config (tools/bench/configs/NAME.json): a random-weight checkpoint (`moescope weights init`, seed 1)
# with a byte-level tokenizer.json beside it (node-llama-cpp cannot load a GGUF without a vocabulary; both engines
# are fed ids), converted by `moescope weights convert --to gguf` to each dtype. Then ROUNDS rounds of, in turn:
#   moescope bench --prefill-mode generate   steady state: SAMPLES prompts of SAMPLE_TOKENS ids, each prefilled as
#                                            generation does (last-position logits), and DECODE_TOKENS greedy tokens
#   llamacpp_bench.mjs --mode bench          the same for llama.cpp (prompts in an empty context, last logits only)
#   moescope generate --tokens ...           one job, one process: SAMPLE_TOKENS prompt ids, DECODE_TOKENS new tokens
#   llamacpp_bench.mjs --mode generate       the same job in one node process
#   llama-bench -p SAMPLE_TOKENS -n DECODE_TOKENS   (when built)
# Each process's wall time and peak RssAnon (anonymous memory: heap and native, not the mapped weights; /proc/PID/status
# sampled every 0.1 s) are recorded. Correctness: CHECK_TOKENS greedy tokens of each file and of the committed
# fixtures (FIXTURES; tiny models, larger margins than the minis) in each CHECK_DTYPES, and the one-shot jobs' tokens,
# compared token by token; where they differ, llama.cpp's top-2 logit margin there says whether it is a near-tie
# (random-weight minis have margins of a few hundredths).
#
# Usage: tools/bench/llamacpp_compare.sh [OUT_DIR]
#   env: MODELS="olmoe-mini qwen3-moe-mini"   bench configs
#        DTYPES="bf16 q8_0 q4_k_m"            --dtype of `weights convert --to gguf`
#        ROUNDS=3  THREADS=2  SAMPLES=16  SAMPLE_TOKENS=256  DECODE_TOKENS=512
#        PHASES="bench oneshot warm llama-bench"   what each round runs (warm: the one-shot job twice in one JVM,
#                                                 tools/bench/WarmJob.java; llama-bench only when built)
#        CHECK_DTYPES="f32 bf16 q8_0 q4_0 q4_k_m q5_k q6_k"  FIXTURES="tiny-f32 tiny-bf16"
#        CHECK_TOKENS=32                      greedy tokens compared on the fixtures (empty FIXTURES: none)
#        WORK=$MOESCOPE_CACHE/llamacpp-compare   checkpoints and GGUF files (kept and reused until the jar changes)
#        MOESCOPE_CACHE=~/.cache/moescope     (install.sh's folder is $MOESCOPE_CACHE/llamacpp; LLAMACPP_DIR overrides)
# A run may be split (e.g. MODELS=olmoe-mini DTYPES=bf16, then the rest) into the same OUT_DIR: the summary reads
# every result there. Writes OUT_DIR/summary.md (also printed) and the raw JSON of every process.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
source "$root/tools/java-home.sh"
out="${1:-$(mktemp -d -t moescope-llamacpp-XXXXXX)}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
cache="${MOESCOPE_CACHE:-$HOME/.cache/moescope}"
work="${WORK:-$cache/llamacpp-compare}"
rounds="${ROUNDS:-3}"
threads="${THREADS:-2}"
samples="${SAMPLES:-16}"
sample_tokens="${SAMPLE_TOKENS:-256}"
decode_tokens="${DECODE_TOKENS:-512}"
phases=" ${PHASES:-bench oneshot warm llama-bench} "
bench_js="$root/tools/bench/llamacpp/llamacpp_bench.mjs"
mkdir -p "$work"

echo "results in $out" >&2
nlc="$(LLAMACPP_DIR="${LLAMACPP_DIR:-$cache/llamacpp}" "$root/tools/bench/llamacpp/install.sh")"
llama_bench="$nlc/bin/llama-bench"
[[ -x "$llama_bench" ]] || { llama_bench=""; echo "llama-bench not built (install.sh --llama-bench): skipped" >&2; }
(cd "$root" && ./mvnw -B -q -o -DskipTests -pl cli -am package) >&2
# moescope as its launcher runs it (JVM options, the AOT cache it records once per build), but from a copy of the jar:
# the launcher would rebuild the jar mid-run if a source file changed.
"$root/moescope" --version > /dev/null 2>&1
cp "$root/cli/target/moescope.jar" "$out/moescope.jar"
# The launcher's JVM options (./moescope: the serial collector with a small heap, docs/performance.md "Memory").
moescope=(java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Xss8m
  -XX:+UseSerialGC -Xms16m -XX:MinHeapFreeRatio=10 -XX:MaxHeapFreeRatio=30
  -Dmoescope.threads="$threads")
if [[ -f "$root/cli/target/moescope.aot" ]]; then
  cp "$root/cli/target/moescope.aot" "$out/moescope.aot"
  moescope+=(-Xlog:aot*=off -XX:AOTCache="$out/moescope.aot" -XX:+UnlockDiagnosticVMOptions -XX:-AOTReplayTraining)
fi
warm=("${moescope[@]}" -cp "$out/moescope.jar" "$root/tools/bench/WarmJob.java")
moescope+=(-jar "$out/moescope.jar")
llamacpp=(env UV_THREADPOOL_SIZE=1 node "$bench_js" --nlc "$nlc" --threads "$threads")

{
  echo "date: $(date -Is)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-) x $(nproc)"
  echo "cpu flags: $(grep -m1 '^flags' /proc/cpuinfo | grep -o 'avx512[a-z_0-9]*\|avx2\|avx_vnni' | sort -u | tr '\n' ' ')"
  echo "mem: $(free -g | awk '/Mem:/ {print $2 " GB total, " $7 " GB available"}')"
  echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "java: $(java -version 2>&1 | head -1)"
  echo "node: $(node --version); node-llama-cpp $(node -p "require('$nlc/node_modules/node-llama-cpp/package.json').version"), llama.cpp release $(node -p "require('$nlc/node_modules/node-llama-cpp/llama/llama.cpp.info.json').tag")"
  [[ -z "$llama_bench" ]] || echo "llama-bench: $("$llama_bench" --version 2>&1 | head -2 | tr '\n' ' ')"
  echo "moescope: $(git -C "$root" rev-parse --short HEAD)$(git -C "$root" diff --quiet HEAD -- . 2>/dev/null || echo ' (uncommitted changes)')"
  echo "threads: $threads; steady prefill $samples x $sample_tokens tokens; decode $decode_tokens tokens; rounds $rounds"
} | tee -a "$out/machine.txt" >&2

# run NAME CMD...: CMD's stdout to $out/NAME.json, stderr to NAME.err; wall seconds and the peak RssAnon sampled from
# /proc/PID/status every 0.1 s to NAME.proc (CMD must exec into the measured process: java and node do, through
# the launcher and env).
run() {
  local name="$1"; shift
  local start peak=0 rss pid
  start=$(date +%s.%N)
  "$@" > "$out/$name.json" 2> "$out/$name.err" &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    rss=$(awk '/^RssAnon:/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
    [[ -n "$rss" && "$rss" -gt "$peak" ]] && peak=$rss
    sleep 0.1
  done
  local rc=0
  wait "$pid" || rc=$?
  printf '{"wall_seconds": %s, "peak_rss_anon_bytes": %d, "exit": %d}\n' \
    "$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f", b - a }')" $((peak * 1024)) "$rc" > "$out/$name.proc"
  [[ "$rc" == 0 ]] || echo "$name failed (exit $rc): $(tail -2 "$out/$name.err")" >&2
}

# ids N V: N deterministic token ids below V (the same prompt for both engines).
ids() { awk -v n="$1" -v v="$2" 'BEGIN { for (i = 0; i < n; i++) printf "%s%d", (i ? "," : ""), (i * 7919 + 13) % v }'; }

# gguf SOURCE_DIR DTYPE OUT: converts (kept in $work; made again when the CLI jar is newer than the file, so that a
# changed writer is what is measured).
gguf() {
  local src="$1" dtype="$2" file="$3"
  if [[ ! -f "$file" || "$root/cli/target/moescope.jar" -nt "$file" ]]; then
    "${moescope[@]}" weights convert "$src" --to gguf --dtype "$dtype" --out "$file" --force >&2 || return 1
  fi
}

with_tokenizer() { # SOURCE DIR: DIR = SOURCE's config and weights (linked) + a byte-level tokenizer.json
  local src="$1" dir="$2" rows
  [[ -f "$dir/tokenizer.json" ]] && return
  mkdir -p "$dir"
  for f in "$src"/*; do ln -sf "$f" "$dir/"; done
  rm -f "$dir/tokenizer.json"
  rows=$(awk -F'[:,]' '/"vocab_size"/ {gsub(/ /, "", $2); print $2}' "$src/config.json")
  node "$root/tools/bench/llamacpp/byte_tokenizer.mjs" "$((rows < 256 ? rows : 256))" > "$dir/tokenizer.json"
}

# check NAME DTYPE FILE PROMPT: CHECK_TOKENS greedy tokens of both engines, llama.cpp's with its top-2 margins.
check_tokens="${CHECK_TOKENS:-32}"
check() {
  echo "check $1 $2" >&2
  run "moescope-check.$1.$2" "${moescope[@]}" generate --model "$3" --tokens "$4" --max-new-tokens "$check_tokens"
  run "llamacpp-check.$1.$2" "${llamacpp[@]}" --model "$3" --mode generate --prompt-ids "$4" \
    --decode-tokens "$check_tokens" --margins
}

for model in ${MODELS-olmoe-mini qwen3-moe-mini}; do
  config="$root/tools/bench/configs/$model.json"
  [[ -f "$config" ]] || { echo "no bench config $config" >&2; exit 2; }
  ck="$work/$model"
  if [[ ! -f "$ck/model.safetensors" && ! -f "$ck/model.safetensors.index.json" ]]; then
    "${moescope[@]}" weights init --config "$config" --out "$ck" --seed 1 --force >&2
  fi
  [[ -f "$ck/tokenizer.json" ]] || node "$root/tools/bench/llamacpp/byte_tokenizer.mjs" > "$ck/tokenizer.json"
  vocab=$(awk -F'[:,]' '/"vocab_size"/ {gsub(/ /, "", $2); print $2}' "$config")
  prompt="$(ids "$sample_tokens" "$vocab")"
  for dtype in ${DTYPES-bf16 q8_0 q4_k_m}; do
    file="$work/$model-$dtype.gguf"
    gguf "$ck" "$dtype" "$file" || continue
    check "$model" "$dtype" "$file" "$(ids 16 "$vocab")"
    for r in $(seq 1 "$rounds"); do
      tag="$model.$dtype.$r"
      echo "$model $dtype round $r/$rounds (load $(cut -d' ' -f1 /proc/loadavg))" >&2
      if [[ "$phases" == *" bench "* ]]; then
        run "moescope-bench.$tag" "${moescope[@]}" bench --model "$file" --prefill-mode generate --samples "$samples" \
          --sample-tokens "$sample_tokens" --prompt-tokens 16 --decode-tokens "$decode_tokens"
        run "llamacpp-bench.$tag" "${llamacpp[@]}" --model "$file" --mode bench --samples "$samples" \
          --sample-tokens "$sample_tokens" --prompt-tokens 16 --decode-tokens "$decode_tokens"
      fi
      if [[ "$phases" == *" oneshot "* ]]; then
        run "moescope-oneshot.$tag" "${moescope[@]}" generate --model "$file" --tokens "$prompt" \
          --max-new-tokens "$decode_tokens"
        run "llamacpp-oneshot.$tag" "${llamacpp[@]}" --model "$file" --mode generate --prompt-ids "$prompt" \
          --decode-tokens "$decode_tokens"
      fi
      if [[ "$phases" == *" warm "* ]]; then # the one-shot job's command twice in one JVM: the JIT's share of a job
        run "moescope-warm.$tag" "${warm[@]}" 2 generate --model "$file" --tokens "$prompt" \
          --max-new-tokens "$decode_tokens"
      fi
      if [[ "$phases" == *" llama-bench "* && -n "$llama_bench" ]]; then
        run "llama-bench.$tag" "$llama_bench" -m "$file" -t "$threads" -p "$sample_tokens" -n "$decode_tokens" \
          -r 1 -o json
      fi
    done
  done
done

# Correctness on the fixtures: the greedy tokens of both engines on each dtype's GGUF.
# The other fixtures are beyond llama.cpp or GGUF: qwen3-moe-f32 has a dense layer (llama.cpp's qwen3moe has none),
# tiny-gqa-f32 is OLMoE with GQA (llama.cpp sizes attn_k_norm as the hidden size), qwen2-moe-f32 and mixtral-f32 a
# sliding window (no GGUF key).
for fixture in ${FIXTURES-tiny-f32 tiny-bf16}; do
  src="$work/fixture-$fixture"
  with_tokenizer "$root/fixtures/models/$fixture" "$src"
  vocab=$(awk -F'[:,]' '/"vocab_size"/ {gsub(/ /, "", $2); print $2}' "$src/config.json")
  prompt="$(ids 12 "$vocab")"
  for dtype in ${CHECK_DTYPES-f32 bf16 q8_0 q4_0 q4_k_m q5_k q6_k}; do
    file="$work/fixture-$fixture-$dtype.gguf"
    gguf "$src" "$dtype" "$file" || continue
    check "fixture-$fixture" "$dtype" "$file" "$prompt"
  done
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out/machine.txt" >&2

node "$root/tools/bench/llamacpp/summarize.mjs" "$out" | tee "$out/summary.md"
