"""Builds the tiny random OLMoE checkpoints under fixtures/models/ with HF transformers' own
OlmoeForCausalLM and saves golden outputs for the Java engine's tests.

    python3 tools/reference/make_fixtures.py

Deterministic: every random draw comes from a torch.Generator seeded per fixture, torch runs on one
CPU thread with deterministic algorithms, and JSON is written with sorted keys. Rerunning rewrites
byte-identical files (checked in README.md).

Every golden is cross-checked against olmoe_numpy.py, an independent float64 re-implementation of
the forward pass that reads the saved files with its own safetensors parser; the script also proves
that typical wiring mistakes (per-head q/k norm, interleaved RoPE, wrong GQA mapping, ...) move the
logits well beyond the test tolerance.
"""

import json
import os
import shutil
import sys

import numpy as np
import safetensors
import torch
import transformers
from safetensors.torch import save_file
from transformers import OlmoeConfig, OlmoeForCausalLM

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import olmoe_numpy as ref  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
MODELS = os.path.join(REPO, "fixtures", "models")
SAMPLES = os.path.join(REPO, "fixtures", "samples")

HIDDEN, INTER, EXPERTS, MAX_POS = 64, 32, 8, 128
BATCH, PROMPT_LEN, NEW_TOKENS = 2, 8, 10
INIT_STD = 0.2  # 10x HF's 0.02 so that every sub-block visibly moves the logits
EMBED_STD = 0.5
NORM_RANGE = (0.6, 1.4)  # RMSNorm weights uniform around 1, never all-ones
TOL = 1e-4

FIXTURES = [
    dict(
        name="tiny-f32",
        description="F32, MHA (4 q / 4 kv heads), top-2 of 8, norm_topk_prob false, clip_qkv null, "
        "rope_theta 10000, untied lm_head, single model.safetensors, 5.x-style config",
        seed=1001, vocab=192, layers=3, heads=4, kv_heads=4, top_k=2, norm_topk=False, clip=None,
        theta=10000.0, tie=False, dtype=torch.float32, max_shard_size=None, style="5.x",
        seq_len=16, eos=None,
    ),
    dict(
        name="tiny-gqa-f32",
        description="F32, GQA (4 q / 2 kv heads), top-3 of 8, norm_topk_prob true, clip_qkv 2.0 (clamps "
        "q, k and v), rope_theta 500, tied embeddings (no lm_head.weight stored), sharded, 5.x-style config",
        seed=2002, vocab=256, layers=2, heads=4, kv_heads=2, top_k=3, norm_topk=True, clip=2.0,
        theta=500.0, tie=True, dtype=torch.float32, max_shard_size="200KB", style="5.x",
        seq_len=20, eos=None,
    ),
    dict(
        name="tiny-bf16",
        description="tiny-f32's architecture with BF16 weights; config.json in transformers 4.x style "
        "(flat rope_theta, torch_dtype, rope_scaling null, no rms_norm_eps: the real OLMoE-0924 field set)",
        seed=3003, vocab=192, layers=3, heads=4, kv_heads=4, top_k=2, norm_topk=False, clip=None,
        theta=10000.0, tie=False, dtype=torch.bfloat16, max_shard_size=None, style="4.x",
        seq_len=14, eos=191,
    ),
]

# Each variant mis-wires one thing in the numpy reference; all must move the logits by > 1e-2.
VARIANTS_ALL = ["qk_norm_per_head", "no_qk_norm", "rope_interleaved", "unit_norm_weights", "flip_norm_topk"]
VARIANTS_GQA = ["gqa_modulo", "no_clip", "clip_after_rope", "theta_10000"]


def hf_config(spec):
    return OlmoeConfig(
        vocab_size=spec["vocab"], hidden_size=HIDDEN, intermediate_size=INTER,
        num_hidden_layers=spec["layers"], num_attention_heads=spec["heads"],
        num_key_value_heads=spec["kv_heads"], num_experts=EXPERTS, num_experts_per_tok=spec["top_k"],
        norm_topk_prob=spec["norm_topk"], clip_qkv=spec["clip"], max_position_embeddings=MAX_POS,
        rope_parameters={"rope_theta": spec["theta"], "rope_type": "default"},
        tie_word_embeddings=spec["tie"], initializer_range=INIT_STD, rms_norm_eps=1e-5,
        eos_token_id=spec["eos"], pad_token_id=1, bos_token_id=None,
    )


