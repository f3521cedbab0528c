"""Checks that `moescope weights init` writes checkpoints HF transformers loads and initialises like HF would.

    python3 tools/reference/check_init_loads.py [--moescope ./moescope] [--keep DIR] [--only NAME ...]

--moescope is the command that runs the CLI; it may carry arguments (split like a shell line), e.g.
`--moescope "java --add-modules jdk.incubator.vector -jar cli/target/moescope.jar"`.

Runs, every one through AutoConfig / AutoModelForCausalLM so one code path serves all families:
  - OLMoE: two inline configs (the tiny fixture architecture with MHA and untied lm_head; a GQA one with tied
    embeddings and clip_qkv), each written as bf16 and f32, sharded and single;
  - every other family moescope inits (flex_olmo, qwen2_moe, qwen3_moe, mixtral, granitemoe, phimoe): one run
    from its fixtures/models/<family>-f32/config.json (5.x field set) and one from <family>-bf16/config.json
    (4.x/hub field set), with f32 and bf16 outputs and a small --max-shard-size mixed across them.
For each run it calls `moescope weights init`, then:
  0. the config.json it wrote loads (AutoConfig) to the same config as the input, apart from the dtype;
  1. loads the directory with AutoModelForCausalLM.from_pretrained(output_loading_info=True): the expected
     model_type, no missing, unexpected or mismatched keys, and every parameter equals the file's tensor bit
     for bit (compared through HF's own save_pretrained layout, so nothing was re-initialised or renamed);
  2. runs a forward pass (eager experts) on seeded token ids: logits of the right shape, all finite;
  3. compares each tensor with a model HF initialises itself from the same config: same names and shapes;
     every 2-D/3-D weight (linear, router, experts, embedding minus its padding row) has std initializer_range
     within sampling error in both, and mean ~0 in ours; norm weights exactly one and biases (attention,
     LayerNorm, lm_head) exactly zero in both; the padding row zero in both. Any tensor of another kind fails.
Every run is checked; a failing run prints its FAIL lines and the script exits non-zero at the end.
Never needed by the Java tests; run it after changing Init or the checkpoint writers.
"""

import argparse
import json
import math
import os
import shlex
import subprocess
import sys
import tempfile

import torch
from safetensors.torch import load_file
from transformers import AutoConfig, AutoModelForCausalLM

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
FIXTURES = os.path.join(REPO, "fixtures", "models")

INLINE = {
    "mha-untied": dict(vocab_size=192, hidden_size=64, intermediate_size=32, num_hidden_layers=3,
                       num_attention_heads=4, num_key_value_heads=4, num_experts=8, num_experts_per_tok=2,
                       max_position_embeddings=128, tie_word_embeddings=False, pad_token_id=1, eos_token_id=191,
                       initializer_range=0.02, model_type="olmoe", torch_dtype="float32"),
    "gqa-tied": dict(vocab_size=256, hidden_size=128, intermediate_size=64, num_hidden_layers=2,
                     num_attention_heads=8, num_key_value_heads=2, num_experts=16, num_experts_per_tok=4,
                     max_position_embeddings=128, tie_word_embeddings=True, pad_token_id=0, eos_token_id=255, norm_topk_prob=True,
                     clip_qkv=4.0, initializer_range=0.05, model_type="olmoe", dtype="bfloat16"),
}
# (config: an INLINE name or a fixtures/models directory, output dtype, --max-shard-size)
RUNS = [("mha-untied", "f32", "5GB"), ("mha-untied", "bf16", "200KB"), ("gqa-tied", "bf16", "300KB"),
        ("gqa-tied", "f32", "5GB"),
        ("flex-olmo-f32", "f32", "5GB"), ("flex-olmo-bf16", "bf16", "100KB"),
        ("qwen2-moe-f32", "bf16", "100KB"), ("qwen2-moe-bf16", "f32", "5GB"),
        ("qwen3-moe-f32", "f32", "200KB"), ("qwen3-moe-bf16", "bf16", "5GB"),
        ("mixtral-f32", "bf16", "5GB"), ("mixtral-bf16", "f32", "200KB"),
        ("granitemoe-f32", "f32", "200KB"), ("granitemoe-bf16", "bf16", "5GB"),
        ("phimoe-f32", "bf16", "100KB"), ("phimoe-bf16", "f32", "5GB")]
TORCH_DTYPE = {"bf16": torch.bfloat16, "f32": torch.float32}


class Failed(Exception):
    pass


def file_tensors(path):
    out = {}
    for name in sorted(os.listdir(path)):
        if name.endswith(".safetensors"):
            out.update(load_file(os.path.join(path, name)))
    return out


