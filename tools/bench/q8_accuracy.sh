#!/usr/bin/env bash
# Q8_0 against its source: converts each checkpoint (weights convert --dtype q8_0), traces the same samples through
# both, and compares the route files (compare_routes.py): the fraction of token-layer slots whose top-k expert set
# changes, and the per-sample loss. Usage: tools/bench/q8_accuracy.sh DATA.jsonl CHECKPOINT_DIR...
#   env: PYTHON=python3   the Python with numpy and safetensors (tools/requirements.txt), e.g. .venv/bin/python
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
python="${PYTHON:-python3}"
data="${1:?usage: q8_accuracy.sh DATA.jsonl CHECKPOINT_DIR...}"; shift
work="$(mktemp -d -t moescope-q8-XXXXXX)"
trap 'rm -rf "$work"' EXIT
for ckpt in "$@"; do
  name="$(basename "$ckpt")"
  "$root/moescope" weights convert "$ckpt" --dtype q8_0 --out "$work/$name-q8" > /dev/null 2>&1
  "$root/moescope" trace --model "$ckpt" --data "$data" --out "$work/$name.safetensors" > /dev/null 2>&1
  "$root/moescope" trace --model "$work/$name-q8" --data "$data" --out "$work/$name-q8.safetensors" > /dev/null 2>&1
  echo "$name $("$python" "$root/tools/bench/compare_routes.py" "$work/$name.safetensors" "$work/$name-q8.safetensors")"
done