def randomise(model, seed):
    """Overwrites every parameter from a seeded generator (named_parameters skips the tied lm_head)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "embed_tokens" in name:
                p.copy_(torch.randn(p.shape, generator=gen) * EMBED_STD)
            elif name.endswith("norm.weight"):
                lo, hi = NORM_RANGE
                p.copy_(lo + (hi - lo) * torch.rand(p.shape, generator=gen))
            else:  # q/k/v/o, router gate, fused experts gate_up_proj [E,2I,H] and down_proj [E,H,I], lm_head
                p.copy_(torch.randn(p.shape, generator=gen) * INIT_STD)


def write_4x_config(out_dir, spec):
    """Rewrites config.json with the field set of the real OLMoE-1B-7B-0924 hub file (4.x style)."""
    path = os.path.join(out_dir, "config.json")
    with open(path) as f:
        c = json.load(f)
    keep = ["architectures", "attention_bias", "attention_dropout", "clip_qkv", "eos_token_id", "hidden_act",
            "hidden_size", "initializer_range", "intermediate_size", "max_position_embeddings", "model_type",
            "norm_topk_prob", "num_attention_heads", "num_experts", "num_experts_per_tok", "num_hidden_layers",
            "num_key_value_heads", "output_router_logits", "pad_token_id", "router_aux_loss_coef",
            "tie_word_embeddings", "use_cache", "vocab_size"]
    old = {k: c[k] for k in keep}
    old["rope_theta"] = c["rope_parameters"]["rope_theta"]
    old["rope_scaling"] = None
    old["torch_dtype"] = c["dtype"]
    old["transformers_version"] = "4.43.0.dev0"  # as in the real hub file; written by hand here
    with open(path, "w") as f:
        json.dump(old, f, indent=2, sort_keys=True)
        f.write("\n")


def load_hf(out_dir, dtype, impl="eager"):
    kw = {} if impl == "default" else dict(attn_implementation="eager", experts_implementation="eager")
    m = OlmoeForCausalLM.from_pretrained(out_dir, dtype=dtype, **kw)
    return m.eval()


@torch.no_grad()
def hf_goldens(m, ids):
    """Batched forward (no padding) with hooks on each layer's mlp (input) and mlp.gate (outputs)."""
    moe_in, gate_out, handles = [], [], []
    for layer in m.model.layers:
        handles.append(layer.mlp.register_forward_hook(lambda mod, args, out: moe_in.append(args[0].clone())))
        handles.append(layer.mlp.gate.register_forward_hook(
            lambda mod, args, out: gate_out.append(tuple(t.clone() for t in out))))
    out = m(input_ids=ids, output_router_logits=True)
    for h in handles:
        h.remove()
    B, S = ids.shape
    L = len(m.model.layers)
    assert len(moe_in) == L and len(gate_out) == L
    router = torch.stack([r.reshape(B, S, -1) for r in out.router_logits], dim=2)  # [B,S,L,E]
    hook_router = torch.stack([g[0].reshape(B, S, -1) for g in gate_out], dim=2)
    assert torch.equal(router, hook_router), "output_router_logits differs from mlp.gate's own logits"
    k = gate_out[0][2].shape[-1]
    return {
        "logits": out.logits.float(),
        "router_logits": router.float(),
        "topk_ids": torch.stack([g[2].reshape(B, S, k) for g in gate_out], dim=2).to(torch.int32),
        "topk_weights": torch.stack([g[1].reshape(B, S, k) for g in gate_out], dim=2).float(),
        "hidden_in_moe": torch.stack([h.reshape(B, S, -1) for h in moe_in], dim=2).float(),
    }


@torch.no_grad()
def hf_greedy(m, prompts, eos):
    gen = m.generate(input_ids=prompts, attention_mask=torch.ones_like(prompts), do_sample=False, num_beams=1,
                     max_new_tokens=NEW_TOKENS, min_new_tokens=NEW_TOKENS if eos is not None else None,
                     eos_token_id=eos, pad_token_id=1)
    assert gen.shape == (prompts.shape[0], PROMPT_LEN + NEW_TOKENS), gen.shape
    return gen[:, PROMPT_LEN:].to(torch.int32)


@torch.no_grad()
def hf_loss(m, ids):
    # labels -> HF's ForCausalLMLoss (shift by one, mean). output_router_logits stays off: with it on,
    # HF adds router_aux_loss_coef * aux_loss into .loss.
    return torch.stack([m(input_ids=ids[b : b + 1], labels=ids[b : b + 1]).loss for b in range(ids.shape[0])]).float()


