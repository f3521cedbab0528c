"""Builds tiny random checkpoints of ten more MoE families under fixtures/models/ with HF transformers' own
classes (FlexOlmo, Qwen3-MoE, Qwen2-MoE, Mixtral, GraniteMoE, PhiMoE, GLM-4.5, DeepSeek-V2, DeepSeek-V3, gpt-oss) and saves golden outputs for the Java
engine's tests. The OLMoE fixtures come from make_fixtures.py, whose layout this script follows.

    python3 tools/reference/make_family_fixtures.py        # in a venv made from tools/requirements.txt (~10 s, CPU)
    python3 tools/reference/make_family_fixtures.py deepseek-v3-f32 gpt-oss-f32   # only the named fixtures

Two fixtures per family: `<family>-f32` (F32 weights, config.json exactly as save_pretrained writes it, 5.x
style) and `<family>-bf16` (BF16 weights, config.json rewritten to the field set of the family's flagship
hub config, 4.x style: flat rope_theta, torch_dtype, rope_scaling null). See fixtures/models/FAMILIES.md.

Deterministic: every random draw comes from a torch.Generator seeded per fixture, torch runs on one CPU
thread with deterministic algorithms, and JSON is written with sorted keys. Rerunning rewrites
byte-identical files.

Checks (asserted, recorded in golden.json "checks"): weights round-trip bit-exactly through from_pretrained,
the hub-style config loads to the same HF config, router hooks agree with output_router_logits, batched vs
single-sequence logits, HF default kernels vs eager, greedy generate (KV cache) vs full recomputation, no
routing or greedy decision near a tie, routers not degenerate, and every family feature is load-bearing:
changing it in HF moves the logits by > 1e-2 ("feature_sensitivity").
"""

import contextlib
import json
import math
import os
import shutil
import types

import numpy as np
import safetensors
import torch
import transformers
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from transformers import (
    AutoConfig,
    DeepseekV2Config,
    DeepseekV2ForCausalLM,
    DeepseekV3Config,
    DeepseekV3ForCausalLM,
    FlexOlmoConfig,
    FlexOlmoForCausalLM,
    Glm4MoeConfig,
    GptOssConfig,
    GptOssForCausalLM,
    Glm4MoeForCausalLM,
    GraniteMoeConfig,
    GraniteMoeForCausalLM,
    MixtralConfig,
    MixtralForCausalLM,
    PhimoeConfig,
    PhimoeForCausalLM,
    Qwen2MoeConfig,
    Qwen2MoeForCausalLM,
    Qwen3MoeConfig,
    Qwen3MoeForCausalLM,
)
from transformers.models.deepseek_v2 import modeling_deepseek_v2
from transformers.models.deepseek_v3 import modeling_deepseek_v3
from transformers.models.flex_olmo import modeling_flex_olmo
from transformers.models.glm4_moe import modeling_glm4_moe
from transformers.models.gpt_oss import modeling_gpt_oss
from transformers.models.granitemoe import modeling_granitemoe
from transformers.models.mixtral import modeling_mixtral
from transformers.models.phimoe import modeling_phimoe
from transformers.models.qwen2_moe import modeling_qwen2_moe
from transformers.models.qwen3_moe import modeling_qwen3_moe

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
MODELS = os.path.join(REPO, "fixtures", "models")

HIDDEN, EXPERTS, VOCAB, MAX_POS = 64, 8, 128, 128
BATCH, PROMPT_LEN, NEW_TOKENS = 2, 8, 10
INIT_STD = 0.2  # 10x HF's 0.02 so that every sub-block visibly moves the logits
EMBED_STD = 0.5
BIAS_STD = 0.2
NORM_RANGE = (0.6, 1.4)  # norm weights uniform around 1, never all-ones
ROUTER_GAP_MIN = 1e-4
GREEDY_GAP_MIN = 1e-3
SENSITIVITY_MIN = 1e-2
MAX_DIR_BYTES = 600_000

COMMON = dict(vocab_size=VOCAB, hidden_size=HIDDEN, max_position_embeddings=MAX_POS, initializer_range=INIT_STD,
              pad_token_id=1, bos_token_id=None, eos_token_id=None)


# ---------------------------------------------------------------------------------------------------------
# Families: HF classes, where the MoE block and its router live, how to read the router's output.
# ---------------------------------------------------------------------------------------------------------

def _unpack_lwi(out):  # (router_logits, weights, ids): flex_olmo, qwen3_moe, qwen2_moe, mixtral, phimoe, glm4_moe
    return out[0], out[1], out[2]


def _unpack_iwl(out):  # granitemoe: (ids, weights, logits)
    return out[2], out[1], out[0]


FAMILIES = {
    "flex_olmo": dict(cfg=FlexOlmoConfig, cls=FlexOlmoForCausalLM, mod=modeling_flex_olmo, block="mlp",
                      router="gate", unpack=_unpack_lwi, rule="softmax_topk",
                      router_doc="softmax over all experts (fp32), torch.topk; renormalised over k iff norm_topk_prob"),
    "qwen3_moe": dict(cfg=Qwen3MoeConfig, cls=Qwen3MoeForCausalLM, mod=modeling_qwen3_moe, block="mlp",
                      router="gate", unpack=_unpack_lwi, rule="softmax_topk",
                      router_doc="softmax over all experts (fp32), torch.topk; renormalised over k iff norm_topk_prob"),
    "qwen2_moe": dict(cfg=Qwen2MoeConfig, cls=Qwen2MoeForCausalLM, mod=modeling_qwen2_moe, block="mlp",
                      router="gate", unpack=_unpack_lwi, rule="softmax_topk",
                      router_doc="softmax over all experts (fp32), torch.topk; renormalised over k iff norm_topk_prob; "
                                 "plus shared expert * sigmoid(shared_expert_gate . h)"),
    "mixtral": dict(cfg=MixtralConfig, cls=MixtralForCausalLM, mod=modeling_mixtral, block="mlp",
                    router="gate", unpack=_unpack_lwi, rule="softmax_topk",
                    router_doc="softmax over all experts (fp32), torch.topk, always renormalised over k"),
    "granitemoe": dict(cfg=GraniteMoeConfig, cls=GraniteMoeForCausalLM, mod=modeling_granitemoe,
                       block="block_sparse_moe", router="router", unpack=_unpack_iwl, rule="topk_logits",
                       router_doc="torch.topk of the raw logits, then softmax over those k logits"),
    "phimoe": dict(cfg=PhimoeConfig, cls=PhimoeForCausalLM, mod=modeling_phimoe, block="mlp",
                   router="router", unpack=_unpack_lwi, rule="sparsemixer",
                   router_doc="sparsemixer (eval): top1 = argmax logit, weight = softmax over the experts with "
                              "(max - s) / max(|s|, max) <= 2*router_jitter_noise; top2 = argmax with top1 removed, "
                              "same masked softmax relative to the second max (top1 excluded)"),
    "glm4_moe": dict(cfg=Glm4MoeConfig, cls=Glm4MoeForCausalLM, mod=modeling_glm4_moe, block="mlp",
                     router="gate", unpack=_unpack_lwi, rule="sigmoid_grouped",
                     router_doc="DeepSeek-V3 rule: s = sigmoid(logits); choice = s + e_score_correction_bias; keep the "
                                "topk_group of n_group groups with the largest sum of their two best choices; top-k of "
                                "choice within them; weights = s at those experts, renormalised iff norm_topk_prob "
                                "(+1e-20), times routed_scaling_factor. HF's topk is unsorted: the goldens list the "
                                "experts by descending choice, the weights in the same order"),
    "deepseek_v2": dict(cfg=DeepseekV2Config, cls=DeepseekV2ForCausalLM, mod=modeling_deepseek_v2, block="mlp",
                        router="gate", unpack=_unpack_lwi, rule="softmax_grouped",
                        router_doc="DeepSeek-V2 rule: softmax over all experts (fp32); topk_method greedy: torch.topk; "
                                   "group_limited_greedy: keep the topk_group of n_group groups with the largest best "
                                   "probability (the others' probabilities set to 0), torch.topk; never renormalised; "
                                   "times routed_scaling_factor. HF's topk is unsorted: the goldens list the experts by "
                                   "descending probability, the weights in the same order"),
    "deepseek_v3": dict(cfg=DeepseekV3Config, cls=DeepseekV3ForCausalLM, mod=modeling_deepseek_v3, block="mlp",
                        router="gate", unpack=_unpack_lwi, rule="sigmoid_grouped",
                        router_doc="as glm4_moe: DeepSeek-V3's sigmoid rule with the choice-only "
                                   "e_score_correction_bias, experts listed by descending choice"),
    "gpt_oss": dict(cfg=GptOssConfig, cls=GptOssForCausalLM, mod=modeling_gpt_oss, block="mlp",
                    router="router", unpack=_unpack_lwi, rule="topk_logits",
                    router_doc="logits = router.weight . h + router.bias; torch.topk of the logits, then softmax over "
                               "those k logits"),
}


# ---------------------------------------------------------------------------------------------------------
# Hub-style (4.x) config rewrites: the field set of each family's flagship hub config.json.
# ---------------------------------------------------------------------------------------------------------

