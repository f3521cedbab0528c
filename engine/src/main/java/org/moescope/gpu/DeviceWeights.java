package org.moescope.gpu;

import org.moescope.backend.BackendStartupException;
import org.moescope.checkpoint.Checkpoint;
import org.moescope.errors.BadInputException;
import org.moescope.model.ModelConfig;
import org.moescope.safetensors.DType;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * OLMoE's weights packed for a device: each layer's q, k and v projections stacked into one matrix, every expert's
 * gate and up projections stacked, and all experts of a layer in one array, so that a kernel reads any expert by row
 * offset. BF16/F16 stay half-width (their bits in a short[]); the norm vectors are widened to float. The embedding
 * is not packed: its rows are widened on the host, one per token. Arrays are on the Java heap, so each matrix must
 * stay below 2^31 elements.
 */
public final class DeviceWeights {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** A row-major (rows, cols) matrix: F32 values in f32 or half bits in half; the other is a 1-element placeholder. */
    public record Matrix(float[] f32, short[] half, int rows, int cols) {
    }

    public final int dtype;              // DeviceKernels.F32 / BF16 / F16, shared by every matrix
    public final float[] table;          // exponent table of dtype (DeviceKernels.exponentTable)
    public final float[][] attnNorm;     // (layers, hidden)   input_layernorm
    public final Matrix[] qkv;           // (layers) x (hidden + 2·kv_dim, hidden)
    public final float[][] qkNorm;       // (layers, hidden + kv_dim) q_norm then k_norm
    public final Matrix[] o;             // (layers) x (hidden, hidden)
    public final float[][] postNorm;     // (layers, hidden)   post_attention_layernorm
    public final Matrix[] router;        // (layers) x (experts, hidden)
    public final Matrix[] gateUp;        // (layers) x (experts·2·inter, hidden): expert e's gate rows, then its up rows
    public final Matrix[] down;          // (layers) x (experts·hidden, inter)
    public final float[] finalNorm;      // (hidden)
    public final Matrix lmHead;          // (vocab, hidden)

    /** The checkpoint must already be validated against the config (MoeTransformer.load does). */
    public DeviceWeights(Checkpoint ckpt, ModelConfig c) {
        DType stored = ckpt.info("model.embed_tokens.weight").dtype();
        dtype = switch (stored) {
            case F32 -> DeviceKernels.F32;
            case BF16 -> DeviceKernels.BF16;
            case F16 -> DeviceKernels.F16;
            default -> throw new BadInputException(ckpt.dir() + ": unsupported dtype " + stored);
        };
        table = DeviceKernels.exponentTable(dtype);
        int layers = c.numHiddenLayers();
        int experts = c.numExperts();
        int h = c.hiddenSize();
        int inter = c.moeIntermediateSize();
        attnNorm = new float[layers][];
        qkv = new Matrix[layers];
        qkNorm = new float[layers][];
        o = new Matrix[layers];
        postNorm = new float[layers][];
        router = new Matrix[layers];
        gateUp = new Matrix[layers];
        down = new Matrix[layers];
        for (int l = 0; l < layers; l++) {
            String p = "model.layers." + l + ".";
            attnNorm[l] = ckpt.readFloats(p + "input_layernorm.weight");
            qkv[l] = stack(ckpt, h + 2 * c.kvDim(), h, p + "self_attn.q_proj.weight", p + "self_attn.k_proj.weight",
                    p + "self_attn.v_proj.weight");
            float[] qn = ckpt.readFloats(p + "self_attn.q_norm.weight");
            float[] kn = ckpt.readFloats(p + "self_attn.k_norm.weight");
            qkNorm[l] = java.util.Arrays.copyOf(qn, qn.length + kn.length);
            System.arraycopy(kn, 0, qkNorm[l], qn.length, kn.length);
            o[l] = stack(ckpt, h, h, p + "self_attn.o_proj.weight");
            postNorm[l] = ckpt.readFloats(p + "post_attention_layernorm.weight");
            router[l] = stack(ckpt, experts, h, p + "mlp.gate.weight");
            String[] gu = new String[2 * experts];
            String[] dn = new String[experts];
            for (int e = 0; e < experts; e++) {
                String x = p + "mlp.experts." + e + ".";
                gu[2 * e] = x + "gate_proj.weight";
                gu[2 * e + 1] = x + "up_proj.weight";
                dn[e] = x + "down_proj.weight";
            }
            gateUp[l] = stack(ckpt, experts * 2 * inter, h, gu);
            down[l] = stack(ckpt, experts * h, inter, dn);
        }
        finalNorm = ckpt.readFloats("model.norm.weight");
        lmHead = stack(ckpt, c.vocabSize(), h,
                c.tieWordEmbeddings() ? "model.embed_tokens.weight" : "lm_head.weight");
    }

    /** The named (r_i, cols) tensors one after another as one (rows, cols) matrix in this.dtype. */
    private Matrix stack(Checkpoint ckpt, int rows, int cols, String... names) {
        long n = (long) rows * cols;
        if (n > Integer.MAX_VALUE - 8) {
            throw new BadInputException(ckpt.dir() + ": " + names[0] + " and its stack hold " + n
                    + " elements, more than one device array can (2^31)");
        }
        boolean f32 = dtype == DeviceKernels.F32;
        float[] f = new float[f32 ? (int) n : 1];
        short[] s = new short[f32 ? 1 : (int) n];
        int at = 0;
        for (String name : names) {
            DType t = ckpt.info(name).dtype();
            if (t == DType.I8) {
                // Not bad input: the checkpoint is fine, this backend cannot run it (auto falls back to the CPU).
                throw new BackendStartupException("the device backends cannot run Q8_0 checkpoints (" + ckpt.dir()
                        + "); use --backend cpu", null);
            }
            if (t != ckpt.info("model.embed_tokens.weight").dtype()) {
                throw new BadInputException(ckpt.dir() + ": tensor '" + name + "' is " + t
                        + "; the device backends need every matrix in the embedding's dtype");
            }
            MemorySegment seg = ckpt.segment(name);
            int count = (int) (seg.byteSize() / t.byteSize());
            if (f32) {
                MemorySegment.copy(seg, F32, 0, f, at, count);
            } else {
                MemorySegment.copy(seg, I16, 0, s, at, count);
            }
            at += count;
        }
        if (at != n) {
            throw new IllegalStateException(names[0] + ": stacked " + at + " elements, expected " + n);
        }
        return new Matrix(f, s, rows, cols);
    }
}
