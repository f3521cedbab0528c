"""Independent OLMoE reference: reads a checkpoint directory with a hand-written safetensors
parser and runs the forward pass in float64 numpy (no transformers import).

The forward pass, as HF transformers' OLMoE model computes it (T tokens, hidden size H, nh query
heads and nkv key/value heads of width d = H / nh, E experts of which k are used):

    x = embed_tokens[ids]                      no scaling, no positional embedding
    per layer:
        h = RMSNorm_in(x)
        q, k, v = q_proj(h), k_proj(h), v_proj(h)      no biases
        q = RMSNorm_q(q); k = RMSNorm_k(k)     over the whole projection (nh*d, nkv*d wide),
                                               before the split into heads
        if clip_qkv: clamp q, k and v to [-clip_qkv, clip_qkv]      after the norms, before RoPE
        q, k = RoPE(q), RoPE(k)                "rotate_half" layout: dimension i pairs with i + d/2,
                                               inv_freq[i] = theta^(-2i/d), positions from 0
        query head j reads key/value head j // (nh / nkv)
        x = x + o_proj(softmax(q kT / sqrt(d) + causal mask) v)
        h = RMSNorm_post(x)
        p = softmax(h W_gateT) over all E experts
        keep the k largest p; divide them by their sum only if norm_topk_prob
        x = x + sum over kept experts e of p_e * down_e(silu(gate_e(h)) * up_e(h))
    logits = RMSNorm_final(x) lm_headT         lm_head = embed_tokens when the embeddings are tied

    RMSNorm(x) = w * x / sqrt(mean(x^2) + rms_norm_eps), the mean over the last dimension.

Used by make_fixtures.py to cross-check HF's goldens, and runnable on its own to re-verify the
committed fixtures against their golden.safetensors:

    python3 tools/reference/olmoe_numpy.py [fixtures/models]

The `variant` switches deliberately mis-wire one thing each (per-head q/k norm, interleaved RoPE,
...) so the fixture script can prove that such a mistake moves the logits.
"""

import json
import math
import os
import struct
import sys

import numpy as np


# ---------------------------------------------------------------------------------------------
# checkpoint reading


def read_safetensors(path):
    """Returns {name: float64 array}. Accepts F32, BF16 (widened by a 16-bit shift), F16, I32, I64."""
    with open(path, "rb") as f:
        data = f.read()
    (header_len,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + header_len].decode("utf-8"))
    body = data[8 + header_len :]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        raw = body[start:end]
        dtype = info["dtype"]
        if dtype == "F32":
            arr = np.frombuffer(raw, dtype="<f4")
        elif dtype == "BF16":
            arr = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        elif dtype == "F16":
            arr = np.frombuffer(raw, dtype="<f2")
        elif dtype == "I32":
            arr = np.frombuffer(raw, dtype="<i4")
        elif dtype == "I64":
            arr = np.frombuffer(raw, dtype="<i8")
        else:
            raise ValueError(f"{path}: unsupported dtype {dtype} for {name}")
        arr = arr.reshape(info["shape"])
        out[name] = arr.astype(np.float64) if arr.dtype.kind == "f" else arr.copy()
    return out


def read_checkpoint(model_dir):
    index = os.path.join(model_dir, "model.safetensors.index.json")
    if os.path.exists(index):
        with open(index) as f:
            weight_map = json.load(f)["weight_map"]
        tensors = {}
        for shard in sorted(set(weight_map.values())):
            tensors.update(read_safetensors(os.path.join(model_dir, shard)))
        missing = set(weight_map) - set(tensors)
        if missing:
            raise ValueError(f"index names tensors absent from shards: {sorted(missing)[:3]}")
        return tensors
    return read_safetensors(os.path.join(model_dir, "model.safetensors"))


class Config:
    """The fields the forward pass needs, accepting both 4.x (flat rope_theta, torch_dtype) and
    5.x (rope_parameters, dtype) spellings, with HF's class defaults for absent fields."""

    def __init__(self, d):
        self.vocab = d["vocab_size"]
        self.hidden = d["hidden_size"]
        self.inter = d.get("intermediate_size", 2048)
        self.layers = d["num_hidden_layers"]
        self.heads = d["num_attention_heads"]
        self.kv_heads = d.get("num_key_value_heads") or self.heads
        self.head_dim = self.hidden // self.heads
        self.experts = d["num_experts"]
        self.top_k = d["num_experts_per_tok"]
        self.eps = d.get("rms_norm_eps", 1e-5)
        self.norm_topk = d.get("norm_topk_prob", False)
        self.clip = d.get("clip_qkv")
        self.tie = d.get("tie_word_embeddings", False)
        rope = d.get("rope_parameters") or {}
        self.theta = rope.get("rope_theta", d.get("rope_theta", 10000.0))
        rope_type = rope.get("rope_type", (d.get("rope_scaling") or {}).get("rope_type", "default"))
        if rope_type != "default":
            raise ValueError(f"rope_type {rope_type} not supported by the reference")


