#!/usr/bin/env bash
# moescope against HF transformers on one checkpoint, same tokens and threads, plus the machine's rooflines, all in
# one run so that the numbers share the machine's state (docs/performance.md).
#
# Usage: tools/bench/compare.sh MODEL_DIR [OUT_DIR]
#   env: ROUNDS=2           alternating rounds of (moescope, HF prefill, HF decode)
#        THREADS=2          threads for everyone (moescope.threads, torch.set_num_threads, the bandwidth probe)
#        HF=1               0 skips HF (e.g. when the machine lacks the memory HF needs to load the full shape)
#        HF_EXPERTS=grouped_mm  HF's experts_implementation (grouped_mm was faster than eager here)
#        HF_PREFILL_DTYPE=float32  HF's prefill dtype (its fastest on CPUs without AVX-512 BF16; use bfloat16 for
#                           the full OLMoE-1B-7B shape, whose fp32 copy does not fit in 24 GB)
#        HF_THREADS="2 1"   torch thread counts to run HF with; the summary compares against HF's fastest. On a shared
#                           machine torch's OpenMP threads wait for each other at every op, so 1 thread can beat 2.
#        HF_PHASES="prefill decode"  which HF processes to run (the full shape: decode only, HF's bf16 prefill
#                           runs at about 1 GFLOP/s here and its fp32 copy does not fit)
#        COLD=0             1 also runs, each round, moescope and HF with --warmup 0, one process per phase:
#                           whole-process numbers, JVM start / Python imports, loading and JIT warm-up included
#                           (users run the CLI once per job)
#        ROOFLINE=1         0 skips bandwidth / torch matmul / JMH; "bandwidth" runs only the bandwidth probe and
#                           DecodeEfficiency (decode against the probe, in alternation)
#        BEFORE_JAR=path    also run `bench` from an older moescope.jar in every round (before/after)
#        BENCH_ARGS="..."   extra arguments for `moescope bench` (and the same workload for HF)
#        PYTHON=python3     the Python with torch and transformers (tools/requirements.txt), e.g. .venv/bin/python
# Prints a summary; raw JSON goes to OUT_DIR (default: a new temp directory).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
source "$root/tools/java-home.sh"
model="${1:?usage: compare.sh MODEL_DIR [OUT_DIR]}"
out="${2:-$(mktemp -d -t moescope-compare-XXXXXX)}"
mkdir -p "$out"
rounds="${ROUNDS:-2}"
threads="${THREADS:-2}"
python="${PYTHON:-python3}"
hf_experts="${HF_EXPERTS:-grouped_mm}"
bench_args=(${BENCH_ARGS:-})

echo "results in $out" >&2
(cd "$root" && ./mvnw -B -q -o -DskipTests -pl cli,benchmarks -am package) >&2
jar="$root/cli/target/moescope.jar"
java_cmd=(java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -XX:+UseParallelGC -Xss8m
  -Dmoescope.threads="$threads")

{
  echo "date: $(date -Is)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-) x $(nproc)"
  echo "mem: $(free -g | awk '/Mem:/ {print $2 " GB total, " $7 " GB available"}')"
  echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "java: $(java -version 2>&1 | head -1)"
} | tee "$out/machine.txt" >&2

timed() { # timed NAME CMD...: runs CMD, stdout to $out/NAME.json, wall and CPU seconds to $out/NAME.time
  local name="$1"; shift
  /usr/bin/time -f '{"wall_seconds": %e, "user_seconds": %U, "system_seconds": %S, "max_rss_kb": %M}' \
    -o "$out/$name.time" "$@" > "$out/$name.json" 2> "$out/$name.err" || { echo "$name failed: $(tail -3 "$out/$name.err")" >&2; return 1; }
}

if [[ "${ROOFLINE:-1}" != 0 ]]; then
  echo "roofline: memory bandwidth" >&2
  gcc -O3 -march=native -pthread -o "$out/bandwidth" "$root/tools/bench/bandwidth.c"
  "$out/bandwidth" "$threads" 1024 10 > "$out/bandwidth.json"
  "$out/bandwidth" 1 1024 10 > "$out/bandwidth-1thread.json"
  # Decode against the same probe measured in alternation (the VM's bandwidth moves by 20-30% within minutes).
  java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Dmoescope.threads="$threads" \
    -cp "$root/benchmarks/target/benchmarks.jar" org.moescope.benchmarks.DecodeEfficiency "$model" "$out/bandwidth" 10 \
    > "$out/decode-efficiency.json" 2> "$out/decode-efficiency.err" || echo "decode efficiency failed: $(tail -3 "$out/decode-efficiency.err")" >&2
