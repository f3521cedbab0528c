package org.moescope.model;

import org.moescope.checkpoint.Checkpoint;
import org.moescope.errors.BadInputException;
import org.moescope.kernels.Experts;
import org.moescope.gguf.GgmlType;
import org.moescope.kernels.Weight;
import org.moescope.safetensors.DType;
import org.moescope.safetensors.TensorInfo;
import org.moescope.weights.Fp8;
import org.moescope.weights.Q8;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Map;

/**
 * The weights of a {@link ModelConfig}, named as in HF's modeling files. Matrices stay in the mapped checkpoint in their
 * stored dtype; norm vectors and biases are widened to float once. Every tensor's shape is checked against
 * {@link ModelConfig#expectedTensors()} when loading, and a tensor the config does not imply is refused.
 */
public final class ModelWeights {
    /** weight (n); bias (n) for LayerNorm, null for RMSNorm. */
    public record Norm(float[] weight, float[] bias) {
    }

    /** Self-attention's projections; biases and q/k norms are null where the family has none. */
    public record Attention(
            Weight q,       // (heads·head_dim, hidden)
            Weight k,       // (kv_heads·head_dim, hidden)
            Weight v,       // (kv_heads·head_dim, hidden)
            Weight o,       // (hidden, heads·head_dim)
            float[] qBias,  // (heads·head_dim)
            float[] kBias,  // (kv_heads·head_dim)
            float[] vBias,  // (kv_heads·head_dim)
            float[] oBias,  // (hidden)
            float[] qNorm,  // (heads·head_dim) over the whole projection, or (head_dim) per head
            float[] kNorm,  // (kv_heads·head_dim) or (head_dim)
            float[] sinks) { // (heads) a logit per head joining the softmax (gpt-oss), or null
    }

    /**
     * Multi-head latent attention's projections (DeepSeek-V2/V3); see {@link ModelConfig.Mla}. kv_b_proj's rows are, per
     * head, qk_nope_head_dim key rows (W_UK) then v_head_dim value rows (W_UV); uk and uv are those row blocks as
     * weights of their own (views, no copies), for the absorbed products.
     */
    public record LatentAttention(
            Weight q,          // (heads·qk_head_dim, hidden) q_proj, or null when q_lora_rank is set
            Weight qA,         // (q_lora_rank, hidden) q_a_proj, or null
            float[] qANorm,    // (q_lora_rank) q_a_layernorm, or null
            Weight qB,         // (heads·qk_head_dim, q_lora_rank) q_b_proj, or null
            Weight kvA,        // (kv_lora_rank + qk_rope_head_dim, hidden) kv_a_proj_with_mqa
            float[] kvANorm,   // (kv_lora_rank) kv_a_layernorm
            Weight kvB,        // (heads·(qk_nope_head_dim + v_head_dim), kv_lora_rank) kv_b_proj
            Weight[] uk,       // (heads) x (qk_nope_head_dim, kv_lora_rank) kv_b_proj's key rows of each head
            Weight[] uv,       // (heads) x (v_head_dim, kv_lora_rank) its value rows
            Weight o) {        // (hidden, heads·v_head_dim)
    }

    /** A SwiGLU MLP, down(silu(gate · x) ⊙ (up · x)): a dense layer's, or the shared expert. */
    public record Mlp(
            Weight gate,  // (width, hidden)
            Weight up,    // (width, hidden)
            Weight down) { // (hidden, width)
    }

    /** A sparse MoE block. */
    public record Moe(
            Weight router,            // (experts, hidden)
            float[] routerLinearBias, // (experts) the router's bias, added to its logits (gpt-oss), or null
            float[] routerBias,       // (experts) e_score_correction_bias: added to the scores to choose only, or null
            Experts experts,          // (experts) x gate, up (intermediate, hidden), down (hidden, intermediate) + biases
            Mlp shared,               // the shared expert(s), or null
            Weight sharedGate) { // (1, hidden) its sigmoid gate, or null when absent or ungated
    }

    /**
     * One decoder layer. Pre-norm: attnNorm = input_layernorm and ffnNorm = post_attention_layernorm, applied to the
     * sub-block's input; post-norm: post_attention_layernorm and post_feedforward_layernorm, applied to its output.
     * Exactly one of moe and mlp is set, and exactly one of attention and latent (MLA).
     */
    public record Layer(Norm attnNorm, Attention attention, Norm ffnNorm, Moe moe, Mlp mlp, LatentAttention latent) {
    }