def load(model_dir):
    with open(os.path.join(model_dir, "config.json")) as f:
        cfg = Config(json.load(f))
    return cfg, read_checkpoint(model_dir)


# ---------------------------------------------------------------------------------------------
# forward pass


def rms_norm(x, w, eps, unit_weight=False):
    y = x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps)
    return y if unit_weight else y * w


def softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def silu(x):
    return x / (1.0 + np.exp(-x))


def rope(x, pos, theta, interleaved=False):
    """x: [T, heads, d]. NeoX/rotate_half convention unless interleaved (the GPT-J mistake)."""
    d = x.shape[-1]
    inv = theta ** (-np.arange(0, d, 2, dtype=np.float64) / d)  # (d/2,)
    ang = pos[:, None] * inv[None, :]  # (T, d/2)
    cos, sin = np.cos(ang)[:, None, :], np.sin(ang)[:, None, :]
    if interleaved:
        x1, x2 = x[..., 0::2], x[..., 1::2]
        out = np.empty_like(x)
        out[..., 0::2] = x1 * cos - x2 * sin
        out[..., 1::2] = x2 * cos + x1 * sin
        return out
    h = d // 2
    x1, x2 = x[..., :h], x[..., h:]
    return np.concatenate([x1 * cos - x2 * sin, x2 * cos + x1 * sin], axis=-1)


def forward(cfg, w, ids, variant=(), stats=None):
    """ids: 1-D int sequence, positions 0..T-1. Returns dict with logits [T,V],
    router_logits [T,L,E], topk_ids [T,L,k], topk_weights [T,L,k], hidden_in_moe [T,L,H]."""
    variant = set(variant)
    T = len(ids)
    nh, nkv, d = cfg.heads, cfg.kv_heads, cfg.head_dim
    group = nh // nkv
    pos = np.arange(T, dtype=np.float64)
    unit = "unit_norm_weights" in variant
    theta = 10000.0 if "theta_10000" in variant else cfg.theta
    x = w["model.embed_tokens.weight"][np.asarray(ids)]  # (T, H)
    router_logits, topk_ids, topk_w, moe_in = [], [], [], []
    for l in range(cfg.layers):
        p = f"model.layers.{l}."
        h = rms_norm(x, w[p + "input_layernorm.weight"], cfg.eps, unit)
        q = h @ w[p + "self_attn.q_proj.weight"].T  # (T, nh*d)
        k = h @ w[p + "self_attn.k_proj.weight"].T  # (T, nkv*d)
        v = h @ w[p + "self_attn.v_proj.weight"].T  # (T, nkv*d)
        if "qk_norm_per_head" in variant:  # Qwen3 style: normalise each head over d, weight slice per head
            q = rms_norm(q.reshape(T, nh, d), w[p + "self_attn.q_norm.weight"].reshape(nh, d), cfg.eps).reshape(T, -1)
            k = rms_norm(k.reshape(T, nkv, d), w[p + "self_attn.k_norm.weight"].reshape(nkv, d), cfg.eps).reshape(T, -1)
        elif "no_qk_norm" not in variant:
            q = rms_norm(q, w[p + "self_attn.q_norm.weight"], cfg.eps, unit)
            k = rms_norm(k, w[p + "self_attn.k_norm.weight"], cfg.eps, unit)
        clip = None if "no_clip" in variant else cfg.clip
        if stats is not None and cfg.clip is not None:
            for name, t in (("q", q), ("k", k), ("v", v)):
                stats.setdefault(f"clipped_{name}", []).append(float(np.mean(np.abs(t) > cfg.clip)))
        if clip is not None and "clip_after_rope" not in variant:
            q, k, v = (np.clip(t, -clip, clip) for t in (q, k, v))
        q = q.reshape(T, nh, d)
        k = k.reshape(T, nkv, d)
        v = v.reshape(T, nkv, d)
        q = rope(q, pos, theta, "rope_interleaved" in variant)
        k = rope(k, pos, theta, "rope_interleaved" in variant)
        if clip is not None and "clip_after_rope" in variant:
            q, k, v = (np.clip(t, -clip, clip) for t in (q, k, v))
        att = np.empty((T, nh, d))
        mask = np.triu(np.full((T, T), -np.inf), 1)
        for j in range(nh):
            kv = j % nkv if "gqa_modulo" in variant else j // group
            s = q[:, j, :] @ k[:, kv, :].T / math.sqrt(d) + mask
            att[:, j, :] = softmax(s) @ v[:, kv, :]
        x = x + att.reshape(T, nh * d) @ w[p + "self_attn.o_proj.weight"].T
        h = rms_norm(x, w[p + "post_attention_layernorm.weight"], cfg.eps, unit)
        moe_in.append(h)
        rl = h @ w[p + "mlp.gate.weight"].T  # (T, E)
        probs = softmax(rl)
        # descending probability, ties to the lower expert id (stable sort on -p)
        order = np.argsort(-probs, axis=-1, kind="stable")[:, : cfg.top_k]
        tw = np.take_along_axis(probs, order, axis=-1)
        renorm = cfg.norm_topk != ("flip_norm_topk" in variant)
        if renorm:
            tw = tw / tw.sum(axis=-1, keepdims=True)
        y = np.zeros_like(x)
        for t in range(T):
            for slot in range(cfg.top_k):
                e = order[t, slot]
                ep = p + f"mlp.experts.{e}."
                g = w[ep + "gate_proj.weight"] @ h[t]
                u = w[ep + "up_proj.weight"] @ h[t]
                y[t] += tw[t, slot] * (w[ep + "down_proj.weight"] @ (silu(g) * u))
        x = x + y
        router_logits.append(rl)
        topk_ids.append(order)
        topk_w.append(tw)
    x = rms_norm(x, w["model.norm.weight"], cfg.eps, unit)
    head = w["model.embed_tokens.weight"] if cfg.tie or "lm_head.weight" not in w else w["lm_head.weight"]
    if not cfg.tie and "lm_head.weight" not in w:
        raise ValueError("tie_word_embeddings is false but lm_head.weight is missing")
    logits = x @ head.T
    return {
        "logits": logits,
        "router_logits": np.stack(router_logits, axis=1),
        "topk_ids": np.stack(topk_ids, axis=1),
        "topk_weights": np.stack(topk_w, axis=1),
        "hidden_in_moe": np.stack(moe_in, axis=1),
    }


