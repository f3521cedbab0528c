#!/usr/bin/env bash
# Starts `moescope serve` on a small random checkpoint (weights init) with the synthetic test tokenizer and a chat
# template, runs openai_check.py against it with the official openai client, and stops the server with SIGTERM.
# Usage: tools/serve/openai_check.sh PYTHON   (a python with the openai package)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
python="${1:-python3}"
work="$(mktemp -d)"
trap 'kill "${pid:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
cat > "$work/config.json" <<'JSON'
{"model_type": "olmoe", "vocab_size": 384, "hidden_size": 64, "intermediate_size": 32, "num_hidden_layers": 2,
 "num_attention_heads": 4, "num_key_value_heads": 2, "num_experts": 8, "num_experts_per_tok": 2,
 "max_position_embeddings": 512, "initializer_range": 0.5, "eos_token_id": 335, "tie_word_embeddings": false}
JSON
"$root/moescope" weights init --config "$work/config.json" --out "$work/tiny-chat" --seed 3 --dtype bf16 >/dev/null
cp "$root/engine/src/test/resources/tokenizer/synthetic-tokenizer.json" "$work/tiny-chat/tokenizer.json"
printf '%s' '{% for m in messages %}<{{ m.role }}>{{ m.content }}
{% endfor %}{% if add_generation_prompt %}<assistant>{% endif %}' > "$work/tiny-chat/chat_template.jinja"
"$root/moescope" serve --model "$work/tiny-chat" --port 0 --api-key sk-check --context 256 > "$work/url" 2> "$work/log" &
pid=$!
for _ in $(seq 300); do [[ -s "$work/url" ]] && break; sleep 0.1; done
url="$(head -1 "$work/url")"
[[ -n "$url" ]] || { cat "$work/log"; exit 1; }
"$python" "$root/tools/serve/openai_check.py" --base-url "$url" --api-key sk-check --model tiny-chat
kill -TERM "$pid"
status=0
wait "$pid" || status=$?
pid=
echo "server stopped on SIGTERM (exit status $status: 143 is the JVM's for SIGTERM)"
