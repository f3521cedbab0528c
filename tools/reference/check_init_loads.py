"""Checks that `moescope weights init` writes checkpoints HF transformers loads and initialises like HF would.

    python3 tools/reference/check_init_loads.py [--moescope ./moescope] [--keep DIR]

For two configs (the tiny fixture architecture with MHA and untied lm_head; a GQA one with tied embeddings, sharded
output, bf16 and f32), it runs `moescope weights init`, then:
  1. loads the directory with OlmoeForCausalLM.from_pretrained(output_loading_info=True): no missing, unexpected or
     mismatched keys, and every parameter equals the file's tensor bit for bit (nothing was re-initialised);
  2. runs a forward pass on seeded token ids: logits of the right shape, all finite;
  3. compares each tensor's statistics with a model HF initialises itself from the same config (same std per
     tensor kind within sampling error, norms exactly one, the padding row zero).
Exits non-zero on the first failure. Never needed by the Java tests; run it after changing Init or OlmoeCheckpoints.
"""

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile

import torch
from safetensors.torch import load_file
from transformers import OlmoeConfig, OlmoeForCausalLM

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

CONFIGS = {
    "mha-untied": dict(vocab_size=192, hidden_size=64, intermediate_size=32, num_hidden_layers=3,
                       num_attention_heads=4, num_key_value_heads=4, num_experts=8, num_experts_per_tok=2,
                       max_position_embeddings=128, tie_word_embeddings=False, pad_token_id=1, eos_token_id=191,
                       initializer_range=0.02, model_type="olmoe", torch_dtype="float32"),
    "gqa-tied": dict(vocab_size=256, hidden_size=128, intermediate_size=64, num_hidden_layers=2,
                     num_attention_heads=8, num_key_value_heads=2, num_experts=16, num_experts_per_tok=4,
                     max_position_embeddings=128, tie_word_embeddings=True, pad_token_id=0, eos_token_id=255, norm_topk_prob=True,
                     clip_qkv=4.0, initializer_range=0.05, model_type="olmoe", dtype="bfloat16"),
}
RUNS = [("mha-untied", "f32", "5GB"), ("mha-untied", "bf16", "200KB"), ("gqa-tied", "bf16", "300KB"),
        ("gqa-tied", "f32", "5GB")]


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def file_tensors(path):
    out = {}
    for name in sorted(os.listdir(path)):
        if name.endswith(".safetensors"):
            out.update(load_file(os.path.join(path, name)))
    return out


def kind(name):
    if name.endswith("norm.weight"):
        return "norm"
    if "embed_tokens" in name:
        return "embed"
    return "linear"


def check(moescope, cfg_name, dtype, shard, workdir):
    cfg = CONFIGS[cfg_name]
    cfg_path = os.path.join(workdir, cfg_name + ".json")
    with open(cfg_path, "w") as f:
        json.dump(cfg, f)
    out = os.path.join(workdir, f"{cfg_name}-{dtype}")
    subprocess.run([moescope, "weights", "init", "--config", cfg_path, "--out", out, "--seed", "42", "--dtype", dtype,
                    "--max-shard-size", shard], check=True)
    shards = [n for n in os.listdir(out) if n.endswith(".safetensors")]

    model, info = OlmoeForCausalLM.from_pretrained(out, output_loading_info=True)
    for key in ("missing_keys", "unexpected_keys", "mismatched_keys", "error_msgs"):
        if info.get(key):
            fail(f"{cfg_name}/{dtype}: {key}: {info[key]}")
    torch_dtype = {"bf16": torch.bfloat16, "f32": torch.float32}[dtype]
    tensors = file_tensors(out)
    state = model.state_dict()
    # transformers 5 may fuse experts in memory; compare through its own saved layout instead of names
    with tempfile.TemporaryDirectory() as resaved:
        model.save_pretrained(resaved)
        reloaded = file_tensors(resaved)
    if set(reloaded) - {"lm_head.weight"} != set(tensors) - {"lm_head.weight"}:
        fail(f"{cfg_name}/{dtype}: HF's saved tensors differ from ours: {sorted(set(reloaded) ^ set(tensors))[:5]}")
    for name, t in tensors.items():
        if t.dtype != torch_dtype:
            fail(f"{name}: dtype {t.dtype}, expected {torch_dtype}")
        if name in reloaded and not torch.equal(reloaded[name].to(t.dtype), t):
            fail(f"{cfg_name}/{dtype}: {name} changed between our file and HF's loaded model")

    torch.manual_seed(0)
    ids = torch.randint(0, cfg["vocab_size"], (2, 12))
    with torch.no_grad():
        logits = model(input_ids=ids).logits
    if tuple(logits.shape) != (2, 12, cfg["vocab_size"]) or not torch.isfinite(logits.float()).all():
        fail(f"{cfg_name}/{dtype}: bad logits {tuple(logits.shape)}")

    # HF's own init of the same config, for the statistics
    hf_cfg = OlmoeConfig(**{k: v for k, v in cfg.items() if k not in ("model_type", "torch_dtype", "dtype")})
    torch.manual_seed(1)
    hf = OlmoeForCausalLM(hf_cfg)
    with tempfile.TemporaryDirectory() as hf_dir:
        hf.save_pretrained(hf_dir)
        hf_tensors = file_tensors(hf_dir)
    std = cfg["initializer_range"]
    for name, t in tensors.items():
        ours = t.float()
        theirs = hf_tensors[name].float()
        k = kind(name)
        if k == "norm":
            if not (torch.all(ours == 1) and torch.all(theirs == 1)):
                fail(f"{name}: norms must be ones (ours {ours.unique()[:4]}, HF {theirs.unique()[:4]})")
            continue
        if k == "embed":
            pad = cfg["pad_token_id"]
            if not torch.all(ours[pad] == 0) or not torch.all(theirs[pad] == 0):
                fail(f"{name}: padding row {pad} must be zero")
            ours = torch.cat([ours[:pad], ours[pad + 1:]])
            theirs = torch.cat([theirs[:pad], theirs[pad + 1:]])
        n = ours.numel()
        tol = 6 * std / math.sqrt(2 * n) + 0.01 * std  # sampling error of a std estimate + bf16 rounding
        if abs(ours.std().item() - std) > tol or abs(theirs.std().item() - std) > tol:
            fail(f"{name}: std ours {ours.std().item():.5f}, HF {theirs.std().item():.5f}, expected {std}")
        if abs(ours.mean().item()) > 6 * std / math.sqrt(n):
            fail(f"{name}: mean {ours.mean().item()} is not ~0")
    print(f"ok  {cfg_name:10s} {dtype:4s} {len(shards)} shard(s), {sum(t.numel() for t in tensors.values()):,} params, "
          f"logits finite, statistics match HF's init")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--moescope", default=os.path.join(REPO, "moescope"))
    ap.add_argument("--keep", help="write the checkpoints here instead of a temporary directory")
    args = ap.parse_args()
    torch.set_num_threads(1)
    if args.keep:
        os.makedirs(args.keep, exist_ok=True)
        for run in RUNS:
            check(args.moescope, *run, args.keep)
    else:
        with tempfile.TemporaryDirectory() as work:
            for run in RUNS:
                check(args.moescope, *run, work)
    print("all checks passed")


if __name__ == "__main__":
    main()
