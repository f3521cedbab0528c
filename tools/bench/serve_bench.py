#!/usr/bin/env python3
"""Load benchmark of an OpenAI-compatible server: N concurrent streaming clients, standard library only.

For each concurrency level, every client sends `--requests` streamed completions one after another (a fixed prompt
of token ids, `--max-tokens` tokens, greedy) and the script reports aggregate output tokens/s (all tokens of the
level / its wall time), p50/p99 time to first token and p50/p99 inter-token latency (between content chunks).

    python tools/bench/serve_bench.py --base-url http://127.0.0.1:8080/v1 --model NAME --levels 1,2,4,8,16
"""
import argparse
import http.client
import json
import statistics
import threading
import time
import urllib.parse


def one_request(base, model, prompt, max_tokens, api_key):
    u = urllib.parse.urlparse(base)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=600)
    body = json.dumps({"model": model, "prompt": prompt, "max_tokens": max_tokens, "temperature": 0, "stream": True,
                       "stream_options": {"include_usage": True}})
    headers = {"Content-Type": "application/json"}
    if api_key:
        headers["Authorization"] = "Bearer " + api_key
    t0 = time.perf_counter()
    conn.request("POST", u.path.rstrip("/") + "/completions", body, headers)
    resp = conn.getresponse()
    if resp.status != 200:
        raise RuntimeError(f"HTTP {resp.status}: {resp.read()[:300]!r}")
    times, tokens = [], 0
    for raw in resp:
        line = raw.decode().strip()
        if not line.startswith("data: "):
            continue
        data = line[6:]
        if data == "[DONE]":
            break
        j = json.loads(data)
        if j.get("usage"):
            tokens = j["usage"]["completion_tokens"]
        if j["choices"] and (j["choices"][0].get("text") or j["choices"][0].get("finish_reason") is None):
            times.append(time.perf_counter())
    conn.close()
    ttft = times[0] - t0 if times else float("nan")
    itl = [b - a for a, b in zip(times, times[1:])]
    return tokens, ttft, itl


def pct(xs, p):
    xs = sorted(xs)
    if not xs:
        return float("nan")
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def level(args, clients, prompt):
    results, errors = [], []

    def client():
        for _ in range(args.requests):
            try:
                results.append(one_request(args.base_url, args.model, prompt, args.max_tokens, args.api_key))
            except Exception as e:  # reported, not hidden
                errors.append(str(e))

    threads = [threading.Thread(target=client) for _ in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    tokens = sum(r[0] for r in results)
    ttft = [r[1] for r in results]
    itl = [x for r in results for x in r[2]]
    return {"clients": clients, "requests": len(results), "errors": len(errors), "tokens": tokens, "wall_s": wall,
            "tok_s": tokens / wall, "ttft_p50": pct(ttft, 50), "ttft_p99": pct(ttft, 99), "itl_p50": pct(itl, 50),
            "itl_p99": pct(itl, 99), "first_error": errors[0] if errors else None}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base-url", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--api-key")
    ap.add_argument("--levels", default="1,2,4,8,16")
    ap.add_argument("--requests", type=int, default=2, help="requests per client per level")
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--prompt-tokens", type=int, default=32)
    ap.add_argument("--prompt-text", help="send this text as the prompt instead of token ids (for servers such as "
                    "transformers serve whose /v1/completions takes only text)")
    ap.add_argument("--warmup", type=int, default=1, help="unmeasured requests first")
    ap.add_argument("--label", default="server")
    args = ap.parse_args()
    prompt = args.prompt_text or [(i * 37 + 11) % 50000 for i in range(args.prompt_tokens)]
    for _ in range(args.warmup):
        one_request(args.base_url, args.model, prompt, 8, args.api_key)
    rows = [level(args, int(n), prompt) for n in args.levels.split(",")]
    base = rows[0]["tok_s"]
    what = f"prompt text of {len(prompt)} characters" if args.prompt_text else f"prompt {args.prompt_tokens} token ids"
    print(f"{args.label}: {what}, {args.max_tokens} new tokens, "
          f"{args.requests} requests per client")
    print("| clients | tok/s | x 1 client | TTFT p50 / p99 (s) | inter-token p50 / p99 (ms) | errors |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['clients']} | {r['tok_s']:.1f} | {r['tok_s'] / base:.2f} | {r['ttft_p50']:.3f} / "
              f"{r['ttft_p99']:.3f} | {r['itl_p50'] * 1e3:.1f} / {r['itl_p99'] * 1e3:.1f} | {r['errors']} |")
        if r["first_error"]:
            print("  first error:", r["first_error"])
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