def fmt(x):
    return f"{x:.3g}"


def make_fixture(spec):
    name = spec["name"]
    out_dir = os.path.join(MODELS, name)
    shutil.rmtree(out_dir, ignore_errors=True)
    torch.manual_seed(spec["seed"])
    config = hf_config(spec)
    model = OlmoeForCausalLM(config)
    randomise(model, spec["seed"])
    model = model.to(spec["dtype"])
    save_kw = {"max_shard_size": spec["max_shard_size"]} if spec["max_shard_size"] else {}
    model.save_pretrained(out_dir, **save_kw)
    if spec["style"] == "4.x":
        write_4x_config(out_dir, spec)
    files = sorted(f for f in os.listdir(out_dir) if f.endswith(".safetensors") or f.endswith(".json"))
    stored = sorted(f for f in files if f.endswith(".safetensors"))
    if spec["max_shard_size"]:
        assert len(stored) >= 2 and "model.safetensors.index.json" in files, files
    else:
        assert stored == ["model.safetensors"], stored

    # The goldens come from what HF loads back from disk (bf16 weights widened to f32 exactly).
    m = load_hf(out_dir, torch.float32)
    sd = dict(model.state_dict())
    for pname, p in m.state_dict().items():
        assert torch.equal(p, sd[pname].float()), f"{pname} did not round-trip"
    tied = m.lm_head.weight.data_ptr() == m.model.embed_tokens.weight.data_ptr()
    assert tied == spec["tie"], f"tie_word_embeddings={spec['tie']} but HF tied={tied}"
    ckpt_names = set(ref.read_checkpoint(out_dir))
    assert ("lm_head.weight" in ckpt_names) == (not spec["tie"]), "lm_head.weight presence vs tie"

    gen = torch.Generator().manual_seed(spec["seed"] + 1)
    ids = torch.randint(0, spec["vocab"], (BATCH, spec["seq_len"]), generator=gen)
    gold = hf_goldens(m, ids)
    gold["input_ids"] = ids.to(torch.int32)
    gold["greedy_ids"] = hf_greedy(m, ids[:, :PROMPT_LEN].clone(), spec["eos"])
    gold["loss"] = hf_loss(m, ids)
    checks = {}

    # Batched vs one sequence at a time.
    single = torch.cat([hf_goldens(m, ids[b : b + 1])["logits"] for b in range(BATCH)])
    checks["batched_vs_single_logits_maxdiff"] = fmt((single - gold["logits"]).abs().max().item())
    # HF's default kernels (sdpa attention, grouped_mm experts) vs the eager ones used for the goldens.
    md = load_hf(out_dir, torch.float32, impl="default")
    checks["hf_default_impl"] = f"{md.config._attn_implementation}+{md.config._experts_implementation}"
    checks["hf_default_impl_vs_eager_logits_maxdiff"] = fmt(
        (hf_goldens(md, ids)["logits"] - gold["logits"]).abs().max().item())
    checks["f32_logits_absmax"] = fmt(gold["logits"].abs().max().item())
    # loss cross-check from the logits themselves
    lp = torch.log_softmax(gold["logits"].double(), -1)
    manual = -lp[:, :-1].gather(-1, ids[:, 1:, None]).squeeze(-1).mean(-1)
    assert (manual - gold["loss"].double()).abs().max() < 1e-5

    if spec["dtype"] == torch.bfloat16:
        mb = load_hf(out_dir, torch.bfloat16)
        gb = hf_goldens(mb, ids)
        gold["logits_bf16"] = gb["logits"]
        d = (gold["logits_bf16"] - gold["logits"]).abs()
        checks["bf16_vs_f32_logits_maxdiff"] = fmt(d.max().item())
        checks["bf16_vs_f32_logits_meandiff"] = fmt(d.mean().item())
        checks["bf16_topk_ids_agreement"] = fmt((gb["topk_ids"] == gold["topk_ids"]).double().mean().item())
        checks["bf16_argmax_agreement"] = fmt(
            (gold["logits_bf16"].argmax(-1) == gold["logits"].argmax(-1)).double().mean().item())
        checks["bf16_greedy_equal"] = bool(torch.equal(hf_greedy(mb, ids[:, :PROMPT_LEN].clone(), spec["eos"]),
                                                       gold["greedy_ids"]))

    # Router is not degenerate: every layer uses most experts and several different top-1 experts.
    tk = gold["topk_ids"]
    for l in range(spec["layers"]):
        used = torch.unique(tk[:, :, l, :]).numel()
        top1 = torch.unique(tk[:, :, l, 0]).numel()
        assert used >= 6 and top1 >= 3, f"{name} layer {l}: router degenerate (used {used}, top1 {top1})"
    checks["experts_used_per_layer"] = [int(torch.unique(tk[:, :, l, :]).numel()) for l in range(spec["layers"])]
    checks["distinct_top1_per_layer"] = [int(torch.unique(tk[:, :, l, 0]).numel()) for l in range(spec["layers"])]
    if spec["eos"] is not None:
        assert not (gold["greedy_ids"] == spec["eos"]).any(), "eos appears in the greedy continuation"

    save_file({k: v.contiguous() for k, v in gold.items()}, os.path.join(out_dir, "golden.safetensors"),
              metadata={"fixture": name})  # one key: safetensors writes metadata in hash order

    # Independent numpy float64 check of everything just written (reads the files back from disk).
    diffs = ref.verify(out_dir, TOL, PROMPT_LEN)
    checks["numpy_f64_reference_maxdiff"] = {k: fmt(v) for k, v in diffs.items()}
    cfg, w = ref.load(out_dir)
    stats = {}
    base = [ref.forward(cfg, w, ids[b].numpy(), stats=stats)["logits"] for b in range(BATCH)]
    if spec["clip"] is not None:
        frac = {k: float(np.mean(v)) for k, v in stats.items()}
        assert all(0.005 < f < 0.6 for f in frac.values()), f"clip_qkv does not clamp sensibly: {frac}"
        checks["clip_qkv_clamped_fraction"] = {k: fmt(v) for k, v in sorted(frac.items())}
    variants = VARIANTS_ALL + (VARIANTS_GQA if spec["kv_heads"] != spec["heads"] else [])
    moved = {}
    for v in variants:
        dv = max(float(np.max(np.abs(ref.forward(cfg, w, ids[b].numpy(), variant=[v])["logits"] - base[b])))
                 for b in range(BATCH))
        assert dv > 1e-2, f"{name}: wiring mistake {v} moves the logits only by {dv}"
        moved[v] = fmt(dv)
    checks["wiring_mistake_logits_maxdiff"] = moved

    # Margins: an engine with f32 rounding must not flip a routing or greedy decision.
    sp = torch.softmax(gold["router_logits"].double(), -1).sort(-1, descending=True).values[..., : spec["top_k"] + 1]
    router_margin = (sp[..., :-1] - sp[..., 1:]).min().item()
    greedy_margin = float("inf")
    for b in range(BATCH):
        full = np.concatenate([ids[b, :PROMPT_LEN].numpy(), gold["greedy_ids"][b].numpy()])
        lg = ref.forward(cfg, w, full)["logits"][PROMPT_LEN - 1 : -1]
        top2 = np.sort(lg, -1)[:, -2:]
        greedy_margin = min(greedy_margin, float(np.min(top2[:, 1] - top2[:, 0])))
    assert router_margin > 1e-4 and greedy_margin > 1e-3, (router_margin, greedy_margin)
    checks["min_router_prob_gap_within_top_k_plus_1"] = fmt(router_margin)
    checks["min_greedy_top1_top2_logit_gap"] = fmt(greedy_margin)

    layouts = {
        "input_ids": ("I32", [BATCH, spec["seq_len"]], "[B, S] token ids; each row is one sequence, positions 0..S-1"),
        "logits": ("F32", [BATCH, spec["seq_len"], spec["vocab"]], "[B, S, V] lm_head output, f32 compute"),
        "router_logits": ("F32", [BATCH, spec["seq_len"], spec["layers"], EXPERTS],
                          "[B, S, L, E] pre-softmax router (mlp.gate) logits"),
        "topk_ids": ("I32", [BATCH, spec["seq_len"], spec["layers"], spec["top_k"]],
                     "[B, S, L, k] experts chosen by HF's router: torch.topk of the fp32 softmax, descending probability"),
        "topk_weights": ("F32", [BATCH, spec["seq_len"], spec["layers"], spec["top_k"]],
                         "[B, S, L, k] weights applied to those experts (softmax probs; renormalised over k iff norm_topk_prob)"),
        "hidden_in_moe": ("F32", [BATCH, spec["seq_len"], spec["layers"], HIDDEN],
                          "[B, S, L, H] input of each layer's MoE block (after post_attention_layernorm; what the router reads)"),
        "greedy_ids": ("I32", [BATCH, NEW_TOKENS],
                       f"[B, G] greedy new tokens after each sequence's first {PROMPT_LEN} input_ids (prompt not included)"),
        "loss": ("F32", [BATCH], "[B] per sequence mean next-token NLL (natural log) over positions 1..S-1"),
    }
    if "logits_bf16" in gold:
        layouts["logits_bf16"] = ("F32", [BATCH, spec["seq_len"], spec["vocab"]],
                                  "[B, S, V] logits of HF running fully in bf16 (bf16 weights and activations), widened to f32")
    for k, (dt, shape, _) in layouts.items():
        t = gold[k]
        assert list(t.shape) == shape and {"I32": torch.int32, "F32": torch.float32}[dt] == t.dtype, (k, t.shape, t.dtype)
    meta = {
        "fixture": name,
        "description": spec["description"],
        "generated_by": "tools/reference/make_fixtures.py",
        "versions": {"transformers": transformers.__version__, "torch": torch.__version__,
                     "safetensors": safetensors.__version__, "numpy": np.__version__},
        "seed": spec["seed"],
        "weights": {"dtype": str(spec["dtype"]).replace("torch.", ""), "files": stored,
                    "tie_word_embeddings": spec["tie"], "config_style": spec["style"],
                    "init": f"linear/router/experts N(0,{INIT_STD}), embed N(0,{EMBED_STD}), "
                            f"RMSNorm weights U{NORM_RANGE}"},
        "hf_settings": {"class": "OlmoeForCausalLM", "attn_implementation": "eager",
                        "experts_implementation": "eager", "compute_dtype": "float32", "mode": "eval",
                        "batched": "both sequences in one batch, no padding, no attention_mask"},
        "tensors": {k: {"dtype": dt, "shape": shape, "layout": lay} for k, (dt, shape, lay) in layouts.items()},
        "sequences": ids.tolist(),
        "greedy": {"prompt_len": PROMPT_LEN, "new_tokens": NEW_TOKENS, "eos_token_id": spec["eos"],
                   "how": "model.generate(do_sample=False, num_beams=1, KV cache on); "
                          + ("eos_token_id null: no EOS stopping" if spec["eos"] is None else
                             f"eos_token_id {spec['eos']} never appears in the continuation, so no early stop")},
        "loss_note": "HF labels=input_ids loss, one sequence at a time, output_router_logits off (aux loss not included)",
        "tolerance_note": f"numpy float64 re-implementation matches every f32 golden within {TOL}",
        "checks": checks,
    }
    with open(os.path.join(out_dir, "golden.json"), "w") as f:
        json.dump(meta, f, indent=2, sort_keys=True)
        f.write("\n")
    size = sum(os.path.getsize(os.path.join(out_dir, f)) for f in os.listdir(out_dir))
    assert size < 1.5e6, f"{name} is {size} bytes"
    print(f"{name}: {size} bytes; numpy maxdiff {checks['numpy_f64_reference_maxdiff']}")
    return spec