HUB_STYLE = {
    "flex_olmo": dict(
        flagship="allenai/FlexOlmo-7x7B-1T", version="4.54.0.dev0", architectures=None,
        keys=["architectures", "attention_bias", "attention_dropout", "bos_token_id", "eos_token_id", "hidden_act",
              "hidden_size", "initializer_range", "intermediate_size", "max_position_embeddings", "model_type",
              "norm_topk_prob", "num_attention_heads", "num_experts", "num_experts_per_tok", "num_hidden_layers",
              "num_key_value_heads", "output_router_logits", "pad_token_id", "rms_norm_eps", "router_aux_loss_coef",
              "tie_word_embeddings", "use_cache", "vocab_size"],
        extra={}),
    "qwen3_moe": dict(
        flagship="Qwen/Qwen3-30B-A3B", version="4.51.0", architectures=None,
        keys=["architectures", "attention_bias", "attention_dropout", "bos_token_id", "decoder_sparse_step",
              "eos_token_id", "head_dim", "hidden_act", "hidden_size", "initializer_range", "intermediate_size",
              "max_position_embeddings", "mlp_only_layers", "model_type", "moe_intermediate_size",
              "norm_topk_prob", "num_attention_heads", "num_experts_per_tok", "num_hidden_layers",
              "num_key_value_heads", "output_router_logits", "rms_norm_eps", "router_aux_loss_coef",
              "sliding_window", "tie_word_embeddings", "use_cache", "use_sliding_window", "vocab_size"],
        # the 5.x file says num_local_experts (attribute_map); the hub file says num_experts
        extra={"num_experts": "@num_local_experts", "max_window_layers": "@num_hidden_layers"}),
    "qwen2_moe": dict(
        flagship="Qwen/Qwen1.5-MoE-A2.7B", version="4.40.0.dev0", architectures=None,
        keys=["architectures", "attention_dropout", "bos_token_id", "decoder_sparse_step", "eos_token_id",
              "hidden_act", "hidden_size", "initializer_range", "intermediate_size", "max_position_embeddings",
              "max_window_layers", "mlp_only_layers", "model_type", "moe_intermediate_size", "norm_topk_prob",
              "num_attention_heads", "num_experts", "num_experts_per_tok", "num_hidden_layers",
              "num_key_value_heads", "output_router_logits", "rms_norm_eps", "router_aux_loss_coef",
              "shared_expert_intermediate_size", "tie_word_embeddings", "use_cache", "use_sliding_window",
              "vocab_size"],
        # no qkv_bias (4.x always had q/k/v biases), no layer_types; sliding_window given explicitly (see spec)
        extra={}),
    "mixtral": dict(
        flagship="mistralai/Mixtral-8x7B-v0.1", version="4.36.0.dev0", architectures=None,
        keys=["architectures", "attention_dropout", "bos_token_id", "eos_token_id", "hidden_act", "hidden_size",
              "initializer_range", "intermediate_size", "max_position_embeddings", "model_type",
              "num_attention_heads", "num_experts_per_tok", "num_hidden_layers", "num_key_value_heads",
              "num_local_experts", "output_router_logits", "rms_norm_eps", "router_aux_loss_coef",
              "router_jitter_noise", "sliding_window", "tie_word_embeddings", "use_cache", "vocab_size"],
        extra={}),
    "granitemoe": dict(
        flagship="ibm-granite/granite-3.0-1b-a400m-base", version="4.46.0.dev0", architectures=None,
        keys=["architectures", "attention_bias", "attention_dropout", "attention_multiplier", "bos_token_id",
              "embedding_multiplier", "eos_token_id", "hidden_act", "hidden_size", "initializer_range",
              "intermediate_size", "logits_scaling", "max_position_embeddings", "model_type", "num_attention_heads",
              "num_experts_per_tok", "num_hidden_layers", "num_key_value_heads", "num_local_experts",
              "output_router_logits", "pad_token_id", "residual_multiplier", "rms_norm_eps", "router_aux_loss_coef",
              "tie_word_embeddings", "use_cache", "vocab_size"],
        extra={}),
    "phimoe": dict(
        flagship="microsoft/Phi-3.5-MoE-instruct", version="4.43.3",
        architectures=["PhiMoEForCausalLM"],  # the hub file's (remote-code) spelling; HF's class is PhimoeForCausalLM
        keys=["architectures", "attention_bias", "attention_dropout", "bos_token_id", "eos_token_id", "hidden_act",
              "hidden_size", "initializer_range", "input_jitter_noise", "intermediate_size", "lm_head_bias",
              "max_position_embeddings", "model_type", "num_attention_heads", "num_experts_per_tok",
              "num_hidden_layers", "num_key_value_heads", "num_local_experts", "output_router_logits",
              "rms_norm_eps", "router_aux_loss_coef", "router_jitter_noise", "sliding_window", "tie_word_embeddings",
              "use_cache", "vocab_size"],
        extra={"hidden_dropout": 0.0, "original_max_position_embeddings": "@max_position_embeddings"}),
    "glm4_moe": dict(
        flagship="zai-org/GLM-4.5-Air", version="4.54.0", architectures=None,
        keys=["architectures", "attention_bias", "attention_dropout", "eos_token_id", "first_k_dense_replace",
              "head_dim", "hidden_act", "hidden_size", "initializer_range", "intermediate_size",
              "max_position_embeddings", "model_type", "moe_intermediate_size", "n_group", "n_routed_experts",
              "n_shared_experts", "norm_topk_prob", "num_attention_heads", "num_experts_per_tok", "num_hidden_layers",
              "num_key_value_heads", "num_nextn_predict_layers", "rms_norm_eps", "routed_scaling_factor",
              "tie_word_embeddings", "topk_group", "use_cache", "use_qk_norm", "vocab_size"],
        extra={"partial_rotary_factor": 0.5}),
    # The DeepSeek hub files carry fields HF 5.x does not read (their remote code did); config_view ignores them.
    "deepseek_v2": dict(
        flagship="deepseek-ai/DeepSeek-V2-Lite", version="4.33.1", architectures=["DeepseekV2ForCausalLM"],
        keys=["architectures", "attention_bias", "attention_dropout", "bos_token_id", "eos_token_id",
              "first_k_dense_replace", "hidden_act", "hidden_size", "initializer_range", "intermediate_size",
              "kv_lora_rank", "max_position_embeddings", "model_type", "moe_intermediate_size", "n_group",
              "n_routed_experts", "n_shared_experts", "norm_topk_prob", "num_attention_heads", "num_experts_per_tok",
              "num_hidden_layers", "num_key_value_heads", "pretraining_tp", "q_lora_rank", "qk_nope_head_dim",
              "qk_rope_head_dim", "rms_norm_eps", "routed_scaling_factor", "tie_word_embeddings", "topk_group",
              "topk_method", "use_cache", "v_head_dim", "vocab_size"],
        extra={"moe_layer_freq": 1, "scoring_func": "softmax", "aux_loss_alpha": 0.001, "seq_aux": True,
               "ep_size": 1}),
    "deepseek_v3": dict(
        flagship="deepseek-ai/DeepSeek-V3", version="4.33.1", architectures=["DeepseekV3ForCausalLM"],
        keys=["architectures", "attention_bias", "attention_dropout", "bos_token_id", "eos_token_id",
              "first_k_dense_replace", "hidden_act", "hidden_size", "initializer_range", "intermediate_size",
              "kv_lora_rank", "max_position_embeddings", "model_type", "moe_intermediate_size", "n_group",
              "n_routed_experts", "n_shared_experts", "norm_topk_prob", "num_attention_heads", "num_experts_per_tok",
              "num_hidden_layers", "num_key_value_heads", "num_nextn_predict_layers", "pretraining_tp",
              "q_lora_rank", "qk_nope_head_dim", "qk_rope_head_dim", "rms_norm_eps", "routed_scaling_factor",
              "tie_word_embeddings", "topk_group", "use_cache", "v_head_dim", "vocab_size"],
        extra={"moe_layer_freq": 1, "scoring_func": "sigmoid", "topk_method": "noaux_tc", "aux_loss_alpha": 0.001,
               "seq_aux": True, "ep_size": 1}),
    "gpt_oss": dict(
        flagship="openai/gpt-oss-20b", version="4.55.0.dev0", architectures=None,
        keys=["architectures", "attention_bias", "attention_dropout", "eos_token_id", "head_dim", "hidden_act",
              "hidden_size", "initializer_range", "intermediate_size", "layer_types", "max_position_embeddings",
              "model_type", "num_attention_heads", "num_experts_per_tok", "num_hidden_layers", "num_key_value_heads",
              "num_local_experts", "output_router_logits", "rms_norm_eps", "router_aux_loss_coef", "sliding_window",
              "tie_word_embeddings", "use_cache", "vocab_size"],
        # fields the hub file has and HF's class does not read
        extra={"experts_per_token": "@num_experts_per_tok", "swiglu_limit": 7.0,
               "initial_context_length": 16}),  # GPT_OSS_ROPE's original_max_position_embeddings
}

HUB_ONLY_FIELDS = ["moe_layer_freq", "scoring_func", "aux_loss_alpha", "seq_aux", "ep_size", "topk_method"]


# ---------------------------------------------------------------------------------------------------------
# The twelve fixtures.
# ---------------------------------------------------------------------------------------------------------

FIXTURES = [
    dict(name="flex-olmo-f32", family="flex_olmo", seed=5101, dtype=torch.float32, style="5.x", seq_len=16,
         layers=2, top_k=2, tie=False,
         config=dict(num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, intermediate_size=16,
                     num_experts=EXPERTS, num_experts_per_tok=2, norm_topk_prob=False, rms_norm_eps=1e-6),
         features=["post_norm_block", "qk_norm_whole_width", "gqa_4_2", "top2_of_8", "norm_topk_prob_false",
                   "rope_theta_500000"],
         description="FlexOlmo, F32: post-norm block (no input_layernorm; post_attention_layernorm on the attention "
                     "output, post_feedforward_layernorm on the MoE output), whole-width q/k RMSNorm, GQA 4/2, "
                     "top-2 of 8, norm_topk_prob false, rope_theta 500000 (class default), 5.x config"),
    dict(name="flex-olmo-bf16", family="flex_olmo", seed=5102, dtype=torch.bfloat16, style="4.x", seq_len=14,
         layers=2, top_k=2, tie=False,
         config=dict(num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, intermediate_size=16,
                     num_experts=EXPERTS, num_experts_per_tok=2, norm_topk_prob=False, rms_norm_eps=1e-6),
         features=["post_norm_block", "qk_norm_whole_width", "gqa_4_2", "top2_of_8", "norm_topk_prob_false",
                   "rope_theta_500000", "hub_style_config"],
         description="flex-olmo-f32's architecture with BF16 weights; hub-style (4.x) config"),
    dict(name="qwen3-moe-f32", family="qwen3_moe", seed=5201, dtype=torch.float32, style="5.x", seq_len=18,
         layers=3, top_k=3, tie=False,
         config=dict(num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=2, head_dim=24,
                     intermediate_size=40, moe_intermediate_size=16, num_experts=EXPERTS, num_experts_per_tok=3,
                     norm_topk_prob=True, attention_bias=True, mlp_only_layers=[1], decoder_sparse_step=1,
                     rms_norm_eps=1e-6, rope_parameters={"rope_type": "default", "rope_theta": 1000000.0}),
         features=["head_dim_24_ne_hidden_over_heads", "gqa_4_2", "qk_norm_per_head", "attention_bias_qkvo",
                   "moe_intermediate_ne_intermediate", "norm_topk_prob_true", "top3_of_8",
                   "mlp_only_layers_1_dense"],
         description="Qwen3-MoE, F32: head_dim 24 (4 heads x 24 = 96 != hidden 64), GQA 4/2, per-head q/k RMSNorm, "
                     "q/k/v/o biases (attention_bias true), moe_intermediate_size 16 vs dense intermediate_size 40, "
                     "norm_topk_prob true, top-3 of 8, mlp_only_layers [1] (layer 1 dense), 5.x config"),
    dict(name="qwen3-moe-bf16", family="qwen3_moe", seed=5202, dtype=torch.bfloat16, style="4.x", seq_len=15,
         layers=4, top_k=3, tie=False,
         config=dict(num_hidden_layers=4, num_attention_heads=4, num_key_value_heads=2, head_dim=24,
                     intermediate_size=40, moe_intermediate_size=16, num_experts=EXPERTS, num_experts_per_tok=3,
                     norm_topk_prob=True, attention_bias=False, mlp_only_layers=[], decoder_sparse_step=2,
                     rms_norm_eps=1e-6, rope_parameters={"rope_type": "default", "rope_theta": 1000000.0}),
         features=["head_dim_24_ne_hidden_over_heads", "gqa_4_2", "qk_norm_per_head",
                   "moe_intermediate_ne_intermediate", "norm_topk_prob_true", "top3_of_8",
                   "decoder_sparse_step_2", "hub_style_config"],
         description="Qwen3-MoE, BF16, 4 layers: decoder_sparse_step 2 (layers 1 and 3 MoE, 0 and 2 dense), no "
                     "attention bias, otherwise as qwen3-moe-f32; hub-style (4.x) config"),
    dict(name="qwen2-moe-f32", family="qwen2_moe", seed=5301, dtype=torch.float32, style="5.x", seq_len=20,
         layers=3, top_k=2, tie=False,
         config=dict(num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=4, intermediate_size=40,
                     moe_intermediate_size=12, shared_expert_intermediate_size=24, num_experts=EXPERTS,
                     num_experts_per_tok=2, norm_topk_prob=False, mlp_only_layers=[1], decoder_sparse_step=1,
                     use_sliding_window=True, sliding_window=5, max_window_layers=2, qkv_bias=True,
                     rms_norm_eps=1e-6, rope_parameters={"rope_type": "default", "rope_theta": 1000000.0}),
         features=["qkv_bias", "shared_expert_sigmoid_gate", "shared_ne_moe_intermediate", "mlp_only_layers_1_dense",
                   "norm_topk_prob_false", "top2_of_8", "sliding_window_5_layer0_only"],
         description="Qwen2-MoE, F32, MHA 4/4: q/k/v biases (no o bias), shared expert (24) with sigmoid gate next "
                     "to 8 routed experts (12), layer 1 dense (mlp_only_layers), norm_topk_prob false, top-2; "
                     "use_sliding_window true, sliding_window 5, max_window_layers 2 -> layer_types "
                     "[sliding, full, full] (HF: sliding iff layer index even and < max_window_layers), 5.x config"),
    dict(name="qwen2-moe-bf16", family="qwen2_moe", seed=7302, dtype=torch.bfloat16, style="4.x", seq_len=17,
         layers=3, top_k=2, tie=False, hub_sliding_window=4,
         config=dict(num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=4, intermediate_size=40,
                     moe_intermediate_size=12, shared_expert_intermediate_size=24, num_experts=EXPERTS,
                     num_experts_per_tok=2, norm_topk_prob=False, mlp_only_layers=[1], decoder_sparse_step=1,
                     use_sliding_window=False, max_window_layers=2, qkv_bias=True,
                     rms_norm_eps=1e-6, rope_parameters={"rope_type": "default", "rope_theta": 1000000.0}),
         features=["qkv_bias", "shared_expert_sigmoid_gate", "shared_ne_moe_intermediate", "mlp_only_layers_1_dense",
                   "norm_topk_prob_false", "top2_of_8", "use_sliding_window_false_with_sliding_window_4",
                   "hub_style_config"],
         description="qwen2-moe-f32's architecture with BF16 weights, no sliding window: the hub-style (4.x) config "
                     "says use_sliding_window false next to sliding_window 4 and max_window_layers 2 (the window "
                     "must be ignored), no qkv_bias key (biases implied)"),
    dict(name="mixtral-f32", family="mixtral", seed=5401, dtype=torch.float32, style="5.x", seq_len=18,
         layers=2, top_k=2, tie=False,
         config=dict(num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, intermediate_size=24,
                     num_local_experts=EXPERTS, num_experts_per_tok=2, sliding_window=6, rms_norm_eps=1e-5,
                     rope_parameters={"rope_type": "default", "rope_theta": 1000000.0}),
         features=["gqa_4_2", "top2_of_8", "always_renormalised", "sliding_window_6_all_layers"],
         description="Mixtral, F32: GQA 4/2, top-2 of 8 always renormalised, sliding_window 6 on every layer, "
                     "5.x config (head_dim null)"),
    dict(name="mixtral-bf16", family="mixtral", seed=6402, dtype=torch.bfloat16, style="4.x", seq_len=16,
         layers=2, top_k=2, tie=False,
         config=dict(num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, intermediate_size=24,
                     num_local_experts=EXPERTS, num_experts_per_tok=2, sliding_window=None, rms_norm_eps=1e-5,
                     rope_parameters={"rope_type": "default", "rope_theta": 1000000.0}),
         features=["gqa_4_2", "top2_of_8", "always_renormalised", "sliding_window_null", "hub_style_config"],
         description="mixtral-f32's architecture with BF16 weights and sliding_window null; hub-style (4.x) config"),
    dict(name="granitemoe-f32", family="granitemoe", seed=5501, dtype=torch.float32, style="5.x", seq_len=16,
         layers=2, top_k=2, tie=False,
         config=dict(num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, intermediate_size=16,
                     num_local_experts=EXPERTS, num_experts_per_tok=2, embedding_multiplier=6.0,
                     residual_multiplier=0.22, attention_multiplier=0.05, logits_scaling=3.0, tie_word_embeddings=False,
                     rms_norm_eps=1e-6, rope_parameters={"rope_type": "default", "rope_theta": 10000.0}),
         features=["embedding_multiplier_6", "residual_multiplier_0.22", "attention_multiplier_0.05",
                   "logits_scaling_3", "topk_then_softmax_router", "packed_experts", "gqa_4_2", "untied"],
         description="GraniteMoE, F32: embedding_multiplier 6, residual_multiplier 0.22, attention_multiplier 0.05 "
                     "(replaces 1/sqrt(head_dim)), logits divided by logits_scaling 3, top-k of the logits then "
                     "softmax over the k, packed experts input_linear [E,2I,H] (gate rows first, then up) / "
                     "output_linear [E,H,I], GQA 4/2, untied lm_head, 5.x config"),
    dict(name="granitemoe-bf16", family="granitemoe", seed=5502, dtype=torch.bfloat16, style="4.x", seq_len=15,
         layers=2, top_k=2, tie=True,
         config=dict(num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, intermediate_size=16,
                     num_local_experts=EXPERTS, num_experts_per_tok=2, embedding_multiplier=0.5,
                     residual_multiplier=2.0, attention_multiplier=0.0625, logits_scaling=4.0, tie_word_embeddings=True,
                     rms_norm_eps=1e-6, rope_parameters={"rope_type": "default", "rope_theta": 10000.0}),
         features=["embedding_multiplier_0.5", "residual_multiplier_2", "attention_multiplier_0.0625",
                   "logits_scaling_4", "topk_then_softmax_router", "packed_experts", "gqa_4_2", "tied",
                   "hub_style_config"],
         description="granitemoe-f32's architecture with BF16 weights, tied embeddings (no lm_head.weight stored) "
                     "and other multipliers: embedding 0.5, residual 2, attention 0.0625 (= 1/head_dim, as the "
                     "hub's 1/64), logits_scaling 4 (with a tied random lm_head and a large embedding_multiplier "
                     "greedy decoding only repeats the last prompt token); hub-style (4.x) config"),
    dict(name="phimoe-f32", family="phimoe", seed=5601, dtype=torch.float32, style="5.x", seq_len=16,
         layers=2, top_k=2, tie=False,
         config=dict(num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, intermediate_size=16,
                     num_local_experts=EXPERTS, num_experts_per_tok=2, attention_bias=True, lm_head_bias=True,
                     router_jitter_noise=0.01, input_jitter_noise=0.0, sliding_window=None, rms_norm_eps=1e-5,
                     rope_parameters={"rope_type": "default", "rope_theta": 10000.0}),
         features=["layernorm_with_bias", "attention_bias_qkvo", "lm_head_bias", "sparsemixer_top2",
                   "router_jitter_noise_0.01", "gqa_4_2", "default_rope"],
         description="PhiMoE, F32: LayerNorm (with bias, eps = rms_norm_eps) for input/post-attention/final norms, "
                     "q/k/v/o biases, lm_head bias, sparsemixer top-2 router with router_jitter_noise 0.01, "
                     "GQA 4/2, default RoPE (theta 10000, no longrope), 5.x config"),
    dict(name="phimoe-bf16", family="phimoe", seed=6602, dtype=torch.bfloat16, style="4.x", seq_len=16,
         layers=2, top_k=2, tie=False,
         config=dict(num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, intermediate_size=16,
                     num_local_experts=EXPERTS, num_experts_per_tok=2, attention_bias=True, lm_head_bias=True,
                     router_jitter_noise=0.01, input_jitter_noise=0.0, sliding_window=MAX_POS, rms_norm_eps=1e-5,
                     rope_parameters={"rope_type": "default", "rope_theta": 10000.0}),
         features=["layernorm_with_bias", "attention_bias_qkvo", "lm_head_bias", "sparsemixer_top2",
                   "router_jitter_noise_0.01", "gqa_4_2", "default_rope", "sliding_window_eq_max_position",
                   "hub_style_config"],
         description="phimoe-f32's architecture with BF16 weights; hub-style (4.x) config with architectures "
                     "[\"PhiMoEForCausalLM\"] (the hub spelling) and sliding_window 128 = max_position_embeddings "
                     "(as the hub's 131072: no effect), rope_scaling null (no longrope)"),
]