fi
if [[ "${ROOFLINE:-1}" == 1 ]]; then
  echo "roofline: torch matmul, JMH kernels" >&2
  "$python" "$root/tools/bench/torch_matmul.py" "$threads" > "$out/torch_matmul.json"
  jmh=(java -jar "$root/benchmarks/target/benchmarks.jar" -f 1 -wi 3 -i 5 -rf json)
  "${jmh[@]}" -t "$threads" -rff "$out/jmh-fma.json" FmaPeakBench > "$out/jmh-fma.txt"
  # -jvmArgsAppend replaces the @Fork arguments, so it repeats them.
  jvm_args="--add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Dmoescope.threads=$threads"
  "${jmh[@]}" -jvmArgsAppend "$jvm_args" -rff "$out/jmh-matmul.json" \
    -p dtype=BF16,F32 -p tokens=1,512 -p shape=2048x2048,8192x2048 MatmulBench > "$out/jmh-matmul.txt"
  "${jmh[@]}" -jvmArgsAppend "$jvm_args" -rff "$out/jmh-experts.json" ExpertsBench > "$out/jmh-experts.txt"
  # Experts against the FMA peak measured in alternation (the VM's FMA rate swings by up to 2x between runs).
  java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Dmoescope.threads="$threads" \
    -cp "$root/benchmarks/target/benchmarks.jar" org.moescope.benchmarks.KernelEfficiency 15 0 \
    > "$out/kernel-efficiency.json" 2> "$out/kernel-efficiency.err"
fi

for r in $(seq 1 "$rounds"); do
  echo "round $r/$rounds (load $(cut -d' ' -f1 /proc/loadavg))" >&2
  timed "moescope-$r" "${java_cmd[@]}" -jar "$jar" bench --model "$model" "${bench_args[@]}" || true
  if [[ -n "${BEFORE_JAR:-}" ]]; then
    timed "before-$r" "${java_cmd[@]}" -jar "$BEFORE_JAR" bench --model "$model" "${bench_args[@]}" || true
  fi
  if [[ "${HF:-1}" == 1 ]]; then
    for t in ${HF_THREADS:-$threads 1}; do
      hf=("$python" "$root/tools/bench/hf_bench.py" --model "$model" --threads "$t" --experts "$hf_experts"
          "${bench_args[@]}")
      if [[ " ${HF_PHASES:-prefill decode} " == *" prefill "* ]]; then
        timed "hf-prefill-t$t-$r" "${hf[@]}" --dtype "${HF_PREFILL_DTYPE:-float32}" --phases prefill || true
      fi
      if [[ " ${HF_PHASES:-prefill decode} " == *" decode "* ]]; then
        timed "hf-decode-bf16-t$t-$r" "${hf[@]}" --dtype bfloat16 --phases decode || true
      fi
    done
  fi
  if [[ "${COLD:-0}" == 1 ]]; then
    # One phase per process on both sides, so the process wall times compare like for like.
    for phase in ${HF_PHASES:-prefill decode}; do
      timed "cold-moescope-$phase-$r" "${java_cmd[@]}" -jar "$jar" bench --model "$model" --warmup 0 --phases "$phase" \
        "${bench_args[@]}" || true
    done
    if [[ "${HF:-1}" == 1 ]]; then
      hf=("$python" "$root/tools/bench/hf_bench.py" --model "$model" --threads "$threads" --experts "$hf_experts"
          --warmup 0 "${bench_args[@]}")
      if [[ " ${HF_PHASES:-prefill decode} " == *" prefill "* ]]; then
        timed "cold-hf-prefill-$r" "${hf[@]}" --dtype "${HF_PREFILL_DTYPE:-float32}" --phases prefill || true
      fi
      if [[ " ${HF_PHASES:-prefill decode} " == *" decode "* ]]; then
        timed "cold-hf-decode-$r" "${hf[@]}" --dtype bfloat16 --phases decode || true
      fi
    fi
  fi
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out/machine.txt" >&2

"$python" "$root/tools/bench/summarize.py" "$out"
