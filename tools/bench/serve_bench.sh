#!/usr/bin/env bash
# moescope serve under 1, 2, 4, 8 and 16 concurrent streaming clients (serve_bench.py), on a checkpoint made by
#   moescope weights init --config tools/bench/configs/olmoe-mini.json --out DIR --dtype bf16
# Usage: tools/bench/serve_bench.sh MODEL_DIR TOKENIZER_JSON [PYTHON]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
model="$1"; tokenizer="$2"; python="${3:-python3}"
work="$(mktemp -d)"
trap 'kill "${pid:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
"$root/moescope" serve --model "$model" --tokenizer "$tokenizer" --port 0 --max-sessions 16 --context 256 \
  > "$work/url" 2> "$work/log" &
pid=$!
for _ in $(seq 600); do [[ -s "$work/url" ]] && break; sleep 0.1; done
url="$(head -1 "$work/url")"
[[ -n "$url" ]] || { cat "$work/log"; exit 1; }
"$python" "$root/tools/bench/serve_bench.py" --base-url "$url" --model "$(basename "$model")" --label "moescope serve" \
  "${@:4}"