FIXTURES += [
    dict(name="glm4-moe-f32", family="glm4_moe", seed=5701, dtype=torch.float32, style="5.x", seq_len=16,
         layers=3, top_k=3, tie=False, router_bias_std=0.1,
         config=dict(num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=2, head_dim=16,
                     intermediate_size=40, moe_intermediate_size=16, n_routed_experts=EXPERTS, num_experts_per_tok=3,
                     n_shared_experts=1, first_k_dense_replace=1, n_group=4, topk_group=2, norm_topk_prob=True,
                     routed_scaling_factor=2.5, attention_bias=True, use_qk_norm=True, rms_norm_eps=1e-5,
                     rope_parameters={"rope_type": "default", "rope_theta": 10000.0, "partial_rotary_factor": 0.5}),
         features=["sigmoid_router_with_choice_bias", "group_limited_top3_2_of_4_groups", "routed_scaling_2.5",
                   "ungated_shared_expert", "first_layer_dense", "partial_rope_0.5", "qkv_bias_no_o_bias",
                   "per_head_qk_norm", "gqa_4_2"],
         description="GLM-4.5 (glm4_moe), F32: DeepSeek-V3 sigmoid router with e_score_correction_bias, 8 experts in "
                     "4 groups of which 2 are kept, top-3, renormalised, x 2.5; one ungated shared expert; layer 0 "
                     "dense; RoPE on 8 of 16 head dims; q/k/v biases; per-head q/k RMSNorm (use_qk_norm); 5.x config"),
    dict(name="glm4-moe-fp8", family="glm4_moe", seed=5703, dtype=torch.float32, style="5.x", seq_len=16,
         layers=3, top_k=3, tie=False, router_bias_std=0.1, fp8_block=[8, 8],
         config=dict(num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=2, head_dim=16,
                     intermediate_size=40, moe_intermediate_size=16, n_routed_experts=EXPERTS, num_experts_per_tok=3,
                     n_shared_experts=1, first_k_dense_replace=1, n_group=4, topk_group=2, norm_topk_prob=True,
                     routed_scaling_factor=2.5, attention_bias=True, use_qk_norm=True, rms_norm_eps=1e-5,
                     rope_parameters={"rope_type": "default", "rope_theta": 10000.0, "partial_rotary_factor": 0.5}),
         features=["fp8_e4m3_block_scaled_weights", "weight_scale_inv_f32_8x8_blocks", "sigmoid_router_with_choice_bias",
                   "qkv_bias_no_o_bias", "per_head_qk_norm"],
         description="GLM-4.5's block stored as the GLM-4.5-FP8 release stores it: every Linear weight but lm_head and "
                     "the router F8_E4M3 with a F32 weight_scale_inv per 8x8 block (the release uses 128x128), biases "
                     "kept, quantization_config quant_method fp8; the goldens are HF's from the FP8 files (dequantized "
                     "on the CPU)"),
    dict(name="glm4-moe-bf16", family="glm4_moe", seed=5702, dtype=torch.bfloat16, style="4.x", seq_len=15,
         layers=3, top_k=2, tie=False, router_bias_std=0.1, nextn_layers=1,
         config=dict(num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=2, head_dim=16,
                     intermediate_size=40, moe_intermediate_size=16, n_routed_experts=EXPERTS, num_experts_per_tok=2,
                     n_shared_experts=1, first_k_dense_replace=1, n_group=1, topk_group=1, norm_topk_prob=True,
                     routed_scaling_factor=1.0, attention_bias=True, use_qk_norm=False, rms_norm_eps=1e-5,
                     num_nextn_predict_layers=1,
                     rope_parameters={"rope_type": "default", "rope_theta": 10000.0, "partial_rotary_factor": 0.5}),
         features=["sigmoid_router_with_choice_bias", "no_groups", "ungated_shared_expert", "first_layer_dense",
                   "partial_rope_0.5", "qkv_bias_no_o_bias", "mtp_layer_tensors_stored_and_unused",
                   "hub_style_config"],
         description="glm4-moe-f32's block with BF16 weights as GLM-4.5-Air configures it (one group, top-2, scaling "
                     "1.0, no q/k norm, flat partial_rotary_factor 0.5); the checkpoint also stores a "
                     "multi-token-prediction layer (model.layers.3.*, num_nextn_predict_layers 1) that inference "
                     "does not run, as the real GLM checkpoints do"),
]

MLA = dict(num_attention_heads=4, num_key_value_heads=4, kv_lora_rank=32, qk_nope_head_dim=16, qk_rope_head_dim=8,
           v_head_dim=20, intermediate_size=40, moe_intermediate_size=16, n_routed_experts=EXPERTS, rms_norm_eps=1e-5,
           rope_parameters={"rope_type": "default", "rope_theta": 10000.0})

FIXTURES += [
    dict(name="deepseek-v2-f32", family="deepseek_v2", seed=5801, dtype=torch.float32, style="5.x", seq_len=16,
         layers=3, top_k=2, tie=False,
         config=dict(MLA, num_hidden_layers=3, q_lora_rank=None, num_experts_per_tok=2, n_shared_experts=2,
                     moe_intermediate_size=12,
                     first_k_dense_replace=1, topk_method="greedy", routed_scaling_factor=2.0),
         features=["mla_without_q_lora", "v_head_dim_20_vs_qk_24", "rope_on_pairs", "softmax_greedy_top2",
                   "routed_scaling_2", "two_ungated_shared_experts", "first_layer_dense"],
         description="DeepSeek-V2-Lite's block (deepseek_v2), F32: MLA with a plain q_proj (q_lora_rank null), "
                     "kv_lora_rank 32, qk 16 nope + 8 rope, v_head_dim 20; softmax router, greedy top-2, not "
                     "renormalised, x 2.0; two ungated shared experts; layer 0 dense; 5.x config"),
    dict(name="deepseek-v2-bf16", family="deepseek_v2", seed=5802, dtype=torch.bfloat16, style="4.x", seq_len=15,
         layers=3, top_k=3, tie=False,
         config=dict(MLA, num_hidden_layers=3, q_lora_rank=24, num_experts_per_tok=3, n_shared_experts=1,
                     first_k_dense_replace=1, topk_method="group_limited_greedy", n_group=4, topk_group=2,
                     routed_scaling_factor=16.0, norm_topk_prob=False),
         features=["mla_with_q_lora", "rope_on_pairs", "softmax_group_limited_top3_2_of_4_groups",
                   "routed_scaling_16", "ungated_shared_expert", "first_layer_dense", "hub_style_config"],
         description="DeepSeek-V2's block with BF16 weights: q through q_a_proj -> q_a_layernorm -> q_b_proj "
                     "(q_lora_rank 24), group_limited_greedy (4 groups ranked by their best probability, 2 kept), "
                     "top-3, x 16 (DeepSeek-V2's factor); hub-style (4.x) config with DeepSeek-V2-Lite's field set"),
    dict(name="deepseek-v3-f32", family="deepseek_v3", seed=5901, dtype=torch.float32, style="5.x", seq_len=16,
         layers=3, top_k=3, tie=False, router_bias_std=0.1,
         config=dict(MLA, num_hidden_layers=3, q_lora_rank=24, num_experts_per_tok=3, n_shared_experts=1,
                     first_k_dense_replace=1, n_group=4, topk_group=2, norm_topk_prob=True,
                     routed_scaling_factor=2.5, rope_interleave=False, num_nextn_predict_layers=0,
                     rope_parameters={"rope_type": "yarn", "rope_theta": 10000.0, "factor": 8.0, "beta_fast": 4.0,
                                      "beta_slow": 0.25, "mscale": 1.0, "mscale_all_dim": 0.8,
                                      "original_max_position_embeddings": 8}),
         features=["mla_with_q_lora", "rope_on_halves_rope_interleave_false", "sigmoid_router_with_choice_bias",
                   "group_limited_top3_2_of_4_groups", "routed_scaling_2.5", "ungated_shared_expert",
                   "first_layer_dense", "yarn_rope_factor_8_original_context_8_lt_seq_len_16",
                   "yarn_softmax_scale_times_mscale_all_dim_squared"],
         description="DeepSeek-V3 (deepseek_v3), F32: MLA with q_lora_rank 24, rope_interleave false (RoPE on "
                     "halves); YaRN (factor 8 over an original context of 8, beta 4 / 0.25, mscale 1, mscale_all_dim 0.8: the "
                     "softmax scale grows by mscale(8, 0.8)^2); sigmoid router with e_score_correction_bias, 8 experts "
                     "in 4 groups of which 2 are kept, top-3, renormalised, x 2.5; one shared expert; layer 0 dense; "
                     "5.x config"),
    dict(name="deepseek-v3-bf16", family="deepseek_v3", seed=5902, dtype=torch.bfloat16, style="4.x", seq_len=15,
         layers=3, top_k=2, tie=False, router_bias_std=0.1, nextn_layers=1,
         config=dict(MLA, num_hidden_layers=3, q_lora_rank=24, num_experts_per_tok=2, n_shared_experts=1,
                     first_k_dense_replace=1, n_group=2, topk_group=1, norm_topk_prob=True,
                     routed_scaling_factor=2.5, num_nextn_predict_layers=1),
         features=["mla_with_q_lora", "rope_on_pairs_rope_interleave_default", "sigmoid_router_with_choice_bias",
                   "group_limited_top2_1_of_2_groups", "ungated_shared_expert", "first_layer_dense",
                   "mtp_layer_tensors_stored_and_unused", "hub_style_config"],
         description="DeepSeek-V3's block with BF16 weights and DeepSeek-V3's hub config field set (no "
                     "rope_interleave field: HF's default, interleaved pairs); 2 groups, 1 kept, top-2; the "
                     "checkpoint also stores a multi-token-prediction layer (model.layers.3.*) that is not run"),
    dict(name="deepseek-v3-fp8", family="deepseek_v3", seed=5903, dtype=torch.float32, style="5.x", seq_len=16,
         layers=3, top_k=3, tie=False, router_bias_std=0.1, fp8_block=[8, 8],
         config=dict(MLA, num_hidden_layers=3, q_lora_rank=24, v_head_dim=16, num_experts_per_tok=3,
                     n_shared_experts=1, first_k_dense_replace=1, n_group=4, topk_group=2, norm_topk_prob=True,
                     routed_scaling_factor=2.5, num_nextn_predict_layers=0),
         features=["fp8_e4m3_block_scaled_weights", "weight_scale_inv_f32_8x8_blocks", "mla_with_q_lora",
                   "rope_on_pairs", "sigmoid_router_with_choice_bias", "group_limited_top3_2_of_4_groups"],
         description="DeepSeek-V3's block stored as DeepSeek-V3's FP8 release stores it: every Linear weight but "
                     "lm_head and the router F8_E4M3 with a F32 weight_scale_inv per 8x8 block (the release uses "
                     "128x128; 8x8 gives these small matrices several blocks), quantization_config quant_method fp8; "
                     "the goldens are HF's from the FP8 files (dequantized on the CPU), the f32 weights are the exact "
                     "q * scale values"),
]


