#!/usr/bin/env bash
# Tokenizer encoding throughput, ours (Java, one thread) against HF tokenizers (Rust, one thread), on the same text.
# Usage: tools/bench/tokenizer_bench.sh [TOKENIZER_JSON...]
#   Without arguments: OLMoE's tokenizer.json (../shared/fixtures/olmoe-1b-7b-0924-tokenizer.json beside the
#   repository) and every ../shared/fixtures/tokenizers/*/tokenizer.json (Qwen3, DeepSeek-V3, Llama 3.1, gpt-oss,
#   Llama 2 style SentencePiece BPE); none of them is committed.
# Environment:
#   TEXTS      which texts, default "english mixed":
#                english  the first 4 MiB of Vim's English documentation (/usr/share/vim/vim*/doc/*.txt, user manual
#                         first)
#                mixed    Vim's tutor in all its languages (/usr/share/vim/vim*/tutor/tutor*.utf-8: Latin, Cyrillic,
#                         Greek, Chinese, Japanese, Korean, Vietnamese, ...), about 1.2 MB
#   TEXT_FILE  a UTF-8 file to use instead of TEXTS
#   ROUNDS     default 2; each round runs Java, then HF, for every (tokenizer, text), so the engines alternate
#   PASSES     passes per run, best one reported (default 6 for Java, whose first passes warm up the JIT, and 3 for HF)
#   PYTHON     the Python with `tokenizers` (default python3; tools/requirements.txt); without it only Java runs
# Both cut the text into chunks of 40 lines and encode them one by one without special tokens; both print a hash of
# all ids, which the summary compares. docs/performance.md reports the numbers.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
source "$root/tools/java-home.sh"
shared="$root/../shared/fixtures"
if [[ $# -gt 0 ]]; then
  tokenizers=("$@")
else
  tokenizers=()
  for t in "$shared/olmoe-1b-7b-0924-tokenizer.json" "$shared"/tokenizers/*/tokenizer.json; do
    [[ -f "$t" ]] && tokenizers+=("$t")
  done
  [[ ${#tokenizers[@]} -gt 0 ]] || { echo "no tokenizer.json given and none found under $shared" >&2; exit 2; }
fi
rounds="${ROUNDS:-2}"
python="${PYTHON:-python3}"

work="$(mktemp -d -t tokenizer-bench-XXXXXX)"
trap 'rm -rf "$work"' EXIT
texts=()
if [[ -n "${TEXT_FILE:-}" ]]; then
  texts=("$TEXT_FILE")
else
  for name in ${TEXTS:-english mixed}; do
    case "$name" in
      english)
        docs=(/usr/share/vim/vim*/doc/usr_*.txt /usr/share/vim/vim*/doc/[a-tv-z]*.txt)
        [[ -e "${docs[0]}" ]] || { echo "no Vim documentation found: set TEXT_FILE" >&2; exit 2; }
        { cat "${docs[@]}" || true; } | { head -c 4194304 || true; } > "$work/raw" ;;
      mixed)
        tutors=(/usr/share/vim/vim*/tutor/tutor*.utf-8)
        [[ -e "${tutors[0]}" ]] || { echo "no Vim tutors found: set TEXT_FILE" >&2; exit 2; }
        cat "${tutors[@]}" > "$work/raw" ;;
      *) echo "unknown text $name (english or mixed)" >&2; exit 2 ;;
    esac
    iconv -f utf-8 -t utf-8 -c "$work/raw" > "$work/$name.txt"
    texts+=("$work/$name.txt")
  done
fi

# The engine's classes and its compile classpath (read from the compiler plugin's debug output, which needs no
# plugin beyond those the build already uses, so it works offline). MVN_LOCK: a lock file to build under (flock),
# where several people build in one tree. The classes are copied, so a rebuild during the runs changes nothing.
(cd "$root" && ${MVN_LOCK:+flock "$MVN_LOCK"} ./mvnw -B -o -X -pl engine -am test-compile -DskipTests) \
  > "$work/mvn.log" 2>&1 || { tail -20 "$work/mvn.log" >&2; exit 1; }
deps="$(grep -F '(f) compilePath = [' "$work/mvn.log" | grep -F "$root/engine/target/classes" | tail -1 \
  | sed 's/.*compilePath = \[//; s/\]$//; s/, /:/g')"
[[ -n "$deps" ]] || { echo "could not read the engine's classpath from Maven's output" >&2; exit 1; }
cp -r "$root/engine/target/classes" "$work/classes"
cp -r "$root/engine/target/test-classes" "$work/test-classes"
classpath="$work/test-classes:${deps/$root\/engine\/target\/classes/$work/classes}"
have_hf=1
"$python" -c "import tokenizers" 2>/dev/null || { have_hf=0; echo "(no HF tokenizers for $python: Java only)" >&2; }

summary="$work/summary.txt"
for round in $(seq 1 "$rounds"); do
  for tok in "${tokenizers[@]}"; do
    for text in "${texts[@]}"; do
      label="$(basename "$(dirname "$tok")")/$(basename "$tok") $(basename "$text")"
      echo "== round $round: $label" >&2
      java -XX:+UseParallelGC -cp "$classpath" org.moescope.tokenizer.TokenizerBench "$tok" "$text" \
        "${PASSES:-6}" | tee "$work/java.out" >&2
      if [[ $have_hf == 1 ]]; then
        RAYON_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false "$python" "$root/tools/bench/hf_tokenizer_bench.py" \
          "$tok" "$text" "${PASSES:-3}" | tee "$work/hf.out" >&2
      else
        : > "$work/hf.out"
      fi
      ids=$(sed -n 's/^java encodeIds best: \([0-9.]*\) MB.*/\1/p' "$work/java.out")
      full=$(sed -n 's/^java encode (ids+tokens+offsets) best: \([0-9.]*\) MB.*/\1/p' "$work/java.out")
      hf=$(sed -n 's/^hf encode best: \([0-9.]*\) MB.*/\1/p' "$work/hf.out")
      jhash=$(sed -n 's/^java: .*ids hash \([0-9a-f]*\)/\1/p' "$work/java.out")
      hhash=$(sed -n 's/^hf: .*ids hash \([0-9a-f]*\)/\1/p' "$work/hf.out")
      same=$([[ -n "$hhash" && "$jhash" == "$hhash" ]] && echo same || echo "DIFFERENT")
      ratio() { [[ -n "$hf" ]] && awk -v a="$1" -v b="$hf" 'BEGIN { printf "%.1fx", a / b }' || echo "-"; }
      printf '%-40s round %s  java encodeIds %7s MB/s (%s)  encode %7s MB/s (%s)  hf %6s MB/s  ids %s\n' \
        "$label" "$round" "$ids" "$(ratio "$ids")" "$full" "$(ratio "$full")" "${hf:--}" \
        "$([[ $have_hf == 1 ]] && echo "$same" || echo unchecked)" >> "$summary"
    done
  done
done
echo
cpu() { grep -m1 "^$1" /proc/cpuinfo | sed 's/.*: //'; }
avx512=$(grep -qw avx512f /proc/cpuinfo && echo ", AVX-512" || true)
echo "CPU: $(cpu 'model name') (family $(cpu 'cpu family'), model $(cpu 'model')$avx512), $(nproc) cores;" \
  "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
cat "$summary"
