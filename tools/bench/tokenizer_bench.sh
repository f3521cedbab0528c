#!/usr/bin/env bash
# Tokenizer encoding throughput, ours (Java, one thread) against HF tokenizers (Rust, one thread), same text.
# Usage: tools/bench/tokenizer_bench.sh [TOKENIZER_JSON] [TEXT_FILE]
#   TOKENIZER_JSON: e.g. the tokenizer.json of allenai/OLMoE-1B-7B-0924 (not committed); without it, the script
#   looks for ../shared/fixtures/olmoe-1b-7b-0924-tokenizer.json beside the repository.
#   TEXT_FILE defaults to the first 4 MiB of Vim's English documentation (/usr/share/vim/vim*/doc/*.txt), which is
#   what docs/performance.md reports.
# The HF half runs when the Python in $PYTHON (default python3) has `tokenizers` (tools/requirements.txt).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
source "$root/tools/java-home.sh"
tokenizer="${1:-$root/../shared/fixtures/olmoe-1b-7b-0924-tokenizer.json}"
text="${2:-}"
if [[ -z "$text" ]]; then
  text="$(mktemp -t tokenizer-bench-XXXXXX.txt)"
  trap 'rm -f "$text"' EXIT
  # The user manual (usr_*.txt, plain prose) first, then the reference manual.
  docs=(/usr/share/vim/vim*/doc/usr_*.txt /usr/share/vim/vim*/doc/[a-tv-z]*.txt)
  [[ -e "${docs[0]}" ]] || { echo "no Vim documentation found: pass a TEXT_FILE" >&2; exit 2; }
  { cat "${docs[@]}" || true; } | { head -c 4194304 || true; } > "$text.raw"
  iconv -f utf-8 -t utf-8 -c "$text.raw" > "$text" && rm -f "$text.raw"
fi
[[ -f "$tokenizer" ]] || { echo "tokenizer not found: $tokenizer" >&2; exit 2; }

(cd "$root" && ./mvnw -B -q -o -pl engine -am test-compile -DskipTests) >&2
cp_file="$root/engine/target/bench-classpath.txt"
(cd "$root" && ./mvnw -B -q -o -pl engine -am \
  org.apache.maven.plugins:maven-dependency-plugin:2.8:build-classpath -Dmdep.outputFile="$cp_file") >&2
classpath="$root/engine/target/test-classes:$root/engine/target/classes:$root/weights-tools/target/classes:$(cat "$cp_file")"
java -XX:+UseParallelGC -cp "$classpath" org.moescope.tokenizer.TokenizerBench "$tokenizer" "$text"

python="${PYTHON:-python3}"
if "$python" -c "import tokenizers" 2>/dev/null; then
  RAYON_NUM_THREADS=1 TOKENIZERS_PARALLELISM=false "$python" "$root/tools/bench/hf_tokenizer_bench.py" "$tokenizer" "$text"
else
  echo "(HF tokenizers not installed for $python: skipping the reference measurement)"
fi
