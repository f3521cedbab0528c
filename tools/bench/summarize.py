"""Summary of a tools/bench/compare.sh run: moescope vs HF per round, ratios, rooflines. Usage: summarize.py OUT_DIR"""
import glob
import json
import os
import re
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


def fmt(v, d=1):
    return "-" if v is None else f"{v:.{d}f}"


def jmh_lines(out):
    lines = []
    for name in ("jmh-fma", "jmh-matmul", "jmh-experts"):
        try:
            results = json.load(open(os.path.join(out, name + ".json")))
        except (OSError, ValueError):
            continue
        for res in results:
            params = ",".join(f"{k}={v}" for k, v in (res.get("params") or {}).items())
            bench = res["benchmark"].rsplit(".", 2)[-2]
            sec = res.get("secondaryMetrics", {})
            if name == "jmh-fma":
                lines.append(f"JMH {bench} ({res['threads']} threads): {fmt(sec.get('flops', {}).get('score'))} GFLOP/s")
                continue
            fl, by = sec.get("flops", {}).get("score"), sec.get("bytes", {}).get("score")
            lines.append(f"JMH {bench} {params}: {fmt(fl)} GFLOP/s, weights read {fmt(by)} GB/s")
    return lines


def main():
    out = sys.argv[1]
    rounds = sorted({int(p.rsplit("-", 1)[1].split(".")[0]) for p in glob.glob(os.path.join(out, "moescope-*.json"))})
    hf_threads = sorted({int(m.group(1)) for p in glob.glob(os.path.join(out, "hf-*-t*-*.json"))
                         if (m := re.search(r"-t(\d+)-\d+\.json$", p))}, reverse=True)
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
    for line in jmh_lines(out):
        print(line)

    fma = None
    try:
        fma = json.load(open(os.path.join(out, "jmh-fma.json")))[0]["secondaryMetrics"]["flops"]["score"]
        for res in json.load(open(os.path.join(out, "jmh-experts.json"))):
            params = res.get("params") or {}
            flops = res.get("secondaryMetrics", {}).get("flops", {}).get("score")
            if params.get("tokens") != "1" and flops:
                print(f"expert matmuls (JMH) {params.get('shape')} x {params.get('tokens')} tokens: {flops:.1f} GFLOP/s = "
                      f"{100 * flops / fma:.0f}% of the JMH FMA peak ({fma:.1f} GFLOP/s, measured minutes apart)")
    except (OSError, ValueError, IndexError, KeyError):
        pass
    eff = load(os.path.join(out, "kernel-efficiency.json"))
    for res in (eff or {}).get("results", []):
        print(f"expert matmuls {res['shape']} x {res.get('tokens', eff.get('tokens'))} tokens, measured in alternation with the FMA peak "
              f"({eff['pairs']} pairs, {eff['threads']} threads): {res['experts_gflops_median']:.1f} GFLOP/s, peak "
              f"{res['fma_peak_gflops_median']:.1f} (range {res['fma_peak_gflops_min']:.0f}-{res['fma_peak_gflops_max']:.0f}); "
              f"experts / peak median {100 * res['fraction_of_peak_median']:.0f}% (quartiles "
              f"{100 * res['fraction_of_peak_q1']:.0f}-{100 * res['fraction_of_peak_q3']:.0f}%)")

    de = load(os.path.join(out, "decode-efficiency.json"))
    if de:
        print(f"decode measured in alternation with the bandwidth probe ({de['pairs']} pairs, {de['threads']} threads, "
              f"{de['weight_bytes_per_token'] / 1e6:.0f} MB per token): {de['decode_gb_per_s_median']:.1f} GB/s = "
              f"{de['decode_tokens_per_s_median']:.1f} tok/s; probe mean {de['probe_mean_gb_per_s_median']:.1f}, best "
              f"{de['probe_best_gb_per_s_median']:.1f} GB/s; decode / probe mean median "
              f"{100 * de['fraction_of_probe_mean_median']:.0f}% (quartiles {100 * de['fraction_of_probe_mean_q1']:.0f}-"
              f"{100 * de['fraction_of_probe_mean_q3']:.0f}%), / best {100 * de['fraction_of_probe_best_median']:.0f}%")

    model, ratios_p, ratios_d, mem, hf_mem = None, [], [], [], []
    rows = []
    for r in rounds:
        ours = load(os.path.join(out, f"moescope-{r}.json")) or {}
        model = model or ours.get("model")
        wall = (load(os.path.join(out, f"moescope-{r}.time")) or {}).get("wall_seconds")
        hf = {}
        for t in hf_threads:
            hp = load(os.path.join(out, f"hf-prefill-t{t}-{r}.json")) or {}
            hd = load(os.path.join(out, f"hf-decode-bf16-t{t}-{r}.json")) or {}
            hpw = (load(os.path.join(out, f"hf-prefill-t{t}-{r}.time")) or {}).get("wall_seconds")
            hf[t] = (hp.get("prefill_tokens_per_second"), hd.get("decode_tokens_per_second"), hpw)
            if hd.get("peak_rss_bytes"):
                hf_mem.append(hd["peak_rss_bytes"])
        rows.append((r, ours, wall, hf, load(os.path.join(out, f"before-{r}.json"))))
        if ours:
            mem.append((ours.get("peak_rss_bytes"), ours.get("rss_anon_bytes")))
    per_token = weight_bytes_per_token(model) if model else None

    print()
    hf_dtype = next((d for p in glob.glob(os.path.join(out, "hf-prefill-t*.json")) if (d := (load(p) or {}).get("dtype"))),
                    "fp32")
    head = "round | moescope prefill tok/s | " + " | ".join(f"HF {hf_dtype} prefill t={t}" for t in hf_threads) \
        + " | ratio to best HF | moescope decode tok/s | " + " | ".join(f"HF bf16 decode t={t}" for t in hf_threads) \
        + " | ratio to best HF | decode GB/s (ours) | wall s: moescope / " + " / ".join(f"HF prefill t={t}" for t in hf_threads)
    print(head)
    for r, ours, wall, hf, before in rows:
        op, od = ours.get("prefill_tokens_per_second"), ours.get("decode_tokens_per_second")
        best_p = max([v[0] for v in hf.values() if v[0]], default=None)
        best_d = max([v[1] for v in hf.values() if v[1]], default=None)
        rp = op / best_p if op and best_p else None
        rd = od / best_d if od and best_d else None
        if rp:
            ratios_p.append(rp)
        if rd:
            ratios_d.append(rd)
        gbs = od * per_token / 1e9 if od and per_token else None
        print(f"{r} | {fmt(op)} | " + " | ".join(fmt(hf[t][0]) for t in hf_threads) + f" | {fmt(rp, 2)} | {fmt(od)} | "
              + " | ".join(fmt(hf[t][1]) for t in hf_threads) + f" | {fmt(rd, 2)} | {fmt(gbs)} | {fmt(wall)} / "
              + " / ".join(fmt(hf[t][2]) for t in hf_threads))
        if before:
            print(f"  before: prefill {fmt(before.get('prefill_tokens_per_second'))} tok/s, decode "
                  f"{fmt(before.get('decode_tokens_per_second'))} tok/s")
    if ratios_p:
        print(f"median prefill ratio moescope/best HF: {statistics.median(ratios_p):.2f} (rounds: "
              + ", ".join(f"{x:.2f}" for x in ratios_p) + ")")
    if ratios_d:
        print(f"median decode ratio moescope/best HF: {statistics.median(ratios_d):.2f} (rounds: "
              + ", ".join(f"{x:.2f}" for x in ratios_d) + ")")
    if per_token:
        line = f"weights read per decoded token: {per_token / 1e6:.0f} MB"
        if bw:
            roof = bw['best_gb_per_s'] * 1e9 / per_token
            line += f"; bandwidth roofline at this run's best probe {roof:.1f} tok/s"
            decodes = [o.get("decode_tokens_per_second") for _, o, _, _, _ in rows if o and o.get("decode_tokens_per_second")]
            if decodes:
                line += (f"; moescope decode at {100 * statistics.median(decodes) / roof:.0f}% of it (median of "
                         f"{len(decodes)} rounds)")
        print(line)
    cold_ratios = {"prefill": [], "decode": []}
    for r in rounds:
        cells = []
        for phase, rate in (("prefill", "prefill_tokens_per_second"), ("decode", "decode_tokens_per_second")):
            ours = load(os.path.join(out, f"cold-moescope-{phase}-{r}.json"))
            if not ours:
                continue
            ow = (load(os.path.join(out, f"cold-moescope-{phase}-{r}.time")) or {}).get("wall_seconds")
            hf = load(os.path.join(out, f"cold-hf-{phase}-{r}.json")) or {}
            hw = (load(os.path.join(out, f"cold-hf-{phase}-{r}.time")) or {}).get("wall_seconds")
            ratio = hw / ow if hw and ow else None
            if ratio:
                cold_ratios[phase].append(ratio)
            cells.append(f"{phase}: moescope {fmt(ours.get(rate))} tok/s in a {fmt(ow)} s process, HF "
                         f"{fmt(hf.get(rate))} tok/s in a {fmt(hw)} s process (HF time / ours {fmt(ratio, 2)})")
        if cells:
            print(f"cold round {r} (--warmup 0, one process per phase): " + "; ".join(cells))
    for phase, rs in cold_ratios.items():
        if rs:
            print(f"median whole-process {phase} speed-up (HF process time / moescope process time): "
                  f"{statistics.median(rs):.2f} (rounds: " + ", ".join(f"{x:.2f}" for x in rs) + ")")
    if mem:
        print("moescope peak RSS / RssAnon (GB): " + ", ".join(f"{a / 1e9:.2f} / {b / 1e9:.2f}" for a, b in mem))
    if hf_mem:
        print("HF bf16 peak RSS (GB): " + ", ".join(f"{m / 1e9:.2f}" for m in hf_mem))


if __name__ == "__main__":
    main()
