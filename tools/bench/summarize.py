"""Summary of a tools/bench/compare.sh run: moescope vs HF per round, ratios, rooflines. Usage: summarize.py OUT_DIR"""
import glob
import json
import os
import statistics
import sys


def load(path):
    try:
        with open(path) as f:
            text = f.read()
        return json.loads(text[text.index("{"):]) if "{" in text else None
    except (OSError, ValueError):
        return None


def weight_bytes_per_token(model_dir, dtype_bytes=2):
    """Bytes of weights one decode step reads: attention, router, k experts per layer, lm_head."""
    c = load(os.path.join(model_dir, "config.json"))
    H, I, L = c["hidden_size"], c["intermediate_size"], c["num_hidden_layers"]
    heads, kv = c["num_attention_heads"], c.get("num_key_value_heads") or c["num_attention_heads"]
    kv_dim = H // heads * kv
    per_layer = H * H + 2 * kv_dim * H + H * H + c["num_experts"] * H + c["num_experts_per_tok"] * 3 * H * I
    return (L * per_layer + c["vocab_size"] * H) * dtype_bytes


def main():
    out = sys.argv[1]
    rows = []
    rounds = sorted({int(p.rsplit("-", 1)[1].split(".")[0]) for p in glob.glob(os.path.join(out, "moescope-*.json"))})
    model = None
    for r in rounds:
        ours = load(os.path.join(out, f"moescope-{r}.json")) or {}
        model = model or ours.get("model")
        row = {"round": r, "ours": ours, "ours_time": load(os.path.join(out, f"moescope-{r}.time")) or {},
               "before": load(os.path.join(out, f"before-{r}.json")),
               "hf_prefill": load(os.path.join(out, f"hf-prefill-fp32-{r}.json")),
               "hf_prefill_time": load(os.path.join(out, f"hf-prefill-fp32-{r}.time")) or {},
               "hf_decode": load(os.path.join(out, f"hf-decode-bf16-{r}.json")),
               "hf_decode_time": load(os.path.join(out, f"hf-decode-bf16-{r}.time")) or {}}
        rows.append(row)

    def fmt(v, d=1):
        return "-" if v is None else f"{v:.{d}f}"

    print(open(os.path.join(out, "machine.txt")).read().rstrip())
    bw = load(os.path.join(out, "bandwidth.json"))
    bw1 = load(os.path.join(out, "bandwidth-1thread.json"))
    if bw:
        print(f"memory read bandwidth (C, {bw['threads']} threads): best {bw['best_gb_per_s']:.1f} GB/s, "
              f"mean {bw['mean_gb_per_s']:.1f}" + (f"; 1 thread best {bw1['best_gb_per_s']:.1f}" if bw1 else ""))
    tm = load(os.path.join(out, "torch_matmul.json"))
    if tm:
        print(f"torch {tm['torch']} matmul GFLOP/s ({tm['threads']} threads): "
              + ", ".join(f"{k} {v}" for k, v in tm["gflops"].items()))
    for name in ("jmh-fma", "jmh-matmul", "jmh-experts"):
        try:
            results = json.load(open(os.path.join(out, name + ".json")))
        except (OSError, ValueError):
            continue
        for res in results:
            params = ",".join(f"{k}={v}" for k, v in (res.get("params") or {}).items())
            bench = res["benchmark"].rsplit(".", 2)[-2]
            if name == "jmh-fma":
                print(f"JMH {bench} ({res['threads']} threads): {res['primaryMetric']['score']:.1f} GFLOP/s")
                continue
            sec = res.get("secondaryMetrics", {})
            fl, by = sec.get("flops", {}).get("score"), sec.get("bytes", {}).get("score")
            print(f"JMH {bench} {params}: {fmt(fl)} GFLOP/s, weights {fmt(by)} GB/s")

    per_token = weight_bytes_per_token(model) if model else None
    print()
    print("round | moescope prefill tok/s | HF fp32 prefill tok/s | ratio | moescope decode tok/s | HF bf16 decode tok/s "
          "| ratio | decode GB/s (ours) | wall s: moescope / HF prefill / HF decode")
    ratios_p, ratios_d = [], []
    for row in rows:
        o, hp, hd = row["ours"], row["hf_prefill"] or {}, row["hf_decode"] or {}
        op, od = o.get("prefill_tokens_per_second"), o.get("decode_tokens_per_second")
        fp, fd = hp.get("prefill_tokens_per_second"), hd.get("decode_tokens_per_second")
        rp = op / fp if op and fp else None
        rd = od / fd if od and fd else None
        if rp:
            ratios_p.append(rp)
        if rd:
            ratios_d.append(rd)
        gbs = od * per_token / 1e9 if od and per_token else None
        print(f"{row['round']} | {fmt(op)} | {fmt(fp)} | {fmt(rp, 2)} | {fmt(od)} | {fmt(fd)} | {fmt(rd, 2)} | {fmt(gbs)} | "
              f"{fmt(row['ours_time'].get('wall_seconds'))} / {fmt(row['hf_prefill_time'].get('wall_seconds'))} / "
              f"{fmt(row['hf_decode_time'].get('wall_seconds'))}")
        if row["before"]:
            b = row["before"]
            print(f"  before: prefill {fmt(b.get('prefill_tokens_per_second'))} tok/s, decode "
                  f"{fmt(b.get('decode_tokens_per_second'))} tok/s")
    if ratios_p:
        print(f"median prefill ratio moescope/HF: {statistics.median(ratios_p):.2f} (rounds: "
              + ", ".join(f"{x:.2f}" for x in ratios_p) + ")")
    if ratios_d:
        print(f"median decode ratio moescope/HF: {statistics.median(ratios_d):.2f} (rounds: "
              + ", ".join(f"{x:.2f}" for x in ratios_d) + ")")
    if per_token:
        line = f"weights read per decoded token: {per_token / 1e6:.0f} MB"
        if bw:
            line += f"; bandwidth roofline {bw['best_gb_per_s'] * 1e9 / per_token:.1f} tok/s"
        print(line)
    mem = [(r["ours"].get("peak_rss_bytes"), r["ours"].get("rss_anon_bytes")) for r in rows if r["ours"]]
    if mem:
        print("moescope peak RSS / RssAnon (GB): " + ", ".join(f"{a / 1e9:.2f} / {b / 1e9:.2f}" for a, b in mem))
    hf_mem = [r["hf_decode"].get("peak_rss_bytes") for r in rows if r["hf_decode"]]
    if hf_mem:
        print("HF bf16 peak RSS (GB): " + ", ".join(f"{m / 1e9:.2f}" for m in hf_mem))


if __name__ == "__main__":
    main()
