#!/usr/bin/env python3
"""Train a tiny OLMoE (HF OlmoeForCausalLM) on a + b mod p until it groks; save a checkpoint series.

Writes, under --out (default fixtures/grokking):
  train.jsonl, test.jsonl          the split, one sample per line (the format moescope's trace/monitor read)
  checkpoints/step-NNNNNN/         config.json + model.safetensors, written by save_pretrained
  scores.csv                       accuracy/loss per checkpoint, measured on the checkpoint as saved
  per_sample.jsonl                 per checkpoint: which train/test samples the saved model gets right
  curve.csv                        the dense training curve (in-memory model, every --eval-every steps)

One run is deterministic (CPU, one thread, fixed seed). Training keeps an in-memory snapshot every
--snapshot-every steps; after training it picks the checkpoint steps from the measured curve (dense
around the rise of test accuracy), so a single run both finds the transition and saves around it.
"""

import argparse
import csv
import json
import math
import os
import shutil
import sys
import time

import torch
import torch.nn.functional as F

torch.set_num_threads(1)
torch.set_num_interop_threads(1)

from transformers import OlmoeConfig, OlmoeForCausalLM  # noqa: E402
from transformers.utils import logging as hf_logging  # noqa: E402

hf_logging.set_verbosity_error()
hf_logging.disable_progress_bar()

ANSWER_POS = 3  # the logits at position 3 ("=") predict c


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--p", type=int, default=59)
    ap.add_argument("--train-frac", type=float, default=0.4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--layers", type=int, default=3)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--intermediate", type=int, default=64, help="per expert")
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--experts", type=int, default=8)
    ap.add_argument("--top-k", type=int, default=2)
    ap.add_argument("--init-std", type=float, default=0.02, help="initializer_range (normal init std)")
    ap.add_argument("--aux-coef", type=float, default=0.01, help="router load-balancing loss coefficient")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--weight-decay", type=float, default=1.0)
    ap.add_argument("--decay-norms", action="store_true", help="also weight-decay the RMSNorm gains")
    ap.add_argument("--beta2", type=float, default=0.98)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--steps", type=int, default=6000, help="maximum number of full-batch steps")
    ap.add_argument("--stop-after", type=int, default=1000,
                    help="stop this many steps after test accuracy first reaches --stop-test-acc (0: never)")
    ap.add_argument("--stop-test-acc", type=float, default=0.99)
    ap.add_argument("--eval-every", type=int, default=25)
    ap.add_argument("--snapshot-every", type=int, default=50)
    ap.add_argument("--checkpoints", type=int, default=24, help="how many checkpoints to pick")
    ap.add_argument("--save-steps", type=str, default="",
                    help="comma-separated checkpoint steps instead of the automatic pick")
    ap.add_argument("--save-dtype", choices=["float32", "bfloat16"], default="bfloat16")
    ap.add_argument("--out", type=str, default="fixtures/grokking")
    ap.add_argument("--no-save", action="store_true", help="trial run: log the curve only")
    return ap.parse_args()


# ----------------------------------------------------------------------------- data

def make_samples(p):
    """All p*p ordered pairs as 5-token sequences [a, +, b, =, c]."""
    plus, eq = p, p + 1
    ids = [[a, plus, b, eq, (a + b) % p] for a in range(p) for b in range(p)]
    return torch.tensor(ids, dtype=torch.long)  # (p*p, 5)


def split(samples, p, frac, seed):
    """Random split of the unordered pairs {a, b}: a + b and b + a always land on the same side, so test
    accuracy cannot come from memorised mirror images (commutativity) and stays near chance until the
    model has learned the operation itself."""
    g = torch.Generator().manual_seed(seed)
    a, b = samples[:, 0], samples[:, 2]
    pair = torch.minimum(a, b) * p + torch.maximum(a, b)  # one id per unordered pair
    pairs = pair.unique()
    perm = pairs[torch.randperm(pairs.shape[0], generator=g)]
    train_pairs = perm[:int(round(frac * pairs.shape[0]))]
    is_train = torch.isin(pair, train_pairs)
    # Each split stays in (a, b) order so the files are easy to read; the split itself is random.
    return samples[is_train], samples[~is_train]


def write_jsonl(path, rows, p):
    with open(path, "w") as f:
        for r in rows.tolist():
            f.write(json.dumps({"id": f"{r[0]}+{r[2]}", "ids": r, "loss_start": ANSWER_POS + 1,
                                "group": "mod-add"}) + "\n")


# ----------------------------------------------------------------------------- model

