#!/usr/bin/env bash
# moescope serve against `transformers serve` (continuous batching, CPU) on one checkpoint, the same client script
# (serve_bench.py) with the same text prompt, engines in alternation: ENGINES is a list such as "moescope transformers
# moescope transformers"; each entry starts that server, runs every level, and stops it.
# The checkpoint is made by
#   moescope weights init --config tools/bench/configs/olmoe-mini.json --out DIR --dtype bf16
# Usage: tools/bench/serve_compare.sh MODEL_DIR TOKENIZER_JSON PYTHON "ENGINES" [serve_bench.py options...]
#   PYTHON: a venv with tools/requirements.txt (transformers, fastapi, uvicorn). transformers serve runs with
#   --continuous-batching --device cpu --dtype float32 (its fastest CPU dtype here: its bf16 matmuls are far slower)
#   and OMP_NUM_THREADS = the cores moescope uses (MOESCOPE_THREADS, default nproc).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
model="$(cd "$1" && pwd)"; tokenizer="$2"; python="$3"; engines="$4"; shift 4
threads="${MOESCOPE_THREADS:-$(nproc)}"
work="$(mktemp -d)"
trap 'kill "${pid:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
# transformers reads the tokenizer from the model folder: the same weights, linked, with the tokenizer beside them.
hf="$work/$(basename "$model")"
mkdir "$hf"
ln -s "$model/config.json" "$hf/config.json"
ln -s "$model/model.safetensors" "$hf/model.safetensors"
cp "$tokenizer" "$hf/tokenizer.json"
prompt="The history of the city begins with a small settlement on the river bank, where traders from the north and the south met every spring to exchange furs, salt and iron tools."
for engine in $engines; do
  case "$engine" in
    moescope)
      "$root/moescope" serve --model "$model" --tokenizer "$tokenizer" --port 0 --max-sessions 16 --context 256 \
        > "$work/url" 2> "$work/log" &
      pid=$!
      for _ in $(seq 600); do [[ -s "$work/url" ]] && break; sleep 0.1; done
      url="$(head -1 "$work/url")"; id="$(basename "$model")";;
    transformers)
      port="$("$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
      OMP_NUM_THREADS="$threads" HF_HUB_OFFLINE=1 "$python" -c 'import sys; from transformers.cli.transformers import main; sys.argv[0] = "transformers"; sys.exit(main())' \
        serve "$hf" --continuous-batching --device cpu --dtype float32 --host 127.0.0.1 --port "$port" \
        > "$work/log" 2>&1 &
      pid=$!
      url=""
      for _ in $(seq 1200); do grep -q "Uvicorn running" "$work/log" && url="http://127.0.0.1:$port/v1" && break; sleep 0.1; done
      id="$hf";;
    *) echo "unknown engine $engine" >&2; exit 2;;
  esac
  [[ -n "$url" ]] || { cat "$work/log"; exit 1; }
  "$python" "$root/tools/bench/serve_bench.py" --base-url "$url" --model "$id" --label "$engine serve" \
    --prompt-text "$prompt" "$@"
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
done