    final Weight embedTokens;  // (vocab, hidden)
    final Layer[] layers;      // (layers)
    final Norm norm;           // (hidden) final norm, model.norm
    final Weight lmHead;       // (vocab, hidden); the embedding matrix when tied
    final float[] lmHeadBias;  // (vocab) or null

    private final Checkpoint ckpt;
    private Map<String, long[]> expected;
    private final int[] fp8Block; // quantization_config.weight_block_size of a block-scaled FP8 checkpoint, else null

    /**
     * How the routed experts' matrices are stored ({@link Weight#storage}), the bulk of an MoE checkpoint's bytes: one
     * name, or several joined by "+" with the most bytes first (llama.cpp's Q4_K_M mixes "q4_k+q6_k").
     */
    String expertStorage() {
        Map<String, Long> bytes = new java.util.HashMap<>();
        for (Layer layer : layers) {
            if (layer.moe() == null) continue;
            Experts x = layer.moe().experts();
            for (Weight[] ws : new Weight[][] {x.gate(), x.up(), x.down()}) {
                for (Weight w : ws) bytes.merge(w.storage(), w.data().byteSize(), Long::sum);
            }
        }
        return bytes.entrySet().stream()
                .sorted(Map.Entry.<String, Long>comparingByValue().reversed().thenComparing(Map.Entry.comparingByKey()))
                .map(Map.Entry::getKey).collect(java.util.stream.Collectors.joining("+"));
    }

    ModelWeights(Checkpoint ckpt, ModelConfig c) {
        this.ckpt = ckpt;
        // A Q8_0 checkpoint (weights convert --dtype q8_0) stores its projections and lm_head as int8 plus scales.
        expected = Q8.isQ8(ckpt.config()) ? Q8.withScales(c.expectedTensors()) : c.expectedTensors();
        // An FP8 checkpoint (DeepSeek-V3/R1, GLM-4.5-FP8) says per weight whether it is FP8: by storing W.weight_scale_inv.
        fp8Block = Fp8.blockSize(ckpt.config(), ckpt.dir().resolve(Checkpoint.CONFIG).toString());
        if (fp8Block != null) {
            expected = Fp8.withScales(expected, ckpt.tensorNames(), fp8Block);
        }
        for (String name : ckpt.tensorNames()) {
            if (!expected.containsKey(name) && !name.equals("lm_head.weight") && !c.isNextnTensor(name)) {
                throw new BadInputException(ckpt.dir() + ": unexpected tensor '" + name + "' for a " + c.modelType()
                        + " config.json" + (name.endsWith(Q8.SCALE_SUFFIX)
                        ? " (a Q8_0 scale, but config.json has no quantization_config)" : ""));
            }
        }
        embedTokens = matrix("model.embed_tokens.weight");
        layers = new Layer[c.numHiddenLayers()];
        for (int l = 0; l < layers.length; l++) {
            String p = "model.layers." + l + ".";
            Norm attnNorm = c.postNorm() ? norm(p + "post_attention_layernorm") : norm(p + "input_layernorm");
            Norm ffnNorm = c.postNorm() ? norm(p + "post_feedforward_layernorm") : norm(p + "post_attention_layernorm");
            String a = p + "self_attn.";
            LatentAttention latent = c.mla() != null ? latentAttention(c, a) : null;
            Attention attention = latent != null ? null : new Attention(matrix(a + "q_proj.weight"), matrix(a + "k_proj.weight"),
                    matrix(a + "v_proj.weight"), matrix(a + "o_proj.weight"),
                    optionalVector(a + "q_proj.bias"), optionalVector(a + "k_proj.bias"),
                    optionalVector(a + "v_proj.bias"), optionalVector(a + "o_proj.bias"),
                    optionalVector(a + "q_norm.weight"), optionalVector(a + "k_norm.weight"),
                    optionalVector(a + "sinks"));
            if (c.moeIndex(l) < 0) {
                layers[l] = new Layer(attnNorm, attention, ffnNorm, null, mlp(p + "mlp"), latent);
            } else {
                layers[l] = new Layer(attnNorm, attention, ffnNorm, moe(c, c.moeIndex(l), p + c.names().moeBlock() + "."), null,
                        latent);
            }
        }
        norm = norm("model.norm");
        lmHead = c.tieWordEmbeddings() ? embedTokens : matrix("lm_head.weight");
        lmHeadBias = optionalVector("lm_head.bias");
    }

