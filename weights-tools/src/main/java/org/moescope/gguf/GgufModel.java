package org.moescope.gguf;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.moescope.errors.BadInputException;
import org.moescope.safetensors.DType;
import org.moescope.safetensors.TensorInfo;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How llama.cpp's GGUF files spell an HF checkpoint, for the MoE architectures both run: the {@code <arch>.*} metadata
 * keys that carry config.json's fields, and the tensor names ({@code blk.N.attn_q.weight} is
 * {@code model.layers.N.self_attn.q_proj.weight}; the experts' {@code ffn_gate_exps.weight} (experts, intermediate,
 * hidden) is every {@code experts.E.gate_proj.weight} at once). Both directions read the same tables ({@link #KEYS},
 * {@link #LAYER_TENSORS}), so reading and {@code weights convert --to gguf} cannot disagree.
 */
public final class GgufModel {
    private GgufModel() {
    }

    /**
     * An architecture: its GGUF name, HF model_type, the MoE block's module and expert projections there, whether
     * llama.cpp's converter permutes q/k rows for its RoPE (llama: rotates adjacent pairs, so the HF halves are
     * interleaved), llama.cpp's fixed choice of renormalising the top-k weights when the file does not say, and
     * whether llama.cpp's loader requires {@code output.weight} (no fallback to token_embd for tied embeddings).
     */
    public record Arch(String name, String modelType, String moeBlock, String gate, String up, String down,
                       boolean permutedQk, boolean normTopk, boolean outputRequired) {
    }

    public static final List<Arch> ARCHES = List.of(
            new Arch("olmoe", "olmoe", "mlp", "gate_proj", "up_proj", "down_proj", false, false, true),
            new Arch("qwen2moe", "qwen2_moe", "mlp", "gate_proj", "up_proj", "down_proj", false, false, true),
            new Arch("qwen3moe", "qwen3_moe", "mlp", "gate_proj", "up_proj", "down_proj", false, true, false),
            new Arch("llama", "mixtral", "block_sparse_moe", "w1", "w3", "w2", true, true, false));

    public static Arch byName(String name) {
        return ARCHES.stream().filter(a -> a.name.equals(name)).findFirst().orElse(null);
    }

    public static Arch byModelType(String modelType) {
        return ARCHES.stream().filter(a -> a.modelType.equals(modelType)).findFirst().orElse(null);
    }

    enum Kind { UINT32, FLOAT32, BOOL }

    /** {@code <arch>.SUFFIX} ↔ config.json's field. */
    record Key(String suffix, String hf, Kind kind) {
    }

    static final List<Key> KEYS = List.of(
            new Key("context_length", "max_position_embeddings", Kind.UINT32),
            new Key("embedding_length", "hidden_size", Kind.UINT32),
            new Key("block_count", "num_hidden_layers", Kind.UINT32),
            new Key("feed_forward_length", "intermediate_size", Kind.UINT32),
            new Key("expert_feed_forward_length", "moe_intermediate_size", Kind.UINT32),
            new Key("expert_shared_feed_forward_length", "shared_expert_intermediate_size", Kind.UINT32),
            new Key("attention.head_count", "num_attention_heads", Kind.UINT32),
            new Key("attention.head_count_kv", "num_key_value_heads", Kind.UINT32),
            new Key("attention.key_length", "head_dim", Kind.UINT32),
            new Key("attention.layer_norm_rms_epsilon", "rms_norm_eps", Kind.FLOAT32),
            new Key("rope.freq_base", "rope_theta", Kind.FLOAT32),
            new Key("expert_count", "num_experts", Kind.UINT32),
            new Key("expert_used_count", "num_experts_per_tok", Kind.UINT32),
            new Key("expert_weights_norm", "norm_topk_prob", Kind.BOOL),
            new Key("attention.clamp_kqv", "clip_qkv", Kind.FLOAT32));

    /** blk.N.GGUF ↔ model.layers.N.HF; "{moe}" is the family's MoE block. The .weight/.bias suffix is kept. */
    static final List<String[]> LAYER_TENSORS = List.of(
            new String[] {"attn_norm", "input_layernorm"},
            new String[] {"ffn_norm", "post_attention_layernorm"},
            new String[] {"attn_q", "self_attn.q_proj"},
            new String[] {"attn_k", "self_attn.k_proj"},
            new String[] {"attn_v", "self_attn.v_proj"},
            new String[] {"attn_output", "self_attn.o_proj"},
            new String[] {"attn_q_norm", "self_attn.q_norm"},
            new String[] {"attn_k_norm", "self_attn.k_norm"},
            new String[] {"ffn_gate_inp", "{moe}.gate"},
            new String[] {"ffn_gate_inp_shexp", "{moe}.shared_expert_gate"},
            new String[] {"ffn_gate_shexp", "{moe}.shared_expert.gate_proj"},
            new String[] {"ffn_up_shexp", "{moe}.shared_expert.up_proj"},
            new String[] {"ffn_down_shexp", "{moe}.shared_expert.down_proj"},
            new String[] {"ffn_gate", "mlp.gate_proj"},
            new String[] {"ffn_up", "mlp.up_proj"},
            new String[] {"ffn_down", "mlp.down_proj"});

    static final Map<String, String> GLOBAL_TENSORS = Map.of(
            "token_embd", "model.embed_tokens", "output_norm", "model.norm", "output", "lm_head");

    /** The experts: ffn_{gate,up,down}_exps. */
    static final String[] EXPERT_TENSORS = {"ffn_gate_exps", "ffn_up_exps", "ffn_down_exps"};

    private static final Pattern LAYER = Pattern.compile("blk\\.(\\d+)\\.([a-z_]+)\\.(weight|bias)");
    private static final Pattern HF_LAYER = Pattern.compile("model\\.layers\\.(\\d+)\\.(.+)\\.(weight|bias)");
    private static final Pattern HF_EXPERT = Pattern.compile("(.+)\\.experts\\.(\\d+)\\.([a-z_0-9]+)\\.weight");

    /** A tensor of the HF view: its safetensors-style info (U8 for block types), ggml type and bytes. */
    public record Stored(TensorInfo info, GgmlType type, MemorySegment segment) {
    }

    /** The HF view of a GGUF file: config.json's fields and the tensors by HF name. */
    public record Opened(Arch arch, ObjectNode config, Map<String, Stored> tensors) {
    }

    /** The architecture a file declares, refused with a line naming the key when we do not run it. */
    public static Arch arch(GgufFile f) {
        String name = f.string("general.architecture");
        Arch a = byName(name);
        if (a == null || (a.name.equals("llama") && !f.has("llama.expert_count"))) {
            throw new BadInputException(f.path() + ": metadata 'general.architecture' = " + name
                    + " is not a supported MoE architecture; supported: olmoe, qwen2moe, qwen3moe, llama with experts"
                    + " (Mixtral)");
        }
        return a;
    }

    /** Reads a GGUF file as an HF checkpoint; q/k rows permuted by llama.cpp's converter are copied back into arena. */
    public static Opened open(GgufFile f, Arena arena) {
        Arch a = arch(f);
        ObjectNode config = config(f, a);
        Map<String, Stored> out = new LinkedHashMap<>();
        int heads = config.get("num_attention_heads").intValue();
        int kvHeads = config.get("num_key_value_heads").intValue();
        for (GgufTensor t : f.tensors()) {
            String name = t.name();
            Matcher m = LAYER.matcher(name);
            if (m.matches() && List.of(EXPERT_TENSORS).contains(m.group(2))) {
                experts(f, a, t, Integer.parseInt(m.group(1)), m.group(2), out);
                continue;
            }
            String hf = hfName(name, a);
            if (hf == null) {
                throw new BadInputException(f.path() + ": tensor '" + name + "' is not one a " + a.name
                        + " model has");
            }
            long[] shape = t.shape();
            if (hf.endsWith(".shared_expert_gate.weight") && shape.length == 1) {
                shape = new long[] {1, shape[0]}; // llama.cpp keeps HF's (1, hidden) gate as a vector
            }
            MemorySegment seg = f.segment(name);
            if (a.permutedQk && m.matches() && (m.group(2).equals("attn_q") || m.group(2).equals("attn_k"))) {
                seg = unpermute(seg, m.group(2).equals("attn_q") ? heads : kvHeads, t, arena);
            }
            out.put(hf, stored(hf, t.type(), shape, seg));
        }
        return new Opened(a, config, out);
    }

    private static Stored stored(String hf, GgmlType type, long[] shape, MemorySegment seg) {
        DType d = switch (type) {
            case F32 -> DType.F32;
            case F16 -> DType.F16;
            case BF16 -> DType.BF16;
            default -> DType.U8;
        };
        return new Stored(new TensorInfo(hf, d, shape, 0, seg.byteSize()), type, seg);
    }

    /** ffn_*_exps (experts, rows, cols) as one HF tensor per expert: rows·rowBytes contiguous bytes each. */
    private static void experts(GgufFile f, Arch a, GgufTensor t, int layer, String which, Map<String, Stored> out) {
        long[] s = t.shape();
        if (s.length != 3) {
            throw new BadInputException(f.path() + ": tensor '" + t.name() + "' has " + s.length
                    + " dimensions; experts are (experts, rows, cols)");
        }
        String proj = which.equals("ffn_gate_exps") ? a.gate : which.equals("ffn_up_exps") ? a.up : a.down;
        long bytes = s[1] * t.type().rowBytes(s[2]);
        MemorySegment seg = f.segment(t.name());
        for (int e = 0; e < s[0]; e++) {
            String hf = "model.layers." + layer + "." + a.moeBlock + ".experts." + e + "." + proj + ".weight";
            out.put(hf, stored(hf, t.type(), new long[] {s[1], s[2]}, seg.asSlice(e * bytes, bytes)));
        }
    }

    /** The HF name of a non-expert GGUF tensor, or null. */
    static String hfName(String gguf, Arch a) {
        Matcher m = LAYER.matcher(gguf);
        if (m.matches()) {
            for (String[] p : LAYER_TENSORS) {
                if (p[0].equals(m.group(2))) {
                    return "model.layers." + m.group(1) + "." + p[1].replace("{moe}", a.moeBlock) + "." + m.group(3);
                }
            }
            return null;
        }
        int dot = gguf.lastIndexOf('.');
        String hf = dot < 0 ? null : GLOBAL_TENSORS.get(gguf.substring(0, dot));
        return hf == null ? null : hf + gguf.substring(dot);
    }

    /** The GGUF name of an HF tensor (experts: the packed tensor's name), or null when GGUF has no place for it. */
    public static String ggufName(String hf, Arch a) {
        Matcher x = HF_EXPERT.matcher(hf);
        if (x.matches()) {
            Matcher m = HF_LAYER.matcher(hf);
            if (!m.matches()) return null;
            String proj = x.group(3);
            int i = proj.equals(a.gate) ? 0 : proj.equals(a.up) ? 1 : proj.equals(a.down) ? 2 : -1;
            return i < 0 ? null : "blk." + m.group(1) + "." + EXPERT_TENSORS[i] + ".weight";
        }
        Matcher m = HF_LAYER.matcher(hf);
        if (m.matches()) {
            for (String[] p : LAYER_TENSORS) {
                if (p[1].replace("{moe}", a.moeBlock).equals(m.group(2))) {
                    return "blk." + m.group(1) + "." + p[0] + "." + m.group(3);
                }
            }
            return null;
        }
        int dot = hf.lastIndexOf('.');
        for (Map.Entry<String, String> g : GLOBAL_TENSORS.entrySet()) {
            if (dot > 0 && g.getValue().equals(hf.substring(0, dot))) return g.getKey() + hf.substring(dot);
        }
        return null;
    }

    /** config.json's fields from the metadata (and from which tensors the file has). */
    static ObjectNode config(GgufFile f, Arch a) {
        ObjectNode c = JsonNodeFactory.instance.objectNode();
        c.put("model_type", a.modelType);
        c.put("hidden_act", "silu");
        String p = a.name + ".";
        for (String k : List.of("rope.scaling.type")) {
            if (f.has(p + k) && !f.string(p + k).equals("none")) {
                throw new BadInputException(f.path() + ": metadata '" + p + k + "' = " + f.string(p + k)
                        + ": scaled RoPE is not supported");
            }
        }
        for (Key k : KEYS) {
            if (!f.has(p + k.suffix)) continue;
            String hf = k.hf.equals("num_experts") && a.modelType.equals("mixtral") ? "num_local_experts" : k.hf;
            switch (k.kind) {
                case UINT32 -> c.put(hf, (int) Math.min(Integer.MAX_VALUE, f.count(p + k.suffix)));
                case FLOAT32 -> c.put(hf, f.number(p + k.suffix));
                case BOOL -> c.put(hf, f.bool(p + k.suffix));
            }
        }
        for (String required : List.of("hidden_size", "num_hidden_layers", "num_attention_heads")) {
            if (!c.has(required)) {
                throw new BadInputException(f.path() + ": missing metadata '" + p
                        + KEYS.stream().filter(k -> k.hf.equals(required)).findFirst().orElseThrow().suffix + "'");
            }
        }
        if (!c.has("num_key_value_heads")) c.put("num_key_value_heads", c.get("num_attention_heads").intValue());
        if (!c.has("norm_topk_prob")) c.put("norm_topk_prob", a.normTopk);
        if (!f.contains("token_embd.weight")) {
            throw new BadInputException(f.path() + ": missing tensor 'token_embd.weight'");
        }
        GgufTensor embd = f.tensor("token_embd.weight");
        c.put("vocab_size", embd.shape()[0]);
        c.put("tie_word_embeddings", !f.contains("output.weight"));
        if (!c.has("intermediate_size") && c.has("moe_intermediate_size")) {
            c.put("intermediate_size", c.get("moe_intermediate_size").intValue());
        }
        // What llama.cpp reads from the tensors rather than the metadata: biases and dense (non-MoE) layers.
        boolean qkvBias = f.contains("blk.0.attn_q.bias");
        if (a.modelType.equals("qwen2_moe")) c.put("qkv_bias", qkvBias);
        else c.put("attention_bias", qkvBias || f.contains("blk.0.attn_output.bias"));
        List<Integer> dense = new ArrayList<>();
        int layers = c.get("num_hidden_layers").intValue();
        for (int l = 0; l < layers; l++) {
            if (!f.contains("blk." + l + ".ffn_gate_inp.weight")) dense.add(l);
        }
        if (!dense.isEmpty()) {
            if (!a.modelType.startsWith("qwen")) {
                throw new BadInputException(f.path() + ": layer " + dense.get(0) + " has no 'blk." + dense.get(0)
                        + ".ffn_gate_inp.weight' (router); every " + a.name + " layer is MoE");
            }
            c.set("mlp_only_layers", JsonNodeFactory.instance.arrayNode().addAll(
                    dense.stream().map(JsonNodeFactory.instance::numberNode).toList()));
        }
        putTokenId(f, c, "tokenizer.ggml.eos_token_id", "eos_token_id");
        putTokenId(f, c, "tokenizer.ggml.padding_token_id", "pad_token_id");
        putTokenId(f, c, "tokenizer.ggml.bos_token_id", "bos_token_id");
        String dtype = switch (embd.type()) {
            case F32 -> "float32";
            case F16 -> "float16";
            case BF16 -> "bfloat16";
            default -> null;
        };
        if (dtype != null) c.put("dtype", dtype);
        return c;
    }

    private static void putTokenId(GgufFile f, ObjectNode c, String key, String hf) {
        if (f.has(key)) c.put(hf, f.count(key));
    }

    /**
     * Undoes convert_hf_to_gguf's permute for llama's RoPE: GGUF row h·d + 2i + t holds HF row h·d + t·d/2 + i (d the
     * head dimension). Rows are whole blocks in every ggml type, so the copy keeps the stored type.
     */
    static MemorySegment unpermute(MemorySegment seg, int heads, GgufTensor t, Arena arena) {
        long rows = t.shape()[0];
        long rowBytes = t.type().rowBytes(t.ne()[0]);
        int d = (int) (rows / heads);
        MemorySegment out = arena.allocate(seg.byteSize(), 64);
        for (int h = 0; h < heads; h++) {
            for (int i = 0; i < d / 2; i++) {
                for (int k = 0; k < 2; k++) {
                    long src = (long) h * d + 2L * i + k;
                    long dst = (long) h * d + (long) k * (d / 2) + i;
                    MemorySegment.copy(seg, src * rowBytes, out, dst * rowBytes, rowBytes);
                }
            }
        }
        return out.asReadOnly();
    }

    /** The inverse of {@link #unpermute} on one row-major matrix of rows·rowBytes bytes, for the writer. */
    public static byte[] permute(byte[] hfRows, int heads, long rowBytes) {
        byte[] out = new byte[hfRows.length];
        int rows = (int) (hfRows.length / rowBytes);
        int d = rows / heads;
        for (int h = 0; h < heads; h++) {
            for (int i = 0; i < d / 2; i++) {
                for (int k = 0; k < 2; k++) {
                    long gg = (long) h * d + 2L * i + k;
                    long hf = (long) h * d + (long) k * (d / 2) + i;
                    System.arraycopy(hfRows, (int) (hf * rowBytes), out, (int) (gg * rowBytes), (int) rowBytes);
                }
            }
        }
        return out;
    }

    /** The {@code <arch>.*} metadata of config.json's fields (those it sets; nulls skipped). */
    public static Map<String, GgufValue> archMetadata(Arch a, JsonNode config) {
        Map<String, GgufValue> out = new LinkedHashMap<>();
        for (Key k : KEYS) {
            JsonNode v = field(config, k.hf);
            if (v == null || v.isNull()) continue;
            String key = a.name + "." + k.suffix;
            switch (k.kind) {
                case UINT32 -> out.put(key, GgufValue.u32(v.asLong()));
                case FLOAT32 -> out.put(key, GgufValue.f32((float) v.asDouble()));
                case BOOL -> out.put(key, GgufValue.bool(v.asBoolean()));
            }
        }
        String ffn = a.name + ".expert_feed_forward_length";
        if (!out.containsKey(ffn) && config.has("intermediate_size")) {
            // OLMoE and Mixtral call the experts' width intermediate_size; llama.cpp reads it from either key
            out.put(ffn, GgufValue.u32(config.get("intermediate_size").asLong()));
        }
        return out;
    }

    /** Reads a config field as config.json may spell it (experts' count under either name). */
    static JsonNode field(JsonNode config, String hf) {
        if (hf.equals("num_experts") && !config.has("num_experts")) return config.get("num_local_experts");
        if (hf.equals("rope_theta") && !config.has("rope_theta") && config.has("rope_parameters")) {
            return config.get("rope_parameters").get("rope_theta");
        }
        return config.get(hf);
    }
}