def greedy(cfg, w, prompt, n_new):
    """Greedy continuation by full recomputation (no KV cache), argmax ties to the lower id."""
    seq = list(prompt)
    for _ in range(n_new):
        seq.append(int(np.argmax(forward(cfg, w, seq)["logits"][-1])))
    return seq[len(prompt) :]


def nll(logits, ids):
    """Mean next-token NLL over positions 1..T-1 (natural log)."""
    lse = np.log(np.exp(logits - logits.max(-1, keepdims=True)).sum(-1)) + logits.max(-1)
    return float(np.mean(lse[:-1] - logits[np.arange(len(ids) - 1), ids[1:]]))


# ---------------------------------------------------------------------------------------------
# verification of a fixture directory against its golden.safetensors


def verify(model_dir, tol=1e-4, prompt_len=None):
    """Returns a dict of max abs differences; raises AssertionError on a mismatch."""
    cfg, w = load(model_dir)
    g = read_safetensors(os.path.join(model_dir, "golden.safetensors"))
    ids = g["input_ids"]
    if prompt_len is None:
        with open(os.path.join(model_dir, "golden.json")) as f:
            prompt_len = int(json.load(f)["greedy"]["prompt_len"])
    diffs = {"logits": 0.0, "router_logits": 0.0, "hidden_in_moe": 0.0, "topk_weights": 0.0, "loss": 0.0}
    for b in range(ids.shape[0]):
        r = forward(cfg, w, ids[b])
        for name in ("logits", "router_logits", "hidden_in_moe", "topk_weights"):
            diffs[name] = max(diffs[name], float(np.max(np.abs(r[name] - g[name][b]))))
        assert np.array_equal(r["topk_ids"], g["topk_ids"][b]), f"{model_dir}: topk_ids differ in sequence {b}"
        diffs["loss"] = max(diffs["loss"], abs(nll(r["logits"], ids[b]) - float(g["loss"][b])))
        gen = greedy(cfg, w, ids[b][:prompt_len], g["greedy_ids"].shape[1])
        assert gen == list(g["greedy_ids"][b]), f"{model_dir}: greedy differs in sequence {b}: {gen}"
    for name, dv in diffs.items():
        assert dv < tol, f"{model_dir}: {name} differs from numpy reference by {dv}"
    return diffs


if __name__ == "__main__":
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "models")
    for name in sorted(os.listdir(root)):
        path = os.path.join(root, name)
        if os.path.exists(os.path.join(path, "golden.safetensors")):
            print(name, {k: f"{v:.2e}" for k, v in verify(path).items()})