    private LatentAttention latentAttention(ModelConfig c, String a) {
        ModelConfig.Mla m = c.mla();
        boolean lowRankQ = m.qLoraRank() > 0;
        Weight kvB = matrix(a + "kv_b_proj.weight");
        int heads = c.numAttentionHeads();
        int perHead = m.qkNopeHeadDim() + m.vHeadDim();
        Weight[] uk = new Weight[heads], uv = new Weight[heads];
        try {
            for (int h = 0; h < heads; h++) {
                uk[h] = kvB.rowSlice(h * perHead, m.qkNopeHeadDim());
                uv[h] = kvB.rowSlice(h * perHead + m.qkNopeHeadDim(), m.vHeadDim());
            }
        } catch (IllegalArgumentException e) {
            throw new BadInputException(ckpt.dir() + ": tensor '" + a + "kv_b_proj.weight': qk_nope_head_dim "
                    + m.qkNopeHeadDim() + " and v_head_dim " + m.vHeadDim() + " must be multiples of the FP8 block ("
                    + e.getMessage() + ")");
        }
        return new LatentAttention(lowRankQ ? null : matrix(a + "q_proj.weight"),
                lowRankQ ? matrix(a + "q_a_proj.weight") : null,
                lowRankQ ? vector(a + "q_a_layernorm.weight") : null,
                lowRankQ ? matrix(a + "q_b_proj.weight") : null,
                matrix(a + "kv_a_proj_with_mqa.weight"), vector(a + "kv_a_layernorm.weight"), kvB, uk, uv,
                matrix(a + "o_proj.weight"));
    }

    private Moe moe(ModelConfig c, int m, String b) {
        int experts = c.numExperts();
        Weight[] gate = new Weight[experts], up = new Weight[experts], down = new Weight[experts];
        switch (c.names().experts()) {
            case TensorNames.PerExpert n -> {
                for (int e = 0; e < experts; e++) {
                    String x = b + "experts." + e + ".";
                    gate[e] = matrix(x + n.gate() + ".weight");
                    up[e] = matrix(x + n.up() + ".weight");
                    down[e] = matrix(x + n.down() + ".weight");
                }
            }
            case TensorNames.Packed n -> {
                // (experts, 2·inter, hidden): expert e's gate rows, then its up rows; (experts, hidden, inter).
                int inter = c.moeIntermediateSize();
                Weight input = packed(b + n.input() + ".weight");
                Weight output = packed(b + n.output() + ".weight");
                for (int e = 0; e < experts; e++) {
                    gate[e] = input.rowSlice(2 * e * inter, inter);
                    up[e] = input.rowSlice((2 * e + 1) * inter, inter);
                    down[e] = output.rowSlice(e * c.hiddenSize(), c.hiddenSize());
                }
            }
            case TensorNames.Interleaved n -> {
                return moe(c, m, b, interleaved(c, b + "experts.", n));
            }
        }
        return moe(c, m, b, new Experts(gate, up, down));
    }

    private Moe moe(ModelConfig c, int m, String b, Experts experts) {
        boolean shared = c.hasSharedExpert();
        return new Moe(matrix(c.routerTensor(m)), optionalVector(c.routerLinearBiasTensor(m)),
                optionalVector(c.routerBiasTensor(m)), experts,
                shared ? mlp(b + c.names().sharedExpert()) : null,
                shared && c.sharedExpertGated() ? matrix(b + "shared_expert_gate.weight") : null);
    }