GPT_OSS_ROPE = {"rope_type": "yarn", "rope_theta": 150000.0, "factor": 8.0, "beta_fast": 32.0, "beta_slow": 1.0,
                "truncate": False, "original_max_position_embeddings": 16}
GPT_OSS = dict(num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=2, head_dim=24, intermediate_size=32,
               num_local_experts=EXPERTS, num_experts_per_tok=4, sliding_window=6, rms_norm_eps=1e-5,
               attention_bias=True, rope_parameters=GPT_OSS_ROPE)
GPT_OSS_FEATURES = ["attention_sinks", "attention_bias_qkvo", "sliding_full_alternating_window_6", "yarn_rope_factor_8",
                    "yarn_original_context_16_lt_seq_len", "head_dim_24_ne_hidden_over_heads", "gqa_4_2",
                    "router_bias_topk_then_softmax", "top4_of_8", "expert_biases", "gate_up_interleaved",
                    "clamped_swiglu_limit_7"]

FIXTURES += [
    dict(name="gpt-oss-f32", family="gpt_oss", seed=5801, dtype=torch.float32, style="5.x", seq_len=24,
         layers=3, top_k=4, tie=False, expert_std=0.5, sink_std=1.0, config=dict(GPT_OSS),
         max_bytes=1_000_000,  # three layers of f32 fused experts with biases; as large as the OLMoE tiny-f32
         features=GPT_OSS_FEATURES,
         description="gpt-oss, F32: a learned sink logit per head in every softmax, q/k/v/o biases, layers sliding "
                     "(window 6) / full / sliding, YaRN (factor 8, original context 16, beta 32/1, truncate false, "
                     "theta 150000) on sequences of 24, head_dim 24 with 4 heads (q width 96 != hidden 64), GQA 4/2; "
                     "router with bias, top-4 of 8 logits then softmax over the 4; experts with biases, gate/up "
                     "interleaved in gate_up_proj [E, H, 2I] (HF's orientation), clamped SwiGLU (limit 7 reached: "
                     "experts N(0, 0.5)); 5.x config"),
    dict(name="gpt-oss-bf16", family="gpt_oss", seed=5802, dtype=torch.bfloat16, style="4.x", seq_len=22,
         layers=2, top_k=4, tie=False, expert_std=0.5, sink_std=1.0, config=dict(GPT_OSS, num_hidden_layers=2),
         features=GPT_OSS_FEATURES + ["hub_style_config"],
         description="gpt-oss-f32's architecture (2 layers: sliding, full) with BF16 weights; hub-style (4.x) config "
                     "as openai/gpt-oss-20b's: rope_scaling yarn + flat rope_theta, experts_per_token, "
                     "initial_context_length, swiglu_limit"),
    dict(name="gpt-oss-mxfp4", family="gpt_oss", seed=5803, dtype=torch.bfloat16, style="4.x", seq_len=22,
         layers=2, top_k=4, tie=False, sink_std=1.0, mxfp4=True, config=dict(GPT_OSS, num_hidden_layers=2),
         features=GPT_OSS_FEATURES + ["hub_style_config", "mxfp4_experts"],
         description="gpt-oss as the Hub ships it: experts MXFP4 (gate_up_proj_blocks [E, 2I, H/32, 16] U8 FP4 E2M1 "
                     "pairs, low nibble first, + gate_up_proj_scales [E, 2I, H/32] U8 E8M0; down_proj the same over I), "
                     "random codes and exponents (gate_up 2^-5..2^-2, down 2^-7..2^-4); every other tensor BF16; "
                     "quantization_config mxfp4 in a hub-style config. HF loads it dequantised (CPU: no triton) to "
                     "make the goldens"),
    dict(name="qwen3-moe-yarn-f32", family="qwen3_moe", seed=5203, dtype=torch.float32, style="5.x", seq_len=40,
         layers=3, top_k=2, tie=False,
         max_bytes=700_000,  # goldens over 40 positions
         config=dict(num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=2, head_dim=24,
                     intermediate_size=40, moe_intermediate_size=16, num_experts=EXPERTS, num_experts_per_tok=2,
                     norm_topk_prob=True, attention_bias=False, mlp_only_layers=[1], decoder_sparse_step=1,
                     rms_norm_eps=1e-6,
                     rope_parameters={"rope_type": "yarn", "rope_theta": 10000.0, "factor": 4.0, "beta_fast": 16.0,
                                      "beta_slow": 2.0, "mscale": 1.0, "mscale_all_dim": 0.5,
                                      "original_max_position_embeddings": 24}),
         features=["yarn_rope_factor_4", "yarn_original_context_24_lt_seq_len_40", "yarn_mscale_1_mscale_all_dim_0.5",
                   "yarn_truncate_default_true", "beta_fast_16_beta_slow_2", "qk_norm_per_head", "top2_of_8",
                   "mlp_only_layers_1_dense"],
         description="Qwen3-MoE, F32, with YaRN RoPE as DeepSeek configures it: factor 4 over an original context of "
                     "24 on sequences of 40, beta_fast 16 / beta_slow 2, attention factor from mscale 1 and "
                     "mscale_all_dim 0.5 (DeepSeek's rule), truncate left to HF's default (true); 5.x config"),
]


# ---------------------------------------------------------------------------------------------------------
# Building and loading.
# ---------------------------------------------------------------------------------------------------------

def hf_config(spec):
    fam = FAMILIES[spec["family"]]
    return fam["cfg"](**{**COMMON, "tie_word_embeddings": spec["tie"], **spec["config"]})


