"""HF transformers' OlmoeForCausalLM on the workload of `moescope bench`, for tools/bench/compare.sh.

Same checkpoint, same token ids (java.util.SplittableRandom re-implemented), same thread count, same phases:
  load      from_pretrained into --dtype
  warm-up   prefill of 2 samples, 4 greedy tokens (untimed)
  prefill   --samples x --sample-tokens random tokens, --batch-tokens per forward call, router logits returned and
            turned into top-k routes, per-sample next-token loss (what `moescope trace` records)
  decode    --prompt-tokens prompt, then --decode-tokens greedy tokens with the KV cache; decode tok/s counts the
            tokens after the first one, time to first token is the prompt's forward pass
Prints one JSON object with the same keys as `moescope bench`.

Usage: python hf_bench.py --model DIR [--dtype float32|bfloat16] [--experts eager|grouped_mm|batched_mm]
                          [--phases prefill,decode] [--threads 2] [--device cpu|cuda]
"""
import argparse
import json
import os
import resource
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from java_random import SplittableRandom  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    ap.add_argument("--experts", default="grouped_mm", help="experts_implementation: eager, grouped_mm, batched_mm")
    ap.add_argument("--phases", default="prefill,decode")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--samples", type=int, default=8)
    ap.add_argument("--sample-tokens", type=int, default=128)
    ap.add_argument("--prompt-tokens", type=int, default=16)
    ap.add_argument("--decode-tokens", type=int, default=32)
    ap.add_argument("--batch-tokens", type=int, default=512)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--warmup", type=int, default=1, help="untimed warm-up rounds, as moescope bench --warmup")
    ap.add_argument("--device", default="cpu", help="torch device: cpu, cuda (timings wait for the GPU)")
    args = ap.parse_args()
    phases = set(args.phases.split(","))

    t_import = time.perf_counter()
    import torch
    from transformers import OlmoeForCausalLM
    torch.set_num_threads(args.threads)
    import_seconds = time.perf_counter() - t_import

    t0 = time.perf_counter()
    dtype = getattr(torch, args.dtype)
    model = OlmoeForCausalLM.from_pretrained(args.model, dtype=dtype, experts_implementation=args.experts)
    model.eval()
    model.to(args.device)

    def sync():
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()

    sync()
    load_seconds = time.perf_counter() - t0
    vocab = model.config.vocab_size
    k = model.config.num_experts_per_tok

    # The ids moescope bench draws: one stream, samples first, then the prompt.
    rnd = SplittableRandom(args.seed)
    samples = [rnd.ints(args.sample_tokens, 0, vocab) for _ in range(args.samples)]
    prompt = rnd.ints(args.prompt_tokens, 0, vocab)

    def trace(batch):
        """Forward passes of about batch_tokens tokens; routes (top-k ids and weights) and per-sample loss."""
        per_call = max(1, args.batch_tokens // args.sample_tokens)
        losses, routes = [], 0
        for i in range(0, len(batch), per_call):
            ids = torch.tensor(batch[i:i + per_call], device=args.device)
            out = model(input_ids=ids, output_router_logits=True, use_cache=False)
            for layer_logits in out.router_logits:
                probs = torch.softmax(layer_logits.float(), dim=-1)
                w, e = torch.topk(probs, k, dim=-1)
                routes += e.numel()
            logp = torch.log_softmax(out.logits[:, :-1].float(), dim=-1)
            nll = -logp.gather(-1, ids[:, 1:, None]).squeeze(-1).mean(dim=-1)
            losses.extend(nll.tolist())
        return losses, routes

    def generate(n):
        """Greedy tokens with the KV cache; returns (prefill seconds, seconds for tokens 2..n)."""
        ids = torch.tensor([prompt], device=args.device)
        sync()
        t0 = time.perf_counter()
        out = model(input_ids=ids, use_cache=True)
        nxt = out.logits[:, -1].argmax(-1, keepdim=True)
        sync()
        t1 = time.perf_counter()
        past = out.past_key_values
        for _ in range(n - 1):
            out = model(input_ids=nxt, past_key_values=past, use_cache=True)
            past = out.past_key_values
            nxt = out.logits[:, -1].argmax(-1, keepdim=True)
        sync()
        t2 = time.perf_counter()
        return t1 - t0, t2 - t1

    result = {"implementation": "hf-transformers", "model": args.model, "dtype": args.dtype,
              "experts_implementation": args.experts, "threads": torch.get_num_threads(),
              "torch": torch.__version__, "import_seconds": import_seconds, "load_seconds": load_seconds,
              "device": torch.cuda.get_device_name() if args.device.startswith("cuda") else "cpu"}
    with torch.inference_mode():
        for _ in range(args.warmup):
            if "prefill" in phases:
                trace(samples[:2])
            if "decode" in phases:
                generate(min(4, args.decode_tokens))
        if "prefill" in phases:
            sync()
            t0 = time.perf_counter()
            losses, routes = trace(samples)
            sync()
            seconds = time.perf_counter() - t0
            tokens = args.samples * args.sample_tokens
            result.update(prefill_tokens=tokens, prefill_seconds=seconds, prefill_tokens_per_second=tokens / seconds,
                          prefill_mean_loss=sum(losses) / len(losses))
        if "decode" in phases:
            ttft, dec = generate(args.decode_tokens)
            result.update(time_to_first_token_seconds=ttft, decode_tokens=args.decode_tokens - 1,
                          decode_tokens_per_second=(args.decode_tokens - 1) / max(dec, 1e-9))
    result["peak_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