    /**
     * gpt-oss's experts. MXFP4: the Hub's blocks and scales are read in place, output-major, the gate rows the even
     * rows of gate_up and the up rows the odd ones. F32/BF16/F16 (HF's save_pretrained): the parameters are stored
     * input-major, (experts, hidden, 2·intermediate) and (experts, intermediate, hidden), so each expert's matrices are
     * transposed once into memory in their stored dtype, gate and up de-interleaved.
     */
    private Experts interleaved(ModelConfig c, String x, TensorNames.Interleaved n) {
        int experts = c.numExperts(), inter = c.moeIntermediateSize(), h = c.hiddenSize();
        Weight[] gate = new Weight[experts], up = new Weight[experts], down = new Weight[experts];
        if (c.mxfp4Experts()) {
            Weight gateUp = mxfp4(x + n.gateUp(), experts * 2 * inter, h);
            Weight downAll = mxfp4(x + n.down(), experts * h, inter);
            for (int e = 0; e < experts; e++) {
                gate[e] = gateUp.rows(2 * e * inter, inter, 2);
                up[e] = gateUp.rows(2 * e * inter + 1, inter, 2);
                down[e] = downAll.rowSlice(e * h, h);
            }
        } else {
            String gu = x + n.gateUp(), dn = x + n.down();
            DType t = checked(gu).dtype();
            if (checked(dn).dtype() != t) {
                throw new BadInputException(ckpt.dir() + ": tensors '" + gu + "' and '" + dn + "' differ in dtype");
            }
            MemorySegment gateUp = ckpt.segment(gu), downIn = ckpt.segment(dn);
            for (int e = 0; e < experts; e++) {
                // gate_up[e] is (hidden, 2·inter): gate row j is column 2j, up row j column 2j + 1.
                long base = (long) e * h * 2 * inter;
                gate[e] = new Weight(gu + "[" + e + "] gate", transposed(gateUp, t, base, h, 2 * inter, 0, 2), t, inter, h);
                up[e] = new Weight(gu + "[" + e + "] up", transposed(gateUp, t, base, h, 2 * inter, 1, 2), t, inter, h);
                down[e] = new Weight(dn + "[" + e + "]", transposed(downIn, t, (long) e * inter * h, inter, h, 0, 1), t,
                        h, inter);
            }
        }
        float[] gateUpBias = vector(x + n.gateUp() + "_bias");
        float[] gateBias = new float[experts * inter], upBias = new float[experts * inter];
        for (int i = 0; i < experts * inter; i++) {
            gateBias[i] = gateUpBias[2 * i];
            upBias[i] = gateUpBias[2 * i + 1];
        }
        return new Experts(gate, up, down, gateBias, upBias, vector(x + n.down() + "_bias"), c.swigluLimit());
    }

    /**
     * Columns first, first + step, ... of a (rows, cols) matrix starting at element base of src, as the rows of a
     * new (cols / step, rows) matrix in the same dtype.
     */
    private static MemorySegment transposed(MemorySegment src, DType t, long base, int rows, int cols, int first,
                                            int step) {
        int b = t.byteSize();
        int outRows = cols / step;
        MemorySegment dst = java.lang.foreign.Arena.ofAuto().allocate((long) outRows * rows * b, 8);
        for (int r = 0; r < rows; r++) {
            for (int j = 0; j < outRows; j++) {
                MemorySegment.copy(src, (base + (long) r * cols + first + (long) j * step) * b, dst,
                        ((long) j * rows + r) * b, b);
            }
        }
        return dst;
    }

    /** An MXFP4 matrix (rows, cols) from NAME_blocks (..., cols/32, 16) and NAME_scales (..., cols/32), both U8. */
    private Weight mxfp4(String name, int rows, int cols) {
        for (String part : new String[] {name + "_blocks", name + "_scales"}) {
            if (checked(part).dtype() != DType.U8) {
                throw new BadInputException(ckpt.dir() + ": tensor '" + part + "' has dtype " + ckpt.info(part).dtype()
                        + "; MXFP4 blocks and scales are U8");
            }
        }
        return new Weight(name, ckpt.segment(name + "_blocks"), DType.U8, rows, cols, ckpt.segment(name + "_scales"));
    }

    private Mlp mlp(String prefix) {
        return new Mlp(matrix(prefix + ".gate_proj.weight"), matrix(prefix + ".up_proj.weight"),
                matrix(prefix + ".down_proj.weight"));
    }

    private Norm norm(String prefix) {
        return new Norm(vector(prefix + ".weight"), optionalVector(prefix + ".bias"));
    }

