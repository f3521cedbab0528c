#!/usr/bin/env bash
# Start-up of the distribution archive against the development launcher, measured in alternation:
#   tools/bench/dist_startup.sh DIST_HOME MINI_DIR OUT_DIR [ROUNDS]
# DIST_HOME: an unpacked moescope-VERSION/ (./mvnw -Pdist -DskipTests package; tar -xzf dist/target/*.tar.gz).
# MINI_DIR: the OLMoE mini (moescope weights init --config tools/bench/configs/olmoe-mini.json --seed 1 --dtype bf16).
# Per round and launcher (archive, archive with MOESCOPE_AOT=0, ./moescope of this checkout):
#   generate: a one-shot generate of ONE new token after a 32-token prompt; its whole-process wall time is the time
#     from starting the process to the first token (JVM start, class loading, mapping the weights, prefill);
#     the in-process "time to first token" it prints (prefill + first choice) is recorded beside it.
#   monitor: `monitor` on the bundled grokking demo (24 checkpoints), whole process, into a fresh folder.
# Prints one TSV line per run (launcher, command, round, wall seconds, in-process TTFT) to stdout and OUT_DIR/runs.tsv.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
dist="$(cd "$1" && pwd)"; mini="$(cd "$2" && pwd)"; out="$3"; rounds="${4:-3}"
mkdir -p "$out"
tokens=$(seq -s, 100 131)

launch() { # launcher name → command prefix
  case "$1" in
    archive) env -u JAVA_HOME "$dist/bin/moescope" "${@:2}" ;;
    archive-noaot) env -u JAVA_HOME MOESCOPE_AOT=0 "$dist/bin/moescope" "${@:2}" ;;
    dev) "$root/moescope" "${@:2}" ;;
  esac
}

one() { # launcher command round
  local t0 t1 ttft=""
  t0=$(date +%s.%N)
  if [[ "$2" == generate ]]; then
    launch "$1" generate --model "$mini" --tokens "$tokens" --max-new-tokens 1 >/dev/null 2>"$out/err.txt"
    ttft=$(sed -n 's/.*time to first token \([0-9.]*\) s.*/\1/p' "$out/err.txt")
  else
    rm -rf "$out/monitor"
    launch "$1" monitor --out "$out/monitor" >/dev/null 2>"$out/err.txt"
  fi
  t1=$(date +%s.%N)
  printf '%s\t%s\t%s\t%.3f\t%s\n' "$1" "$2" "$3" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" "$ttft" | tee -a "$out/runs.tsv"
}

cd "$out"
: > "$out/runs.tsv"
# Untimed: builds ./moescope's jar and AOT cache if needed, and brings the mini into the page cache.
for l in dev archive; do launch "$l" generate --model "$mini" --tokens "$tokens" --max-new-tokens 1 >/dev/null 2>&1; done
for r in $(seq 1 "$rounds"); do
  for c in generate monitor; do
    # the order rotates from round to round, so no launcher always runs first
    order=(archive dev archive-noaot)
    for i in 0 1 2; do one "${order[$(( (i + r) % 3 ))]}" "$c" "$r"; done
  done
done
rm -rf "$out/monitor" "$out/err.txt"