def randomise(model, seed, router_bias_std=0.0, expert_std=INIT_STD, sink_std=INIT_STD):
    """Overwrites every parameter from a seeded generator (named_parameters skips a tied lm_head), and the routers'
    choice-only bias buffers (e_score_correction_bias: zeros in a fresh model, so a mistake in using it would not
    show) with N(0, router_bias_std)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, b in model.named_buffers():
            if name.endswith("e_score_correction_bias"):
                b.copy_(torch.randn(b.shape, generator=gen) * router_bias_std)
        for name, p in model.named_parameters():
            if "embed_tokens" in name:
                p.copy_(torch.randn(p.shape, generator=gen) * EMBED_STD)
            elif name.endswith("norm.weight"):
                lo, hi = NORM_RANGE
                p.copy_(lo + (hi - lo) * torch.rand(p.shape, generator=gen))
            elif name.endswith(".bias") or name.endswith("_proj_bias"):  # attention, LayerNorm, lm_head, expert biases
                p.copy_(torch.randn(p.shape, generator=gen) * BIAS_STD)
            elif name.endswith("self_attn.sinks"):  # gpt-oss
                p.copy_(torch.randn(p.shape, generator=gen) * sink_std)
            elif name.endswith("experts.gate_up_proj") or name.endswith("experts.down_proj"):  # fused experts
                p.copy_(torch.randn(p.shape, generator=gen) * expert_std)
            else:  # q/k/v/o, routers, shared expert + gate, dense MLPs, fused experts, lm_head
                p.copy_(torch.randn(p.shape, generator=gen) * INIT_STD)


FP8_MAX = 448.0  # largest finite float8_e4m3fn


def fp8_quantizable(name, t):
    # As DeepSeek-V3's FP8 release: every Linear weight but lm_head; the router (mlp.gate) and norms stay F32/BF16.
    return (name.endswith(".weight") and t.dim() == 2 and "embed_tokens" not in name and name != "lm_head.weight"
            and not name.endswith("mlp.gate.weight") and "norm" not in name)


def fp8_block_quantize(w, block):
    """(q float8_e4m3fn, scale_inv F32 [rows/bm, cols/bk]) with w ~ q * scale per block, scale = amax / 448."""
    bm, bk = block
    rows, cols = w.shape
    assert rows % bm == 0 and cols % bk == 0, (w.shape, block)
    blocks = w.float().reshape(rows // bm, bm, cols // bk, bk)
    scale = (blocks.abs().amax(dim=(1, 3)) / FP8_MAX).clamp(min=1e-12)
    q = (blocks / scale[:, None, :, None]).to(torch.float8_e4m3fn)
    return q.reshape(rows, cols), scale.float()


def fp8_round_trip(model, block):
    """Replaces each FP8-stored weight by q * scale, so the f32 model holds exactly what the FP8 file will say."""
    def qdq(w):
        q, s = fp8_block_quantize(w, block)
        bm, bk = block
        return (q.float().reshape(s.shape[0], bm, s.shape[1], bk) * s[:, None, :, None]).reshape(w.shape)

    with torch.no_grad():
        for name, p in model.named_parameters():
            if fp8_quantizable(name, p):
                p.copy_(qdq(p))
            elif name.endswith("experts.gate_up_proj"):  # fused in memory; on disk each expert's gate and up apart
                half = p.shape[1] // 2
                for e in range(p.shape[0]):
                    p[e, :half] = qdq(p[e, :half])
                    p[e, half:] = qdq(p[e, half:])
            elif name.endswith("experts.down_proj"):
                for e in range(p.shape[0]):
                    p[e] = qdq(p[e])


def write_fp8(out_dir, spec):
    """Rewrites model.safetensors as the Hub's FP8 files are (F8_E4M3 weights + F32 weight_scale_inv) and adds
    quantization_config to config.json."""
    path = os.path.join(out_dir, "model.safetensors")
    tensors = load_file(path)
    out = {}
    for name, t in tensors.items():
        if fp8_quantizable(name, t):
            q, s = fp8_block_quantize(t, spec["fp8_block"])
            out[name] = q
            out[name + "_scale_inv"] = s
        else:
            out[name] = t
    save_file(out, path, metadata={"format": "pt"})
    cpath = os.path.join(out_dir, "config.json")
    with open(cpath) as f:
        c = json.load(f)
    c["quantization_config"] = {"activation_scheme": "dynamic", "fmt": "e4m3", "quant_method": "fp8",
                                "weight_block_size": spec["fp8_block"]}
    with open(cpath, "w") as f:
        json.dump(c, f, indent=2, sort_keys=True)
        f.write("\n")


def add_nextn_layer(out_dir, spec):
    """Appends the tensors of a multi-token-prediction layer after the last layer, named as GLM-4.5 / DeepSeek-V3
    checkpoints name theirs (model.layers.L.{enorm,hnorm,eh_proj,shared_head.norm}, L = num_hidden_layers): HF does
    not build that layer for inference and neither does the engine, but both must accept the checkpoint."""
    path = os.path.join(out_dir, "model.safetensors")
    tensors = load_file(path)
    gen = torch.Generator().manual_seed(spec["seed"] + 7)
    L, dt = spec["layers"], spec["dtype"]
    extra = {f"model.layers.{L}.enorm.weight": torch.ones(HIDDEN),
             f"model.layers.{L}.hnorm.weight": torch.ones(HIDDEN),
             f"model.layers.{L}.eh_proj.weight": torch.randn(HIDDEN, 2 * HIDDEN, generator=gen) * INIT_STD,
             f"model.layers.{L}.shared_head.norm.weight": torch.ones(HIDDEN)}
    tensors.update({k: v.to(dt) for k, v in extra.items()})
    save_file(tensors, path, metadata={"format": "pt"})


def _resolve(value, c):
    return c[value[1:]] if isinstance(value, str) and value.startswith("@") else value


def write_hub_config(out_dir, spec):
    """Rewrites config.json with the field set of the family's flagship hub file (4.x style). pad_token_id (1)
    is kept in every file so that HF loads the same config (most flagship files have no pad_token_id)."""
    hub = HUB_STYLE[spec["family"]]
    path = os.path.join(out_dir, "config.json")
    with open(path) as f:
        c = json.load(f)
    old = {k: c[k] for k in hub["keys"]}
    old["pad_token_id"] = c["pad_token_id"]
    for k, v in hub["extra"].items():
        old[k] = _resolve(v, c)
    if spec["family"] == "qwen2_moe":
        # the 5.x file holds sliding_window 0 when use_sliding_window is false (HF's __post_init__)
        old["sliding_window"] = spec["hub_sliding_window"]
    if hub["architectures"]:
        old["architectures"] = hub["architectures"]
    old["rope_theta"] = c["rope_parameters"]["rope_theta"]
    old["rope_scaling"] = None
    if c["rope_parameters"]["rope_type"] != "default":  # gpt-oss: the scaling without its theta, as the hub file
        old["rope_scaling"] = {k: v for k, v in c["rope_parameters"].items() if k != "rope_theta"}
    if spec.get("mxfp4"):
        old["quantization_config"] = {"quant_method": "mxfp4", "modules_to_not_convert": [
            "model.layers.*.self_attn", "model.layers.*.mlp.router", "model.embed_tokens", "lm_head"]}
    old["torch_dtype"] = c["dtype"]
    old["transformers_version"] = hub["version"]  # as in the flagship hub file; written by hand here
    with open(path, "w") as f:
        json.dump(old, f, indent=2, sort_keys=True)
        f.write("\n")


def load_hf(spec, out_dir, dtype, impl="eager", **overrides):
    kw = {} if impl == "default" else dict(attn_implementation="eager", experts_implementation="eager")
    m = FAMILIES[spec["family"]]["cls"].from_pretrained(out_dir, dtype=dtype, **kw, **overrides)
    if spec.get("mxfp4"):  # HF dequantises MXFP4 experts on the CPU to bf16 parameters, whatever dtype asks
        m = m.to(dtype)
    return m.eval()


FP4_VALUES = torch.tensor([0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, -0.0, -0.5, -1.0, -1.5, -2.0, -3.0, -4.0, -6.0])
MXFP4_EXPONENTS = {"gate_up_proj": (122, 126), "down_proj": (120, 124)}  # E8M0 bytes: 2^(e - 127)


def mxfp4_experts(model, seed):
    """Draws every expert matrix as MXFP4 codes and exponents, in the Hub's layout ([E, out, in/32, 16] blocks, the
    even input in the low nibble; [E, out, in/32] exponents), and sets the model's parameters ([E, in, out]) to their
    exact values. Returns {tensor name: (blocks, scales)}."""
    gen = torch.Generator().manual_seed(seed + 11)
    packed = {}
    with torch.no_grad():
        for name, p in model.named_parameters():
            proj = name.rsplit(".", 1)[-1]
            if proj not in MXFP4_EXPONENTS:
                continue
            E, IN, OUT = p.shape
            blocks = torch.randint(0, 256, (E, OUT, IN // 32, 16), generator=gen, dtype=torch.uint8)
            lo, hi = MXFP4_EXPONENTS[proj]
            scales = torch.randint(lo, hi, (E, OUT, IN // 32), generator=gen, dtype=torch.uint8)
            vals = torch.stack([FP4_VALUES[(blocks & 15).long()], FP4_VALUES[(blocks >> 4).long()]], -1)
            vals = vals.reshape(E, OUT, IN // 32, 32) * torch.pow(2.0, scales.double() - 127).float()[..., None]
            p.copy_(vals.reshape(E, OUT, IN).transpose(1, 2))
            packed[name] = (blocks, scales)
    return packed


def write_mxfp4(out_dir, packed):
    """Replaces the saved expert matrices by their MXFP4 blocks and scales, as the Hub's gpt-oss files store them."""
    path = os.path.join(out_dir, "model.safetensors")
    tensors = load_file(path)
    for name, (blocks, scales) in packed.items():
        del tensors[name]
        tensors[name + "_blocks"] = blocks
        tensors[name + "_scales"] = scales
    save_file(tensors, path, metadata={"format": "pt"})


def block_of(layer, fam):
    return getattr(layer, FAMILIES[fam]["block"])


def moe_layers(m, fam):
    return [i for i, layer in enumerate(m.model.layers) if hasattr(block_of(layer, fam), "experts")]


def routers(m, fam):
    return [getattr(block_of(m.model.layers[i], fam), FAMILIES[fam]["router"]) for i in moe_layers(m, fam)]


def config_view(cfg):
    d = cfg.to_dict()
    for k in ["dtype", "torch_dtype", "transformers_version", "architectures", "_name_or_path",
              "hidden_dropout", "original_max_position_embeddings", "max_window_layers", "experts_per_token",
              "swiglu_limit", "initial_context_length", "quantization_config"] + HUB_ONLY_FIELDS:
        d.pop(k, None)
    return d


# ---------------------------------------------------------------------------------------------------------
# Goldens.
# ---------------------------------------------------------------------------------------------------------

@torch.no_grad()
def hf_goldens(m, fam, ids):
    """Batched forward (no padding) with hooks on each MoE block (input) and its router (outputs)."""
    layers = moe_layers(m, fam)
    moe_in, gate_out, shared, handles = [], [], [], []
    for i in layers:
        blk = block_of(m.model.layers[i], fam)
        handles.append(blk.register_forward_hook(lambda mod, args, out: moe_in.append(args[0].clone())))
        handles.append(getattr(blk, FAMILIES[fam]["router"]).register_forward_hook(
            lambda mod, args, out: gate_out.append(tuple(t.clone() for t in FAMILIES[fam]["unpack"](out)))))
        if fam == "qwen2_moe":
            handles.append(blk.shared_expert_gate.register_forward_hook(
                lambda mod, args, out: shared.append(torch.sigmoid(out.float()).clone())))
    out = m(input_ids=ids, output_router_logits=True)
    for h in handles:
        h.remove()
    B, S = ids.shape
    Lm = len(layers)
    assert len(moe_in) == Lm and len(gate_out) == Lm, (len(moe_in), len(gate_out), Lm)
    hook_router = torch.stack([g[0].reshape(B, S, -1) for g in gate_out], dim=2)  # [B,S,Lm,E]
    router = hook_router
    if getattr(out, "router_logits", None) is not None:  # glm4_moe does not return them (transformers#48911)
        assert len(out.router_logits) == Lm, "output_router_logits has one entry per MoE layer"
        router = torch.stack([r.reshape(B, S, -1) for r in out.router_logits], dim=2)
        assert torch.equal(router.float(), hook_router.float()), "output_router_logits differs from the router's own"
    k = gate_out[0][2].shape[-1]
    g = {
        "logits": out.logits.float(),
        "router_logits": router.float(),
        "topk_ids": torch.stack([x[2].reshape(B, S, k) for x in gate_out], dim=2).to(torch.int32),
        "topk_weights": torch.stack([x[1].reshape(B, S, k) for x in gate_out], dim=2).float(),
        "hidden_in_moe": torch.stack([h.reshape(B, S, -1) for h in moe_in], dim=2).float(),
    }
    if fam == "qwen2_moe":
        assert len(shared) == Lm
        g["shared_gate"] = torch.stack([s.reshape(B, S) for s in shared], dim=2).float()
    if FAMILIES[fam]["rule"] == "softmax_grouped":
        # HF's torch.topk(sorted=False) leaves the experts in no defined order: list them by descending weight.
        order = g["topk_weights"].argsort(-1, descending=True)
        g["topk_ids"] = g["topk_ids"].gather(-1, order)
        g["topk_weights"] = g["topk_weights"].gather(-1, order)
    if FAMILIES[fam]["rule"] == "sigmoid_grouped":
        # HF's torch.topk(sorted=False) leaves the experts in no defined order: list them by descending choice.
        bias = torch.stack([r.e_score_correction_bias.float() for r in routers(m, fam)])  # [Lm, E]
        choice = torch.sigmoid(g["router_logits"].double()) + bias.double()  # [B,S,Lm,E]
        ids_ = g["topk_ids"].long()
        order = choice.gather(-1, ids_).argsort(-1, descending=True)
        g["topk_ids"] = ids_.gather(-1, order).to(torch.int32)
        g["topk_weights"] = g["topk_weights"].gather(-1, order)
    return g