def make_samples():
    """Six samples for the bundled demo trace of tiny-f32 (route-format input JSONL)."""
    gen = torch.Generator().manual_seed(4004)
    vocab = FIXTURES[0]["vocab"]
    lengths = [5, 16, 9, 12, 7, 14]
    samples = [torch.randint(0, vocab, (n,), generator=gen).tolist() for n in lengths]
    # The demo trace's routing must not hinge on f32 rounding either.
    cfg, w = ref.load(os.path.join(MODELS, FIXTURES[0]["name"]))
    k = cfg.top_k
    gap = min(float(np.min(-np.diff(np.sort(ref.softmax(ref.forward(cfg, w, ids)["router_logits"]), -1)[..., ::-1][..., : k + 1], axis=-1)))
              for ids in samples)
    assert gap > 1e-5, gap
    os.makedirs(SAMPLES, exist_ok=True)
    with open(os.path.join(SAMPLES, "tiny.jsonl"), "w") as f:
        for i, ids in enumerate(samples):
            f.write(json.dumps({"id": f"s{i}", "group": "a" if i < 3 else "b", "ids": ids}) + "\n")
    print(f"samples/tiny.jsonl: {len(samples)} samples, min router prob gap {gap:.3g}")


def main():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    transformers.logging.set_verbosity_error()
    os.makedirs(MODELS, exist_ok=True)
    for spec in FIXTURES:
        make_fixture(spec)
    make_samples()


if __name__ == "__main__":
    main()