def make_config(a):
    vocab = (a.p + 2 + 7) // 8 * 8  # numbers, "+", "="; padded to a multiple of 8
    return OlmoeConfig(
        vocab_size=vocab,
        hidden_size=a.hidden,
        intermediate_size=a.intermediate,
        num_hidden_layers=a.layers,
        num_attention_heads=a.heads,
        num_key_value_heads=a.heads,
        num_experts=a.experts,
        num_experts_per_tok=a.top_k,
        norm_topk_prob=False,
        max_position_embeddings=8,
        tie_word_embeddings=False,
        attention_dropout=0.0,
        output_router_logits=True,
        router_aux_loss_coef=a.aux_coef,
        initializer_range=a.init_std,
        pad_token_id=None,
        bos_token_id=None,
        eos_token_id=None,
    )


def answer_logits(model, x, **kw):
    """Logits at the "=" position, in float32. x: (n, 5)."""
    out = model(input_ids=x, logits_to_keep=x.shape[1] - ANSWER_POS, **kw)
    return out, out.logits[:, 0, :].float()  # (n, vocab)


@torch.no_grad()
def evaluate(model, x, chunk=4096):
    """Per-sample correctness, per-sample loss -log p(c | a + b =), and the top1-top2 logit margin."""
    correct, losses, margins = [], [], []
    for i in range(0, x.shape[0], chunk):
        xb = x[i:i + chunk]
        _, logits = answer_logits(model, xb, output_router_logits=False)
        target = xb[:, ANSWER_POS + 1]
        correct.append(logits.argmax(-1) == target)
        losses.append(F.cross_entropy(logits, target, reduction="none"))
        top2 = logits.topk(2, dim=-1).values
        margins.append(top2[:, 0] - top2[:, 1])
    return torch.cat(correct), torch.cat(losses), torch.cat(margins)


# ----------------------------------------------------------------------------- checkpoint choice

def first_step(curve, key, threshold):
    for row in curve:
        if row[key] >= threshold:
            return row["step"]
    return None