def grouped_reference(lg, bias, cfg):
    """The DeepSeek-V3 / GLM rule in float64, experts listed by descending choice; also the smallest gaps that
    decide it (between the kept and the first dropped group, and the k-th and (k+1)-th expert among the kept)."""
    k, groups, keep = cfg["num_experts_per_tok"], cfg["n_group"], cfg["topk_group"]
    s = torch.sigmoid(lg)
    choice = s + bias
    gs = choice.view(*choice.shape[:-1], groups, -1).topk(min(2, EXPERTS // groups), -1).values.sum(-1)
    gsorted = gs.sort(-1, descending=True).values
    group_gap = (gsorted[..., keep - 1] - gsorted[..., keep]).min().item() if keep < groups else float("inf")
    gidx = gs.topk(keep, -1).indices
    mask = torch.zeros_like(gs).scatter_(-1, gidx, 1.0).repeat_interleave(EXPERTS // groups, -1).bool()
    masked = choice.masked_fill(~mask, float("-inf"))
    top = masked.topk(k + 1, -1)
    expert_gap = (top.values[..., k - 1] - top.values[..., k]).min().item()
    idx = top.indices[..., :k]
    w = s.gather(-1, idx)
    if cfg["norm_topk_prob"]:
        w = w / (w.sum(-1, keepdim=True) + 1e-20)
    return idx, w * cfg["routed_scaling_factor"], group_gap, expert_gap


def v2_reference(lg, cfg):
    """DeepSeek-V2's softmax rule in float64, experts by descending probability; also the smallest gaps that decide
    it (kept vs first dropped group by best probability, and the k-th vs (k+1)-th expert among the kept)."""
    k = cfg["num_experts_per_tok"]
    p = torch.softmax(lg, -1)
    group_gap = float("inf")
    if cfg.get("topk_method") == "group_limited_greedy":
        groups, keep = cfg["n_group"], cfg["topk_group"]
        gs = p.view(*p.shape[:-1], groups, -1).max(-1).values
        gsorted = gs.sort(-1, descending=True).values
        group_gap = (gsorted[..., keep - 1] - gsorted[..., keep]).min().item()
        gidx = gs.topk(keep, -1).indices
        mask = torch.zeros_like(gs).scatter_(-1, gidx, 1.0).repeat_interleave(EXPERTS // groups, -1).bool()
        p = p.masked_fill(~mask, 0.0)
    top = p.topk(k + 1, -1)
    expert_gap = (top.values[..., k - 1] - top.values[..., k]).min().item()
    return top.indices[..., :k], top.values[..., :k] * cfg["routed_scaling_factor"], group_gap, expert_gap


@torch.no_grad()
def hf_logits(m, ids):
    return m(input_ids=ids).logits.float()


@torch.no_grad()
def hf_greedy(m, prompts):
    gen = m.generate(input_ids=prompts, attention_mask=torch.ones_like(prompts), do_sample=False, num_beams=1,
                     max_new_tokens=NEW_TOKENS, min_new_tokens=NEW_TOKENS, eos_token_id=None, pad_token_id=1)
    assert gen.shape == (prompts.shape[0], PROMPT_LEN + NEW_TOKENS), gen.shape
    return gen[:, PROMPT_LEN:].to(torch.int32)


@torch.no_grad()
def hf_loss(m, ids):
    # labels -> HF's ForCausalLMLoss (shift by one, mean). output_router_logits stays off: with it on,
    # HF adds router_aux_loss_coef * aux_loss into .loss.
    return torch.stack([m(input_ids=ids[b : b + 1], labels=ids[b : b + 1]).loss for b in range(ids.shape[0])]).float()


def fmt(x):
    return f"{x:.3g}"


# ---------------------------------------------------------------------------------------------------------
# Router margins and the sparsemixer re-derivation.
# ---------------------------------------------------------------------------------------------------------

def router_margin(gold, rule, k):
    """Smallest gap between consecutive ranks 1..k+1 of the quantity the router ranks by."""
    lg = gold["router_logits"].double()
    if rule == "softmax_topk":
        v = torch.softmax(lg, -1)
    else:  # granite top-k of the logits; sparsemixer argmax, then argmax of the rest
        v = lg
    sv = v.sort(-1, descending=True).values[..., : k + 1]
    return (sv[..., :-1] - sv[..., 1:]).min().item()


def sparsemixer_reference(logits, eps):
    """Eval-mode sparsemixer in float64, restated from HF's modeling_phimoe. logits [..., E].
    Returns ids [...,2], weights [...,2], survivors [...,2] (experts left in each masked softmax),
    and the smallest distance of any mask decision from its threshold 2*eps."""
    s = logits.double()
    out_ids, out_w, surv, dist = [], [], [], []
    scores = s
    for stage in range(2):
        mx, idx = scores.max(-1, keepdim=True)
        factor = s.abs().clamp(min=mx)
        rel = (mx - s) / factor
        masked = rel > 2 * eps
        if stage == 1:
            masked = masked | torch.isinf(scores)
        kept = scores.masked_fill(masked, float("-inf"))
        w = torch.softmax(kept, -1).gather(-1, idx)
        out_ids.append(idx)
        out_w.append(w)
        surv.append((~masked).sum(-1, keepdim=True))
        live = ~torch.isinf(scores) & (scores != mx)  # the experts a decision was made about
        dist.append(torch.where(live, (rel - 2 * eps).abs(), torch.full_like(rel, float("inf"))).min())
        scores = torch.scatter(s, -1, idx, float("-inf"))
    return torch.cat(out_ids, -1), torch.cat(out_w, -1), torch.cat(surv, -1), min(d.item() for d in dist)


# ---------------------------------------------------------------------------------------------------------
# Feature sensitivity: each variant changes one feature in HF; all must move the logits by > 1e-2.
# ---------------------------------------------------------------------------------------------------------

@contextlib.contextmanager
def patched_repeat_kv(mod):
    """GQA mistake: query head j reads kv head j % n_kv (tile) instead of j // (n_q / n_kv) (interleave)."""
    orig = mod.repeat_kv
    mod.repeat_kv = lambda h, n: h if n == 1 else h.repeat(1, n, 1, 1)
    try:
        yield
    finally:
        mod.repeat_kv = orig


def zero_params(pattern):
    import re

    rx = re.compile(pattern)

    def apply(m):
        hit = 0
        with torch.no_grad():
            for n, p in m.named_parameters():
                if rx.search(n):
                    p.zero_()
                    hit += 1
        assert hit, f"no parameter matches {pattern}"
    return apply


def ones_params(pattern):
    import re

    rx = re.compile(pattern)

    def apply(m):
        hit = 0
        with torch.no_grad():
            for n, p in m.named_parameters():
                if rx.search(n):
                    p.fill_(1.0)
                    hit += 1
        assert hit, f"no parameter matches {pattern}"
    return apply


def zero_router_bias(fam):
    def apply(m):
        with torch.no_grad():
            for r in routers(m, fam):
                r.e_score_correction_bias.zero_()
    return apply


def set_router_attr(fam, attr, fn):
    def apply(m):
        for r in routers(m, fam):
            setattr(r, attr, fn(getattr(r, attr)))
    return apply


def replace_router(fam, forward):
    def apply(m):
        for r in routers(m, fam):
            r.forward = types.MethodType(forward, r)
    return apply


def _router_softmax_topk_no_renorm(self, h):
    h = h.reshape(-1, self.hidden_dim)
    lg = torch.nn.functional.linear(h, self.weight)
    p = torch.softmax(lg.float(), -1)
    v, i = torch.topk(p, self.top_k, -1)
    return lg, v, i


def _granite_softmax_all_topk(self, h):
    lg = torch.nn.functional.linear(h, self.weight).float()
    p = torch.softmax(lg, -1)
    v, i = p.topk(self.top_k, -1)
    return i, v.type_as(h), lg


def _phimoe_softmax_topk_renorm(self, h):
    lg = torch.nn.functional.linear(h, self.weight)
    p = torch.softmax(lg.float(), -1)
    v, i = torch.topk(p, self.top_k, -1)
    return lg, (v / v.sum(-1, keepdim=True)).to(lg.dtype), i


def qk_norm_per_head(m):
    """flex_olmo mistake: RMS-normalise each head's 16 values instead of the whole q (64) / k (32) vector."""
    for layer in m.model.layers:
        at = layer.self_attn
        for norm in (at.q_norm, at.k_norm):
            def fwd(self, x, hd=at.head_dim):
                shp = x.shape
                xh = x.float().view(*shp[:-1], -1, hd)
                xh = xh * torch.rsqrt(xh.pow(2).mean(-1, keepdim=True) + self.variance_epsilon)
                return (self.weight * xh.view(shp)).to(x.dtype)
            norm.forward = types.MethodType(fwd, norm)


def qk_norm_whole_width(m):
    """qwen3_moe mistake: RMS-normalise the whole q (4x24) / k (2x24) vector instead of each head."""
    for layer in m.model.layers:
        for norm in (layer.self_attn.q_norm, layer.self_attn.k_norm):
            def fwd(self, x):  # x [B, S, heads, head_dim]
                xf = x.float()
                var = xf.pow(2).mean(dim=(-2, -1), keepdim=True)
                return self.weight * (xf * torch.rsqrt(var + self.variance_epsilon)).to(x.dtype)
            norm.forward = types.MethodType(fwd, norm)


def no_qk_norm(m):
    for layer in m.model.layers:
        for norm in (layer.self_attn.q_norm, layer.self_attn.k_norm):
            norm.forward = types.MethodType(lambda self, x: x, norm)


def flex_pre_norm(m):
    """flex_olmo mistake: OLMoE-style pre-norm (norm the block input) instead of norming the block output."""
    for layer in m.model.layers:
        def fwd(self, hidden_states, attention_mask=None, position_ids=None, past_key_values=None,
                position_embeddings=None, **kwargs):
            a, _ = self.self_attn(hidden_states=self.post_attention_layernorm(hidden_states),
                                  attention_mask=attention_mask, position_ids=position_ids,
                                  past_key_values=past_key_values, position_embeddings=position_embeddings, **kwargs)
            h = hidden_states + a
            return h + self.mlp(self.post_feedforward_layernorm(h))
        layer.forward = types.MethodType(fwd, layer)


def attn_scaling(value_fn):
    def apply(m):
        for layer in m.model.layers:
            layer.self_attn.scaling = value_fn(layer.self_attn)
    return apply


def dense_mlp_zeroed(fam):
    def apply(m):
        dense = [i for i in range(len(m.model.layers)) if i not in moe_layers(m, fam)]
        assert dense
        with torch.no_grad():
            for i in dense:
                m.model.layers[i].mlp.down_proj.weight.zero_()
    return apply


def qwen2_shared_gate_ignored(m):
    """qwen2_moe mistake: add the shared expert with weight 1 (no sigmoid gate)."""
    for i in moe_layers(m, "qwen2_moe"):
        blk = m.model.layers[i].mlp
        blk.shared_expert_gate.forward = types.MethodType(
            lambda self, x: torch.full((*x.shape[:-1], 1), 1e4, dtype=x.dtype), blk.shared_expert_gate)


def granite_swap_gate_up(m):
    """granitemoe mistake: read input_linear's first half as up and the second as gate."""
    with torch.no_grad():
        for i in moe_layers(m, "granitemoe"):
            w = m.model.layers[i].block_sparse_moe.experts.gate_up_proj
            half = w.shape[1] // 2
            w.copy_(torch.cat([w[:, half:], w[:, :half]], dim=1))


def layernorm_as_rmsnorm(m):
    """phimoe mistake: RMSNorm (weight only, no mean subtraction, no bias) in place of LayerNorm."""
    for mod in m.modules():
        if isinstance(mod, torch.nn.LayerNorm):
            def fwd(self, x):
                xf = x.float()
                return (self.weight * xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)).to(x.dtype)
            mod.forward = types.MethodType(fwd, mod)


def gptoss_experts_attr(attr, value):
    def apply(m):
        for layer in m.model.layers:
            setattr(layer.mlp.experts, attr, value)
    return apply


def gptoss_gate_up_halves(m):
    """gpt_oss mistake: gate = the first half of gate_up's columns, up = the second (instead of even / odd)."""
    for layer in m.model.layers:
        ex = layer.mlp.experts

        def gate(self, gate_up):
            half = gate_up.shape[-1] // 2
            g, u = gate_up[..., :half].clamp(max=self.limit), gate_up[..., half:].clamp(-self.limit, self.limit)
            return (u + 1) * g * torch.sigmoid(g * self.alpha)
        ex._apply_gate = types.MethodType(gate, ex)


def _gptoss_softmax_all_topk(self, h):
    lg = torch.nn.functional.linear(h, self.weight, self.bias)
    v, i = torch.softmax(lg, -1).topk(self.top_k, -1)
    return lg, v, i


def variants_for(spec):
    """[(name, config overrides, patch function or None, context manager factory or None)]."""
    fam, cfg = spec["family"], spec["config"]
    mod = FAMILIES[fam]["mod"]
    gqa = cfg["num_key_value_heads"] != cfg["num_attention_heads"]
    v = []
    if gqa:
        v.append(("gqa_kv_head_j_mod_nkv", {}, None, lambda: patched_repeat_kv(mod)))
    theta = (cfg.get("rope_parameters") or {}).get("rope_theta", 500000.0)
    other = 10000.0 if theta != 10000.0 else 1000000.0
    rope = dict(cfg.get("rope_parameters") or {"rope_type": "default"}, rope_theta=other)
    v.append((f"rope_theta_{other:g}", {"rope_parameters": rope}, None, None))
    rp = cfg.get("rope_parameters") or {}
    if rp.get("rope_type") == "yarn":
        v += [("plain_rope_instead_of_yarn", {"rope_parameters": {"rope_type": "default", "rope_theta": rp["rope_theta"]}},
               None, None),
              ("yarn_attention_factor_1", {"rope_parameters": dict(rp, attention_factor=1.0)}, None, None),
              ("yarn_original_context_doubled", {"rope_parameters": dict(
                  rp, original_max_position_embeddings=2 * rp["original_max_position_embeddings"])}, None, None)]
    if fam == "gpt_oss":
        L, W = cfg["num_hidden_layers"], cfg["sliding_window"]
        v += [("zero_sinks", {}, zero_params(r"self_attn\.sinks"), None),
              ("zero_qkv_bias", {}, zero_params(r"self_attn\.[qkv]_proj\.bias"), None),
              ("zero_o_bias", {}, zero_params(r"self_attn\.o_proj\.bias"), None),
              ("zero_router_bias", {}, zero_params(r"mlp\.router\.bias"), None),
              ("zero_gate_up_bias", {}, zero_params(r"experts\.gate_up_proj_bias"), None),
              ("zero_down_bias", {}, zero_params(r"experts\.down_proj_bias"), None),
              ("no_swiglu_clamp", {}, gptoss_experts_attr("limit", float("inf")), None),
              ("swiglu_alpha_1", {}, gptoss_experts_attr("alpha", 1.0), None),
              ("gate_up_halves_not_interleaved", {}, gptoss_gate_up_halves, None),
              ("softmax_over_all_then_topk_no_renorm", {}, replace_router(fam, _gptoss_softmax_all_topk), None),
              ("no_sliding_window", {"layer_types": ["full_attention"] * L}, None, None),
              (f"sliding_window_{W - 1}", {"sliding_window": W - 1}, None, None),
              (f"sliding_window_{W + 1}", {"sliding_window": W + 1}, None, None)]
    if fam == "flex_olmo":
        v += [("pre_norm_instead_of_post_norm", {}, flex_pre_norm, None),
              ("qk_norm_per_head", {}, qk_norm_per_head, None),
              ("no_qk_norm", {}, no_qk_norm, None),
              ("unit_post_feedforward_norm", {}, ones_params(r"post_feedforward_layernorm\.weight"), None),
              # renormalising the top-k weights scales each token's MoE output by one number, which
              # post_feedforward_layernorm (RMSNorm) divides out again: expected to be (almost) invisible
              ("flip_norm_topk_prob", {}, set_router_attr(fam, "norm_topk_prob", lambda x: not x), None, "invisible")]
    if fam == "qwen3_moe":
        v += [("scaling_1_over_sqrt_hidden_over_heads", {}, attn_scaling(lambda a: (HIDDEN // 4) ** -0.5), None),
              ("qk_norm_whole_width", {}, qk_norm_whole_width, None),
              ("no_qk_norm", {}, no_qk_norm, None),
              ("flip_norm_topk_prob", {}, set_router_attr(fam, "norm_topk_prob", lambda x: not x), None),
              ("dense_layer_mlp_zeroed", {}, dense_mlp_zeroed(fam), None)]
        if cfg["attention_bias"]:
            v += [("zero_qkv_bias", {}, zero_params(r"self_attn\.[qkv]_proj\.bias"), None),
                  ("zero_o_bias", {}, zero_params(r"self_attn\.o_proj\.bias"), None)]
    if fam == "qwen2_moe":
        v += [("zero_qkv_bias", {}, zero_params(r"self_attn\.[qkv]_proj\.bias"), None),
              ("shared_gate_ignored", {}, qwen2_shared_gate_ignored, None),
              ("shared_expert_dropped", {}, zero_params(r"shared_expert\.down_proj\.weight"), None),
              ("flip_norm_topk_prob", {}, set_router_attr(fam, "norm_topk_prob", lambda x: not x), None),
              ("dense_layer_mlp_zeroed", {}, dense_mlp_zeroed(fam), None)]
        L = cfg["num_hidden_layers"]
        if cfg["use_sliding_window"]:
            W = cfg["sliding_window"]
            v += [("no_sliding_window", {"layer_types": ["full_attention"] * L}, None, None),
                  ("sliding_window_on_all_layers", {"layer_types": ["sliding_attention"] * L}, None, None),
                  (f"sliding_window_{W - 1}", {"sliding_window": W - 1}, None, None),
                  (f"sliding_window_{W + 1}", {"sliding_window": W + 1}, None, None)]
        else:
            W = spec["hub_sliding_window"]
            v += [(f"use_sliding_window_ignored_window_{W}_on_layer0",
                   {"sliding_window": W, "layer_types": ["sliding_attention"] + ["full_attention"] * (L - 1)},
                   None, None)]
    if fam == "mixtral":
        v += [("no_renormalisation", {}, replace_router(fam, _router_softmax_topk_no_renorm), None)]
        if cfg["sliding_window"]:
            W = cfg["sliding_window"]
            v += [("no_sliding_window", {"sliding_window": None}, None, None),
                  (f"sliding_window_{W - 1}", {"sliding_window": W - 1}, None, None),
                  (f"sliding_window_{W + 1}", {"sliding_window": W + 1}, None, None)]
        else:
            v += [("sliding_window_6", {"sliding_window": 6}, None, None)]
    if fam == "granitemoe":
        hd = HIDDEN // cfg["num_attention_heads"]
        v += [("embedding_multiplier_1", {"embedding_multiplier": 1.0}, None, None),
              ("residual_multiplier_1", {"residual_multiplier": 1.0}, None, None),
              ("attention_multiplier_1", {"attention_multiplier": 1.0}, None, None),
              ("attention_multiplier_1_over_sqrt_head_dim", {"attention_multiplier": hd ** -0.5}, None, None),
              ("logits_scaling_1", {"logits_scaling": 1.0}, None, None),
              ("softmax_over_all_then_topk_no_renorm", {}, replace_router(fam, _granite_softmax_all_topk), None),
              ("input_linear_gate_up_swapped", {}, granite_swap_gate_up, None)]
    if fam == "glm4_moe":
        full_rope = dict(cfg["rope_parameters"], partial_rotary_factor=1.0)
        v += [("zero_qkv_bias", {}, zero_params(r"self_attn\.[qkv]_proj\.bias"), None),
              ("rope_on_whole_head", {"rope_parameters": full_rope}, None, None),
              ("zero_e_score_correction_bias", {}, zero_router_bias(fam), None),
              ("shared_experts_dropped", {}, zero_params(r"shared_experts\.down_proj\.weight"), None),
              ("dense_layer_mlp_zeroed", {}, dense_mlp_zeroed(fam), None),
              ("flip_norm_topk_prob", {}, set_router_attr(fam, "norm_topk_prob", lambda x: not x), None)]
        if cfg["routed_scaling_factor"] != 1.0:
            v += [("routed_scaling_factor_1", {}, set_router_attr(fam, "routed_scaling_factor", lambda x: 1.0), None)]
        if cfg["n_group"] > 1:
            v += [("no_group_limit", {}, set_router_attr(fam, "topk_group", lambda x: cfg["n_group"]), None)]
        if cfg["use_qk_norm"]:
            v += [("no_qk_norm", {}, no_qk_norm, None), ("qk_norm_whole_width", {}, qk_norm_whole_width, None)]
    if fam in ("deepseek_v2", "deepseek_v3") and rp.get("rope_type") == "yarn" and rp.get("mscale_all_dim"):
        v.append(("softmax_scale_without_yarn_mscale", {},
                  attn_scaling(lambda a: a.qk_head_dim ** -0.5), None))
    if fam in ("deepseek_v2", "deepseek_v3"):
        v += [("shared_experts_dropped", {}, zero_params(r"shared_experts\.down_proj\.weight"), None),
              ("dense_layer_mlp_zeroed", {}, dense_mlp_zeroed(fam), None),
              ("unit_kv_a_layernorm", {}, ones_params(r"kv_a_layernorm\.weight"), None),
              ("scaling_1_over_sqrt_qk_nope_head_dim", {}, attn_scaling(lambda a: a.qk_nope_head_dim ** -0.5), None)]
        if cfg.get("q_lora_rank"):
            v += [("unit_q_a_layernorm", {}, ones_params(r"q_a_layernorm\.weight"), None)]
        if cfg["routed_scaling_factor"] != 1.0:
            v += [("routed_scaling_factor_1", {}, set_router_attr(fam, "routed_scaling_factor", lambda x: 1.0), None)]
    if fam == "deepseek_v2" and cfg.get("topk_method") == "group_limited_greedy":
        v += [("greedy_instead_of_group_limited", {}, set_router_attr(fam, "topk_method", lambda x: "greedy"), None)]
    if fam == "deepseek_v3":
        v += [("zero_e_score_correction_bias", {}, zero_router_bias(fam), None),
              ("flip_norm_topk_prob", {}, set_router_attr(fam, "norm_topk_prob", lambda x: not x), None),
              ("flip_rope_interleave", {"rope_interleave": not cfg.get("rope_interleave", True)}, None, None)]
    if fam == "phimoe":
        v += [("zero_qkv_bias", {}, zero_params(r"self_attn\.[qkv]_proj\.bias"), None),
              ("zero_o_bias", {}, zero_params(r"self_attn\.o_proj\.bias"), None),
              ("zero_layernorm_bias", {}, zero_params(r"norm\.bias"), None),
              ("zero_lm_head_bias", {}, zero_params(r"^lm_head\.bias"), None),
              ("rmsnorm_instead_of_layernorm", {}, layernorm_as_rmsnorm, None),
              ("softmax_top2_renormalised_router", {}, replace_router(fam, _phimoe_softmax_topk_renorm), None),
              ("jitter_eps_inf_no_mask", {}, set_router_attr(fam, "router_jitter_noise", lambda x: 1e9), None),
              ("jitter_eps_0_mask_all_but_max", {}, set_router_attr(fam, "router_jitter_noise", lambda x: 0.0), None)]
    return v


def sensitivity(spec, out_dir, ids, base):
    moved, invisible = {}, {}
    for name, overrides, patch, ctx, *expect in variants_for(spec):
        m = load_hf(spec, out_dir, torch.float32, **overrides)
        if patch is not None:
            patch(m)
        with (ctx() if ctx else contextlib.nullcontext()):
            lg = hf_logits(m, ids)
        d = (lg - base).abs().max().item()
        if expect == ["invisible"]:
            assert d < 1e-3, f"{spec['name']}: variant {name} was expected to be invisible but moves {d}"
            invisible[name] = fmt(d)
            continue
        assert d > SENSITIVITY_MIN, f"{spec['name']}: variant {name} moves the logits only by {d}"
        moved[name] = fmt(d)
    return moved, invisible


# ---------------------------------------------------------------------------------------------------------
# One fixture.
# ---------------------------------------------------------------------------------------------------------

def make_fixture(spec):
    name, fam = spec["name"], spec["family"]
    out_dir = os.path.join(MODELS, name)
    shutil.rmtree(out_dir, ignore_errors=True)
    torch.manual_seed(spec["seed"])
    model = FAMILIES[fam]["cls"](hf_config(spec))
    randomise(model, spec["seed"], spec.get("router_bias_std", 0.0), spec.get("expert_std", INIT_STD),
              spec.get("sink_std", INIT_STD))
    if spec.get("fp8_block"):
        fp8_round_trip(model, spec["fp8_block"])
    packed = mxfp4_experts(model, spec["seed"]) if spec.get("mxfp4") else None
    model = model.to(spec["dtype"])
    model.save_pretrained(out_dir)
    if spec.get("fp8_block"):
        write_fp8(out_dir, spec)
    if packed:
        write_mxfp4(out_dir, packed)
    if spec.get("nextn_layers"):
        add_nextn_layer(out_dir, spec)
    checks = {}
    if spec["style"] == "4.x":
        saved_5x = config_view(AutoConfig.from_pretrained(out_dir))
        write_hub_config(out_dir, spec)
        hub = config_view(AutoConfig.from_pretrained(out_dir))
        diff = sorted(k for k in set(saved_5x) | set(hub) if saved_5x.get(k) != hub.get(k))
        assert not diff, f"{name}: hub-style config loads differently in HF: {[(k, saved_5x.get(k), hub.get(k)) for k in diff]}"
        checks["hub_config_loads_as_saved_config"] = True
    stored = sorted(f for f in os.listdir(out_dir) if f.endswith(".safetensors"))
    assert stored == ["model.safetensors"], stored
    with safe_open(os.path.join(out_dir, "model.safetensors"), "pt") as f:
        ckpt_names = sorted(f.keys())
    assert ("lm_head.weight" in ckpt_names) == (not spec["tie"]), "lm_head.weight presence vs tie"

    # The goldens come from what HF loads back from disk (bf16 weights widened to f32 exactly).
    m = load_hf(spec, out_dir, torch.float32)
    sd = dict(model.state_dict())
    for pname, p in m.state_dict().items():
        assert torch.equal(p, sd[pname].float()), f"{pname} did not round-trip"
    tied = m.lm_head.weight.data_ptr() == m.model.embed_tokens.weight.data_ptr()
    assert tied == spec["tie"], f"tie_word_embeddings={spec['tie']} but HF tied={tied}"
    mlayers = moe_layers(m, fam)
    assert len(m.model.layers) == spec["layers"]

    gen = torch.Generator().manual_seed(spec["seed"] + 1)
    ids = torch.randint(0, VOCAB, (BATCH, spec["seq_len"]), generator=gen)
    gold = hf_goldens(m, fam, ids)
    gold["input_ids"] = ids.to(torch.int32)
    gold["greedy_ids"] = hf_greedy(m, ids[:, :PROMPT_LEN].clone())
    gold["loss"] = hf_loss(m, ids)
    k = spec["top_k"]
    assert gold["topk_ids"].shape[-1] == k

    # Batched vs one sequence at a time.
    single = torch.cat([hf_logits(m, ids[b : b + 1]) for b in range(BATCH)])
    checks["batched_vs_single_logits_maxdiff"] = fmt((single - gold["logits"]).abs().max().item())
    # HF's default kernels (sdpa attention, grouped_mm experts) vs the eager ones used for the goldens.
    md = load_hf(spec, out_dir, torch.float32, impl="default")
    checks["hf_default_impl"] = f"{md.config._attn_implementation}+{md.config._experts_implementation}"
    d = (hf_goldens(md, fam, ids)["logits"] - gold["logits"]).abs().max().item()
    assert d < 1e-3, d
    checks["hf_default_impl_vs_eager_logits_maxdiff"] = fmt(d)
    checks["f32_logits_absmax"] = fmt(gold["logits"].abs().max().item())
    lp = torch.log_softmax(gold["logits"].double(), -1)
    manual = -lp[:, :-1].gather(-1, ids[:, 1:, None]).squeeze(-1).mean(-1)
    assert (manual - gold["loss"].double()).abs().max() < 1e-5

    # Greedy (KV cache) vs full recomputation without a cache, and the greedy margin.
    greedy_margin = float("inf")
    for b in range(BATCH):
        full = torch.cat([ids[b, :PROMPT_LEN], gold["greedy_ids"][b].long()])[None]
        lg = m(input_ids=full, use_cache=False).logits.float()[0, PROMPT_LEN - 1 : -1]
        assert torch.equal(lg.argmax(-1).to(torch.int32), gold["greedy_ids"][b]), "cached greedy != recomputation"
        top2 = lg.double().topk(2, -1).values
        greedy_margin = min(greedy_margin, (top2[:, 0] - top2[:, 1]).min().item())
    checks["greedy_matches_full_recompute_without_cache"] = True
    distinct = [len(set(r.tolist())) for r in gold["greedy_ids"]]
    assert min(distinct) >= 2, f"{name}: greedy continuation repeats one token: {gold['greedy_ids'].tolist()}"
    checks["greedy_distinct_tokens_per_row"] = distinct

    # Router margins: an engine with f32 rounding must not flip a routing or greedy decision.
    rule = FAMILIES[fam]["rule"]
    if rule == "sigmoid_grouped":
        rbias = torch.stack([r.e_score_correction_bias.double() for r in routers(m, fam)])
        _, _, group_gap, expert_gap = grouped_reference(gold["router_logits"].double(), rbias, spec["config"])
        rmargin = min(group_gap, expert_gap)
        checks["min_router_group_score_gap"] = fmt(group_gap) if group_gap != float("inf") else "no groups"
    elif rule == "softmax_grouped":
        _, _, group_gap, expert_gap = v2_reference(gold["router_logits"].double(), spec["config"])
        rmargin = min(group_gap, expert_gap)
        checks["min_router_group_best_prob_gap"] = fmt(group_gap) if group_gap != float("inf") else "no groups"
    else:
        rmargin = router_margin(gold, rule, k)
    assert rmargin > ROUTER_GAP_MIN and greedy_margin > GREEDY_GAP_MIN, (name, rmargin, greedy_margin)
    key = {"softmax_topk": "min_router_prob_gap_within_top_k_plus_1",
           "topk_logits": "min_router_logit_gap_within_top_k_plus_1",
           "sparsemixer": "min_router_logit_gap_within_top_3",
           "sigmoid_grouped": "min_router_choice_gap_within_kept_groups",
           "softmax_grouped": "min_router_prob_gap_within_kept_groups"}[rule]
    checks[key] = fmt(rmargin)
    checks["min_greedy_top1_top2_logit_gap"] = fmt(greedy_margin)

    # The recorded weights follow the family's documented rule (a self-check of the layout notes).
    lg64 = gold["router_logits"].double()
    if rule == "softmax_topk":
        p = torch.softmax(lg64, -1)
        v, i = p.topk(k, -1)
        renorm = fam == "mixtral" or spec["config"].get("norm_topk_prob", False)
        w = v / v.sum(-1, keepdim=True) if renorm else v
    elif rule == "topk_logits":
        v, i = lg64.topk(k, -1)
        w = torch.softmax(v, -1)
    elif rule == "sigmoid_grouped":
        i, w, _, _ = grouped_reference(lg64, rbias, spec["config"])
    elif rule == "softmax_grouped":
        i, w, _, _ = v2_reference(lg64, spec["config"])
    else:
        eps = spec["config"]["router_jitter_noise"]
        i, w, surv, dist = sparsemixer_reference(lg64, eps)
        n = surv.numel()
        masked_some = int((surv < EXPERTS - torch.tensor([0, 1])).sum().item())  # stage 2 excludes top1 itself
        several = int((surv >= 2).sum().item())
        assert masked_some > 0 and several > 0, (masked_some, several)
        assert dist > 1e-4, f"a jitter-mask decision is within {dist} of its threshold"
        checks["sparsemixer_decisions"] = n
        checks["sparsemixer_masked_softmax_differs_from_plain_softmax"] = masked_some
        checks["sparsemixer_decisions_with_2plus_survivors"] = several
        checks["sparsemixer_survivor_histogram"] = {str(c): int((surv == c).sum().item())
                                                    for c in sorted(set(surv.flatten().tolist()))}
        checks["sparsemixer_min_distance_to_mask_threshold"] = fmt(dist)
    assert torch.equal(i.to(torch.int32), gold["topk_ids"]), f"{name}: topk_ids do not follow the router rule"
    wd = (w.float() - gold["topk_weights"]).abs().max().item()
    assert wd < 1e-6, f"{name}: topk_weights do not follow the router rule ({wd})"
    checks["topk_weights_vs_rule_recomputation_maxdiff"] = fmt(wd)
    if fam == "qwen2_moe":
        hs = gold["hidden_in_moe"].double()
        gw = torch.stack([m.model.layers[l].mlp.shared_expert_gate.weight[0].double() for l in mlayers])  # [Lm,H]
        sg = torch.sigmoid((hs * gw).sum(-1))
        checks["shared_gate_vs_recomputation_maxdiff"] = fmt((sg.float() - gold["shared_gate"]).abs().max().item())
        checks["shared_gate_range"] = [fmt(gold["shared_gate"].min().item()), fmt(gold["shared_gate"].max().item())]

    # Routers are not degenerate: every MoE layer uses most experts and several different top-1 experts.
    tk = gold["topk_ids"]
    used = [int(torch.unique(tk[:, :, l, :]).numel()) for l in range(len(mlayers))]
    top1 = [int(torch.unique(tk[:, :, l, 0]).numel()) for l in range(len(mlayers))]
    assert min(used) >= 6 and min(top1) >= 3, f"{name}: router degenerate (used {used}, top1 {top1})"
    checks["experts_used_per_moe_layer"] = used
    checks["distinct_top1_per_moe_layer"] = top1

    # Sliding window: which keys a query sees (eager attention probabilities of the first sliding layer).
    W = getattr(m.config, "sliding_window", None)
    sliding_layers = [i for i in range(spec["layers"]) if _is_sliding(m.config, i)]
    if sliding_layers:
        with torch.no_grad():
            att = m(input_ids=ids, output_attentions=True).attentions
        S = spec["seq_len"]
        q = torch.arange(S)[:, None]
        kk = torch.arange(S)[None, :]
        want = (kk <= q) & (kk > q - W)
        for i in range(spec["layers"]):
            seen = att[i][0, 0] > 0
            exp = want if i in sliding_layers else (kk <= q)
            assert torch.equal(seen, exp), f"layer {i} attention pattern"
        checks["sliding_layers"] = sliding_layers
        checks["sliding_window_visible_keys"] = (f"query at position p attends keys max(0, p-{W - 1})..p "
                                                 f"({W} keys including itself) on layers {sliding_layers}; "
                                                 f"other layers full causal")

    if spec["dtype"] == torch.bfloat16:
        mb = load_hf(spec, out_dir, torch.bfloat16)
        gb = hf_goldens(mb, fam, ids)
        gold["logits_bf16"] = gb["logits"]
        dd = (gold["logits_bf16"] - gold["logits"]).abs()
        checks["bf16_vs_f32_logits_maxdiff"] = fmt(dd.max().item())
        checks["bf16_vs_f32_logits_meandiff"] = fmt(dd.mean().item())
        checks["bf16_topk_ids_agreement"] = fmt((gb["topk_ids"] == gold["topk_ids"]).double().mean().item())
        checks["bf16_argmax_agreement"] = fmt(
            (gold["logits_bf16"].argmax(-1) == gold["logits"].argmax(-1)).double().mean().item())
        checks["bf16_greedy_equal"] = bool(torch.equal(hf_greedy(mb, ids[:, :PROMPT_LEN].clone()), gold["greedy_ids"]))

    checks["feature_sensitivity"], invisible = sensitivity(spec, out_dir, ids, gold["logits"])
    if invisible:
        checks["feature_insensitive_by_construction"] = invisible

    save_file({kk_: vv.contiguous() for kk_, vv in gold.items()}, os.path.join(out_dir, "golden.safetensors"),
              metadata={"fixture": name})  # one key: safetensors writes metadata in hash order

    Lm, S, H, V = len(mlayers), spec["seq_len"], HIDDEN, VOCAB
    moe_in_doc = ("the residual stream entering the MoE block (FlexOlmo has no pre-MoE norm: post-norm block)"
                  if fam == "flex_olmo" else "the MoE block input (after post_attention_layernorm)")
    layouts = {
        "input_ids": ("I32", [BATCH, S], "[B, S] token ids; each row is one sequence, positions 0..S-1"),
        "logits": ("F32", [BATCH, S, V], "[B, S, V] lm_head output, f32 compute"
                   + (" (already divided by logits_scaling)" if fam == "granitemoe" else "")
                   + (" (including lm_head.bias)" if fam == "phimoe" else "")),
        "router_logits": ("F32", [BATCH, S, Lm, EXPERTS],
                          f"[B, S, Lm, E] pre-softmax router logits of the MoE layers {mlayers} only "
                          f"(hook on {FAMILIES[fam]['block']}.{FAMILIES[fam]['router']})"),
        "topk_ids": ("I32", [BATCH, S, Lm, k],
                     f"[B, S, Lm, k] experts chosen, in the order HF's router returns them: {FAMILIES[fam]['router_doc']}"),
        "topk_weights": ("F32", [BATCH, S, Lm, k], "[B, S, Lm, k] weights applied to those experts' outputs"),
        "hidden_in_moe": ("F32", [BATCH, S, Lm, H], f"[B, S, Lm, H] what the router reads: {moe_in_doc}"),
        "greedy_ids": ("I32", [BATCH, NEW_TOKENS],
                       f"[B, G] greedy new tokens after each sequence's first {PROMPT_LEN} input_ids (prompt not included)"),
        "loss": ("F32", [BATCH], "[B] per sequence mean next-token NLL (natural log) over positions 1..S-1"),
    }
    if "shared_gate" in gold:
        layouts["shared_gate"] = ("F32", [BATCH, S, Lm],
                                  "[B, S, Lm] sigmoid(shared_expert_gate . hidden_in_moe): the shared expert's weight")
    if "logits_bf16" in gold:
        layouts["logits_bf16"] = ("F32", [BATCH, S, V],
                                  "[B, S, V] logits of HF running fully in bf16 (bf16 weights and activations), widened to f32")
    assert set(layouts) == set(gold), (set(layouts) ^ set(gold))
    for kk_, (dt, shape, _) in layouts.items():
        t = gold[kk_]
        assert list(t.shape) == shape and {"I32": torch.int32, "F32": torch.float32}[dt] == t.dtype, (kk_, t.shape, t.dtype)
    meta = {
        "fixture": name,
        "family": m.config.model_type,
        "description": spec["description"],
        "features": spec["features"],
        "moe_layers": mlayers,
        "generated_by": "tools/reference/make_family_fixtures.py",
        "versions": {"transformers": transformers.__version__, "torch": torch.__version__,
                     "safetensors": safetensors.__version__, "numpy": np.__version__},
        "seed": spec["seed"],
        "weights": {"dtype": str(spec["dtype"]).replace("torch.", ""), "files": stored,
                    "tie_word_embeddings": spec["tie"], "config_style": spec["style"],
                    "hub_flagship": HUB_STYLE[fam]["flagship"] if spec["style"] == "4.x" else None,
                    "layer0_tensors": [n for n in ckpt_names if n.startswith("model.layers.0.")],
                    "init": f"linear/router/experts N(0,{INIT_STD}), embed N(0,{EMBED_STD}), every bias "
                            f"N(0,{BIAS_STD}), norm weights U{NORM_RANGE}"},
        "hf_settings": {"class": type(m).__name__, "attn_implementation": "eager",
                        "experts_implementation": "eager", "compute_dtype": "float32", "mode": "eval",
                        "batched": "both sequences in one batch, no padding, no attention_mask",
                        "hooks": {"hidden_in_moe": f"model.layers[i].{FAMILIES[fam]['block']} input",
                                  "router": f"model.layers[i].{FAMILIES[fam]['block']}.{FAMILIES[fam]['router']} output"}},
        "router_rule": FAMILIES[fam]["router_doc"],
        "tensors": {kk_: {"dtype": dt, "shape": shape, "layout": lay} for kk_, (dt, shape, lay) in layouts.items()},
        "sequences": ids.tolist(),
        "greedy": {"prompt_len": PROMPT_LEN, "new_tokens": NEW_TOKENS, "eos_token_id": None,
                   "how": "model.generate(do_sample=False, num_beams=1, KV cache on); eos_token_id null: no EOS "
                          "stopping; equals argmax of a cache-free recomputation at every step"},
        "loss_note": "HF labels=input_ids loss, one sequence at a time, output_router_logits off (aux loss not included)",
        "checks": checks,
    }
    with open(os.path.join(out_dir, "golden.json"), "w") as f:
        json.dump(meta, f, indent=2, sort_keys=True)
        f.write("\n")
    size = sum(os.path.getsize(os.path.join(out_dir, f)) for f in os.listdir(out_dir))
    assert size < spec.get("max_bytes", MAX_DIR_BYTES), f"{name} is {size} bytes"
    print(f"{name}: {size} bytes; moe layers {mlayers}; router margin {checks[key]}, greedy margin "
          f"{checks['min_greedy_top1_top2_logit_gap']}; sensitivity min "
          f"{min(float(x) for x in checks['feature_sensitivity'].values()):.3g}")
    return size


def _is_sliding(config, i):
    lt = getattr(config, "layer_types", None)
    if lt is not None:
        return lt[i] == "sliding_attention"
    return getattr(config, "sliding_window", None) is not None


def main():
    import sys

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    transformers.logging.set_verbosity_error()
    os.makedirs(MODELS, exist_ok=True)
    only = sys.argv[1:]  # fixture names: remake only those
    unknown = set(only) - {f["name"] for f in FIXTURES}
    assert not unknown, f"unknown fixtures {sorted(unknown)}"
    total = 0
    for spec in FIXTURES:
        if not only or spec["name"] in only:
            total += make_fixture(spec)
    print(f"total {total} bytes")


if __name__ == "__main__":
    main()