def kind(name, t):
    if name.endswith(".bias"):
        return "bias"
    if name.endswith("norm.weight"):
        return "norm"
    if "embed_tokens" in name:
        return "embed"
    if name.endswith(".weight") and t.dim() in (2, 3):
        return "normal"
    return "unknown"


def config_for(cfg_name, workdir):
    """Returns (path passed to --config, the config as a dict)."""
    if cfg_name in INLINE:
        path = os.path.join(workdir, cfg_name + ".json")
        with open(path, "w") as f:
            json.dump(INLINE[cfg_name], f)
    else:
        path = os.path.join(FIXTURES, cfg_name, "config.json")
    with open(path) as f:
        return path, json.load(f)


def hf_init(out):
    """HF's own init of the config moescope wrote, saved in HF's checkpoint layout."""
    hf_cfg = AutoConfig.from_pretrained(out)
    torch.manual_seed(1)
    hf = AutoModelForCausalLM.from_config(hf_cfg, dtype=torch.float32)
    with tempfile.TemporaryDirectory() as hf_dir:
        hf.save_pretrained(hf_dir)
        return type(hf).__name__, file_tensors(hf_dir)


def check(moescope, cfg_name, dtype, shard, workdir):
    label = f"{cfg_name}/{dtype}"
    cfg_path, cfg = config_for(cfg_name, workdir)
    out = os.path.join(workdir, f"{cfg_name}-{dtype}")
    cmd = moescope + ["weights", "init", "--config", cfg_path, "--out", out, "--seed", "42", "--dtype", dtype,
                      "--max-shard-size", shard]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise Failed(f"{label}: `{shlex.join(cmd)}` exited {r.returncode}: {r.stderr.strip()[-2000:]}")
    shards = [n for n in os.listdir(out) if n.endswith(".safetensors")]

    # 0. the config.json we wrote means to HF what the input config meant (apart from the dtype)
    with tempfile.TemporaryDirectory() as cfg_dir:
        with open(os.path.join(cfg_dir, "config.json"), "w") as f:
            json.dump(cfg, f)
        given = AutoConfig.from_pretrained(cfg_dir).to_dict()
    written = AutoConfig.from_pretrained(out).to_dict()
    ignore = {"dtype", "torch_dtype", "transformers_version", "architectures", "_name_or_path"}
    diff = sorted(k for k in set(given) | set(written) if k not in ignore and given.get(k) != written.get(k))
    if diff:
        raise Failed(f"{label}: written config.json differs for HF from the input: "
                     + ", ".join(f"{k}: {given.get(k)!r} -> {written.get(k)!r}" for k in diff))

    # 1. HF loads it: right class, no missing/unexpected/mismatched keys, parameters bit for bit
    # eager experts: torch's CPU grouped_mm rejects bf16 experts whose width is not a multiple of 8 (qwen2-moe's 12)
    model, info = AutoModelForCausalLM.from_pretrained(out, output_loading_info=True, experts_implementation="eager")
    if model.config.model_type != cfg["model_type"]:
        raise Failed(f"{label}: HF loaded model_type {model.config.model_type}, config says {cfg['model_type']}")
    for key in ("missing_keys", "unexpected_keys", "mismatched_keys", "error_msgs"):
        if info.get(key):
            raise Failed(f"{label}: HF {key}: {sorted(info[key])}")
    torch_dtype = TORCH_DTYPE[dtype]
    tensors = file_tensors(out)
    for name, t in tensors.items():
        if t.dtype != torch_dtype:
            raise Failed(f"{label}: {name}: dtype {t.dtype}, expected {torch_dtype}")
    # transformers 5 fuses experts in memory; compare through its own saved layout instead of names
    with tempfile.TemporaryDirectory() as resaved:
        model.save_pretrained(resaved)
        reloaded = file_tensors(resaved)
    tied = {"lm_head.weight"} if model.config.tie_word_embeddings else set()
    if set(reloaded) - tied != set(tensors) - tied:
        raise Failed(f"{label}: HF's saved tensor names differ from ours: "
                     f"only HF {sorted(set(reloaded) - set(tensors) - tied)[:6]}, "
                     f"only ours {sorted(set(tensors) - set(reloaded) - tied)[:6]}")
    changed = [n for n, t in tensors.items() if n in reloaded and not torch.equal(reloaded[n].to(t.dtype), t)]
    if changed:
        raise Failed(f"{label}: changed between our file and HF's loaded model: {changed[:6]}")

    # 2. forward pass
    torch.manual_seed(0)
    vocab = model.config.vocab_size
    ids = torch.randint(0, vocab, (2, 12))
    with torch.no_grad():
        logits = model(input_ids=ids).logits
    if tuple(logits.shape) != (2, 12, vocab) or not torch.isfinite(logits.float()).all():
        raise Failed(f"{label}: bad logits {tuple(logits.shape)}")

    # 3. statistics against HF's own init of the same config
    hf_class, hf_tensors = hf_init(out)
    if set(hf_tensors) - tied != set(tensors) - tied:
        raise Failed(f"{label}: {hf_class}'s own init saves other names: only HF "
                     f"{sorted(set(hf_tensors) - set(tensors) - tied)[:6]}, only ours "
                     f"{sorted(set(tensors) - set(hf_tensors) - tied)[:6]}")
    std = cfg.get("initializer_range", 0.02)
    pad = cfg.get("pad_token_id")
    problems = []
    kinds = {}
    for name, t in tensors.items():
        ours = t.float()
        theirs = hf_tensors[name].float()
        if ours.shape != theirs.shape:
            problems.append(f"{name}: shape ours {tuple(ours.shape)}, HF {tuple(theirs.shape)}")
            continue
        k = kind(name, ours)
        kinds[k] = kinds.get(k, 0) + 1
        if k == "unknown":
            problems.append(f"{name}: {tuple(ours.shape)} is of no known kind (no init rule to check)")
            continue
        if k in ("norm", "bias"):
            want = 1.0 if k == "norm" else 0.0
            for who, v in (("ours", ours), ("HF", theirs)):
                if not torch.all(v == want):
                    problems.append(f"{name}: {k} must be all {want:g}; {who}: mean {v.mean().item():.5f}, "
                                    f"std {v.std().item():.5f}, first values {v.flatten()[:3].tolist()}")
            continue
        if k == "embed" and pad is not None:
            for who, v in (("ours", ours), ("HF", theirs)):
                if not torch.all(v[pad] == 0):
                    problems.append(f"{name}: padding row {pad} must be zero ({who})")
            ours = torch.cat([ours[:pad], ours[pad + 1:]])
            theirs = torch.cat([theirs[:pad], theirs[pad + 1:]])
        n = ours.numel()
        tol = 6 * std / math.sqrt(2 * n) + 0.01 * std  # sampling error of a std estimate + bf16 rounding
        for who, v in (("ours", ours), ("HF", theirs)):
            if abs(v.std().item() - std) > tol:
                problems.append(f"{name}: std {who} {v.std().item():.5f}, expected {std} ± {tol:.5f} "
                                f"(ours {ours.std().item():.5f}, HF {theirs.std().item():.5f})")
        if abs(ours.mean().item()) > 6 * std / math.sqrt(n):
            problems.append(f"{name}: mean ours {ours.mean().item()} is not ~0")
    if problems:
        raise Failed(f"{label}: {len(problems)} tensor(s) differ from HF's init ({hf_class}):\n    "
                     + "\n    ".join(problems))
    counts = ", ".join(f"{v} {k}" for k, v in sorted(kinds.items()))
    print(f"ok  {label:20s} {type(model).__name__:22s} {len(shards)} shard(s), "
          f"{sum(t.numel() for t in tensors.values()):,} params ({counts}), logits finite, matches HF's init",
          flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--moescope", default=shlex.quote(os.path.join(REPO, "moescope")),
                    help="command running the CLI, split like a shell line (default: the repo's ./moescope)")
    ap.add_argument("--keep", help="write the checkpoints here instead of a temporary directory")
    ap.add_argument("--only", nargs="+", help="run only these configs (INLINE names or fixture directories)")
    args = ap.parse_args()
    moescope = shlex.split(args.moescope)
    runs = [r for r in RUNS if not args.only or r[0] in args.only]
    torch.set_num_threads(1)
    failed = []

    def run_all(work):
        for run in runs:
            try:
                check(moescope, *run, work)
            except Exception as e:  # Failed, or HF/the CLI raising: report it and go on with the other runs
                print("FAIL:", e if isinstance(e, Failed) else f"{run[0]}/{run[1]}: {type(e).__name__}: {e}",
                      flush=True)
                failed.append(f"{run[0]}/{run[1]}")

    if args.keep:
        os.makedirs(args.keep, exist_ok=True)
        run_all(args.keep)
    else:
        with tempfile.TemporaryDirectory() as work:
            run_all(work)
    if failed:
        print(f"{len(failed)} of {len(runs)} runs failed: {', '.join(failed)}")
        sys.exit(1)
    print(f"all {len(runs)} runs passed")


if __name__ == "__main__":
    main()