def pick_steps(curve, snapshot_steps, n):
    """Pick n snapshot steps: a few while memorising, a few on the plateau, most during the rise of test
    accuracy, a few after. Phases come from the in-memory curve."""
    last = snapshot_steps[-1]
    t_train = first_step(curve, "train_acc", 0.99) or last
    t_rise = first_step(curve, "test_acc", 0.10) or last   # test accuracy clearly above chance
    t_done = first_step(curve, "test_acc", 0.99) or last
    t_rise = max(t_rise, t_train)
    # The rise starts before test accuracy hits 10%; begin the dense stretch a little earlier.
    span = max(t_done - t_rise, 1)
    dense_lo = max(t_train, t_rise - span // 2)
    dense_hi = min(last, t_done + span // 4)
    budget = {"memorise": max(2, n // 8), "plateau": max(3, n // 6), "after": max(2, n // 8)}
    budget["dense"] = n - 1 - sum(budget.values())  # 1 for step 0

    def spaced(lo, hi, k):
        if k <= 0 or hi < lo:
            return []
        return [lo + (hi - lo) * i / k for i in range(1, k + 1)]

    targets = [0.0]
    targets += spaced(0, t_train, budget["memorise"])
    targets += spaced(t_train, dense_lo, budget["plateau"])
    targets += [dense_lo] + spaced(dense_lo, dense_hi, budget["dense"] - 1)
    targets += spaced(dense_hi, last, budget["after"])
    chosen = []
    available = list(snapshot_steps)
    for t in targets:
        best = min(available, key=lambda s: (abs(s - t), s))
        chosen.append(best)
        available.remove(best)
        if not available:
            break
    return sorted(set(chosen)), dict(t_train=t_train, t_rise=t_rise, t_done=t_done)


# ----------------------------------------------------------------------------- main

def main():
    a = parse_args()
    torch.manual_seed(a.seed)
    torch.use_deterministic_algorithms(True)

    samples = make_samples(a.p)
    train_x, test_x = split(samples, a.p, a.train_frac, a.seed)
    cfg = make_config(a)
    # The eager experts loop is the reference implementation (and the one HF's own tests use).
    cfg._experts_implementation = "eager"
    model = OlmoeForCausalLM(cfg)
    n_params = sum(t.numel() for t in model.parameters())
    print(f"p={a.p} train={train_x.shape[0]} test={test_x.shape[0]} params={n_params}", flush=True)

    # Decay the matrices (embeddings, projections, experts, routers), not the RMSNorm gains: decaying a gain
    # toward 0 only rescales what the next layer sees and, for the QK-norms, flattens attention.
    decay = [t for t in model.parameters() if t.dim() >= 2]
    no_decay = [t for t in model.parameters() if t.dim() < 2]
    groups = [dict(params=decay, weight_decay=a.weight_decay)]
    if not a.decay_norms:
        groups.append(dict(params=no_decay, weight_decay=0.0))
    else:
        groups[0]["params"] = decay + no_decay
    opt = torch.optim.AdamW(groups, lr=a.lr, betas=(0.9, a.beta2))
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / a.warmup))
    target = train_x[:, ANSWER_POS + 1]

    curve, snapshots = [], {}
    stop_at = None
    t0 = time.time()
    step = 0
    while True:
        if step % a.eval_every == 0 or step % a.snapshot_every == 0:
            model.eval()
            tr_c, tr_l, _ = evaluate(model, train_x)
            te_c, te_l, _ = evaluate(model, test_x)
            row = dict(step=step, train_loss=tr_l.mean().item(), train_acc=tr_c.float().mean().item(),
                       test_loss=te_l.mean().item(), test_acc=te_c.float().mean().item(),
                       wall_s=time.time() - t0)
            curve.append(row)
            print("step {step:6d} train_loss {train_loss:.4f} train_acc {train_acc:.4f} "
                  "test_loss {test_loss:.4f} test_acc {test_acc:.4f} wall {wall_s:.0f}s".format(**row), flush=True)
            if stop_at is None and a.stop_after > 0 and row["test_acc"] >= a.stop_test_acc:
                stop_at = step + a.stop_after
            model.train()
        if step % a.snapshot_every == 0 and not a.no_save:
            snapshots[step] = {k: v.detach().clone() for k, v in model.state_dict().items()}
        if step >= a.steps or (stop_at is not None and step >= stop_at):
            break
        out, logits = answer_logits(model, train_x, output_router_logits=True)
        ce = F.cross_entropy(logits, target)
        loss = ce + a.aux_coef * out.aux_loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        step += 1
    train_wall = time.time() - t0
    print(f"trained {step} steps in {train_wall:.0f}s", flush=True)

    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "curve.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(curve[0].keys()))
        w.writeheader()
        for row in curve:
            w.writerow({k: (f"{v:.6f}" if isinstance(v, float) else v) for k, v in row.items()})
    if a.no_save:
        return

    if a.save_steps:
        steps = sorted(int(s) for s in a.save_steps.split(","))
        missing = [s for s in steps if s not in snapshots]
        if missing:
            sys.exit(f"--save-steps {missing} are not multiples of --snapshot-every {a.snapshot_every}")
        phases = {}
    else:
        steps, phases = pick_steps(curve, sorted(snapshots), a.checkpoints)
    print(f"phases {phases}\ncheckpoint steps {steps}", flush=True)

    write_jsonl(os.path.join(a.out, "train.jsonl"), train_x, a.p)
    write_jsonl(os.path.join(a.out, "test.jsonl"), test_x, a.p)
    ckpt_root = os.path.join(a.out, "checkpoints")
    if os.path.isdir(ckpt_root):
        shutil.rmtree(ckpt_root)
    os.makedirs(ckpt_root)

    save_dtype = getattr(torch, a.save_dtype)
    score_rows, per_sample = [], []
    for s in steps:
        name = f"step-{s:06d}"
        d = os.path.join(ckpt_root, name)
        model.load_state_dict(snapshots[s])
        model.to(save_dtype).save_pretrained(d)
        model.to(torch.float32)
        gen = os.path.join(d, "generation_config.json")
        if os.path.exists(gen):
            os.remove(gen)  # no generation defaults to speak of; keep the directory to config + weights
        # Score the checkpoint as saved: reload from disk, compute in float32.
        saved = OlmoeForCausalLM.from_pretrained(d, dtype=torch.float32, experts_implementation="eager")
        saved.eval()
        tr_c, tr_l, tr_m = evaluate(saved, train_x)
        te_c, te_l, te_m = evaluate(saved, test_x)
        score_rows.append(dict(
            checkpoint=name, step=s,
            train_loss=f"{tr_l.mean().item():.6f}", train_accuracy=f"{tr_c.float().mean().item():.6f}",
            test_accuracy=f"{te_c.float().mean().item():.6f}", test_loss=f"{te_l.mean().item():.6f}",
            train_correct=int(tr_c.sum()), train_total=tr_c.numel(),
            test_correct=int(te_c.sum()), test_total=te_c.numel(),
            min_margin=f"{min(tr_m.min().item(), te_m.min().item()):.6g}"))
        per_sample.append(dict(checkpoint=name,
                               train="".join("1" if c else "0" for c in tr_c.tolist()),
                               test="".join("1" if c else "0" for c in te_c.tolist())))
        r = score_rows[-1]
        print(f"saved {name}: train_acc {r['train_accuracy']} test_acc {r['test_accuracy']} "
              f"min_margin {r['min_margin']}", flush=True)

    with open(os.path.join(a.out, "scores.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(score_rows[0].keys()))
        w.writeheader()
        w.writerows(score_rows)
    with open(os.path.join(a.out, "per_sample.jsonl"), "w") as f:
        for r in per_sample:
            f.write(json.dumps(r) + "\n")
    total = sum(os.path.getsize(os.path.join(dp, fn)) for dp, _, fns in os.walk(a.out) for fn in fns)
    print(f"train wall {train_wall:.0f}s; wrote {len(steps)} checkpoints; {a.out} is {total / 1e6:.2f} MB", flush=True)


if __name__ == "__main__":
    main()