    private TensorInfo checked(String name) {
        if (!ckpt.contains(name)) {
            throw new BadInputException(ckpt.dir() + ": missing tensor '" + name + "'");
        }
        TensorInfo info = ckpt.info(name);
        if (!Arrays.equals(info.shape(), expected.get(name))) {
            throw new BadInputException(ckpt.dir() + ": tensor '" + name + "' has shape " + info.shapeString()
                    + ", config.json implies " + Arrays.toString(expected.get(name)));
        }
        GgmlType g = ckpt.ggmlType(name);
        if (g != null && g.isBlockQuant()) {
            if (!g.computable()) {
                throw new BadInputException(ckpt.dir() + ": tensor '" + name + "' has ggml type " + g
                        + "; supported: F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K");
            }
            return info;
        }
        DType t = info.dtype();
        boolean q8Slot = expected.containsKey(name + Q8.SCALE_SUFFIX); // a Q8_0 checkpoint's quantised weight
        boolean fp8Slot = expected.containsKey(name + Fp8.SCALE_SUFFIX); // an FP8 checkpoint's block-scaled weight
        boolean mxfp4Part = name.endsWith("_blocks") || name.endsWith("_scales"); // checked as U8 by mxfp4()
        if (t == DType.F8_E4M3 && !fp8Slot) {
            throw new BadInputException(ckpt.dir() + ": tensor '" + name + "' has dtype F8_E4M3 but "
                    + (fp8Block == null ? "config.json has no quantization_config with quant_method fp8"
                    : "no '" + name + Fp8.SCALE_SUFFIX + "'"));
        }
        if (t != DType.F32 && t != DType.BF16 && t != DType.F16 && !(t == DType.I8 && q8Slot) && t != DType.F8_E4M3
                && !mxfp4Part) {
            throw new BadInputException(ckpt.dir() + ": tensor '" + name + "' has dtype " + t
                    + "; supported: F32, BF16, F16" + (q8Slot ? ", or I8 in a Q8_0 checkpoint" : ""));
        }
        return info;
    }

    /** A 2-D weight: (rows, cols). */
    private Weight matrix(String name) {
        TensorInfo info = checked(name);
        return weight(name, info, (int) info.shape()[0], (int) info.shape()[1]);
    }

    /** A 3-D weight (n, rows, cols) seen as (n·rows, cols); rowSlice cuts it per expert. */
    private Weight packed(String name) {
        TensorInfo info = checked(name);
        long[] s = info.shape();
        return weight(name, info, Math.toIntExact(s[0] * s[1]), (int) s[2]);
    }

    private Weight weight(String name, TensorInfo info, int rows, int cols) {
        MemorySegment data = ckpt.segment(name);
        GgmlType g = ckpt.ggmlType(name);
        if (g != null && g.isBlockQuant()) {
            if (cols % g.blockSize() != 0) {
                throw new BadInputException(ckpt.dir() + ": tensor '" + name + "' has " + cols
                        + " columns, not whole " + g + " blocks of " + g.blockSize());
            }
            return Weight.ggml(name, data, g, rows, cols);
        }
        if (info.dtype() == DType.F8_E4M3) {
            TensorInfo scales = checked(name + Fp8.SCALE_SUFFIX);
            if (scales.dtype() != DType.F32) {
                throw new BadInputException(ckpt.dir() + ": tensor '" + name + Fp8.SCALE_SUFFIX + "' has dtype "
                        + scales.dtype() + "; FP8 block scales are F32");
            }
            return Weight.blockScaled(name, data, rows, cols, ckpt.segment(name + Fp8.SCALE_SUFFIX), fp8Block[0],
                    fp8Block[1]);
        }
        if (info.dtype() != DType.I8) {
            return new Weight(name, data, info.dtype(), rows, cols);
        }
        String scaleName = name + Q8.SCALE_SUFFIX;
        TensorInfo scales = checked(scaleName);
        if (scales.dtype() != DType.F32) {
            throw new BadInputException(ckpt.dir() + ": tensor '" + scaleName + "' has dtype " + scales.dtype()
                    + "; Q8_0 scales are F32");
        }
        return new Weight(name, data, DType.I8, rows, cols, ckpt.segment(scaleName));
    }

    private float[] vector(String name) {
        checked(name);
        return ckpt.readFloats(name);
    }

    /** A vector the config may or may not imply (a bias, a q/k norm): read when expected, else null. */
    private float[] optionalVector(String name) {
        return expected.containsKey(name) ? vector(name) : null;
    }
}
