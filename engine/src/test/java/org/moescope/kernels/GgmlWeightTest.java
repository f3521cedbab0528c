package org.moescope.kernels;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.moescope.gguf.GgmlBlocks;
import org.moescope.gguf.GgmlQuantiser;
import org.moescope.gguf.GgmlType;
import org.moescope.safetensors.DType;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A weight in a ggml block type computes as the F32 weight of its decoded values (GgmlBlocks, checked against gguf-py
 * in weights-tools), in every kernel that reads weights, on every implementation (scalar, vector, batch-invariant):
 * streamed (1 and 2 tokens: VectorKernels' fused GgmlRows.dot) and tiled (3 and 40: GgmlRows.widen into the tiles)
 * products, the experts (streamed and tiled), a row lookup (bit for bit). Blocks come from the quantiser and as random
 * bytes (every bit pattern of the packed scales, nibbles and high bits; the f16 scales set to finite values).
 */
class GgmlWeightTest {
    static final int ROWS = 24, COLS = 512;

    /** Random blocks of `type`: random bytes with finite f16 scales of about `scale`. */
    static byte[] randomBlocks(GgmlType type, int rows, int cols, long seed, float scale) {
        Random rnd = new Random(seed);
        byte[] q = new byte[(int) (rows * type.rowBytes(cols))];
        rnd.nextBytes(q);
        int[] f16At = switch (type) {
            case Q8_0, Q4_0 -> new int[] {0};
            case Q4_K, Q5_K -> new int[] {0, 2};
            case Q6_K -> new int[] {208};
            default -> throw new IllegalArgumentException(type.toString());
        };
        for (int b = 0; b < q.length; b += type.typeSize()) {
            for (int at : f16At) {
                short h = Float.floatToFloat16((float) rnd.nextGaussian() * scale);
                q[b + at] = (byte) h;
                q[b + at + 1] = (byte) (h >> 8);
            }
        }
        return q;
    }

    /** An f16 scale that makes random blocks' values about 0.1, as a model's (the largest code times the scale). */
    static float typicalScale(GgmlType type) {
        return switch (type) {
            case Q8_0 -> 1e-3f;
            case Q4_0 -> 1e-2f;
            case Q4_K, Q5_K -> 1e-4f; // up to 63 · 31 steps
            default -> 3e-5f; // Q6_K: up to 128 · 32 steps
        };
    }

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q8_0", "Q4_0", "Q4_K", "Q5_K", "Q6_K"})
    void computesAsItsDecodedValues(GgmlType type) {
        Random rnd = new Random(type.ordinal());
        float[] w = new float[ROWS * COLS];
        for (int i = 0; i < w.length; i++) w[i] = (float) rnd.nextGaussian() * 0.1f;
        check(type, GgmlQuantiser.encode(type, w, 0, w.length), ROWS, COLS, rnd);
        check(type, randomBlocks(type, ROWS, COLS, type.ordinal(), typicalScale(type)), ROWS, COLS, rnd);
        if (type.blockSize() == 32) { // an odd number of blocks a row (Q8_0's fused product takes two at a time)
            check(type, randomBlocks(type, 9, 96, 3, typicalScale(type)), 9, 96, rnd);
        }
    }

    /** The K-quant products' vectorised scale decode gives the reference decoder's values times d or dmin, exactly. */
    @Test
    void decodesQ4KScalesAndMinimumsInLanes() {
        assumeTrue(GgmlRows.K_FUSED, "no fused K-quant products on this CPU");
        byte[] q = randomBlocks(GgmlType.Q4_K, 64, 256, 11, 1f);
        MemorySegment s = MemorySegment.ofArray(q);
        int lanes = VectorKernels.L;
        for (int b = 0; b < 64; b++) {
            long at = 144L * b;
            float d = Float.float16ToFloat(s.get(ValueLayout.JAVA_SHORT_UNALIGNED, at));
            float dmin = Float.float16ToFloat(s.get(ValueLayout.JAVA_SHORT_UNALIGNED, at + 2));
            for (int part = 0; part < 16 / lanes; part++) {
                float[] got = GgmlRows.scalesAndMins(s, at, part).toArray();
                for (int i = 0; i < lanes; i++) {
                    int o = part * lanes + i;
                    float want = o < 8 ? d * GgmlBlocks.scale(s, at + 4, o) : dmin * GgmlBlocks.min(s, at + 4, o - 8);
                    assertEquals(want, got[i], 0f, "block " + b + " lane " + o);
                }
            }
        }
    }

    /**
     * Experts whose down projections are K-quants too (as in a Q4_K_M file: Q4_K gate/up, Q6_K or Q4_K down, so one
     * call needs both prepared layouts): in decode each expert's intermediate rows are prepared once per call for its
     * down projection's jobs (the row of each expert's tokens among all slots), with 5 tokens they tile.
     */
    @Test
    void expertsWithBlockQuantisedDownProjectionsComputeAsTheirDecodedValues() {
        int hidden = 256, inter = 512, experts = 3, k = 2;
        GgmlType[] downTypes = {GgmlType.Q6_K, GgmlType.Q4_K, GgmlType.Q5_K};
        Random rnd = new Random(5);
        try (Arena arena = Arena.ofShared()) {
            Weight[][] q = new Weight[3][experts], f = new Weight[3][experts]; // gate, up, down
            for (int e = 0; e < experts; e++) {
                for (int m = 0; m < 3; m++) {
                    GgmlType type = m == 2 ? downTypes[e] : GgmlType.Q4_K;
                    int rows = m == 2 ? hidden : inter, cols = m == 2 ? inter : hidden;
                    float[] w = new float[rows * cols];
                    for (int i = 0; i < w.length; i++) w[i] = (float) rnd.nextGaussian() * 0.1f;
                    byte[] blocks = GgmlQuantiser.encode(type, w, 0, w.length);
                    float[] decoded = new float[w.length];
                    GgmlBlocks.dequantise(type, MemorySegment.ofArray(blocks), 0, 0, w.length, decoded, 0);
                    MemorySegment qs = arena.allocate(blocks.length);
                    MemorySegment.copy(blocks, 0, qs, ValueLayout.JAVA_BYTE, 0, blocks.length);
                    q[m][e] = Weight.ggml("q" + m + e, qs, type, rows, cols);
                    f[m][e] = new Weight("f" + m + e, MemorySegment.ofArray(decoded), DType.F32, rows, cols);
                }
            }
            for (Kernels kernels : new Kernels[] {new VectorKernels(), VectorKernels.batchInvariant()}) {
                for (int tokens : new int[] {1, 2, 5}) {
                    float[] x = new float[tokens * hidden];
                    for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
                    int[] ids = new int[tokens * k];
                    float[] weights = new float[tokens * k];
                    for (int t = 0; t < tokens; t++) {
                        ids[k * t] = t % experts;
                        ids[k * t + 1] = (t + 1 + t / experts) % experts;
                        weights[k * t] = 0.6f;
                        weights[k * t + 1] = 0.4f;
                    }
                    float[] got = new float[tokens * hidden], want = new float[tokens * hidden];
                    kernels.moe(got, x, tokens, ids, weights, k, q[0], q[1], q[2]);
                    kernels.moe(want, x, tokens, ids, weights, k, f[0], f[1], f[2]);
                    for (int i = 0; i < got.length; i++) {
                        assertEquals(want[i], got[i], 1e-4f * (1 + Math.abs(want[i])), kernels + " tokens " + tokens + " at " + i);
                    }
                }
            }
        }
    }

    private static void check(GgmlType type, byte[] q, int rows, int cols, Random rnd) {
        float[] decoded = new float[rows * cols];
        GgmlBlocks.dequantise(type, MemorySegment.ofArray(q), 0, 0, decoded.length, decoded, 0);
        try (Arena arena = Arena.ofShared()) {
            MemorySegment qs = arena.allocate(q.length);
            MemorySegment.copy(q, 0, qs, ValueLayout.JAVA_BYTE, 0, q.length);
            MemorySegment fs = arena.allocate(4L * decoded.length);
            MemorySegment.copy(decoded, 0, fs, ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0,
                    decoded.length);
            Weight gw = Weight.ggml("w", qs, type, rows, cols);
            Weight fw = new Weight("w", fs, DType.F32, rows, cols);
            String what = type + " " + rows + "x" + cols;
            for (Kernels k : new Kernels[] {new ScalarKernels(), new VectorKernels(), VectorKernels.batchInvariant()}) {
                for (int tokens : new int[] {1, 2, 3, 40}) {
                    float[] x = new float[tokens * cols];
                    for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
                    float[] a = new float[tokens * rows], b = new float[tokens * rows];
                    k.matmul(a, x, tokens, gw);
                    k.matmul(b, x, tokens, fw);
                    for (int i = 0; i < a.length; i++) {
                        assertEquals(b[i], a[i], 1e-4f * (1 + Math.abs(b[i])), what + " " + k + " tokens " + tokens);
                    }
                }
                float[] r1 = new float[cols], r2 = new float[cols];
                for (int r = 0; r < rows; r++) {
                    k.row(gw, r, r1, 0);
                    k.row(fw, r, r2, 0);
                    for (int i = 0; i < cols; i++) assertEquals(r2[i], r1[i], 0f, what + " row " + r + " column " + i);
                }
                if (rows < 24) continue;
                // experts: gate/up (inter = 8 rows) and down (cols rows of 8 is not whole blocks, so F32 down)
                Weight[] gate = {gw.rowSlice(0, 8), gw.rowSlice(8, 8)};
                Weight[] up = {gw.rowSlice(16, 8), gw.rowSlice(8, 8)};
                Weight[] gateF = {fw.rowSlice(0, 8), fw.rowSlice(8, 8)};
                Weight[] upF = {fw.rowSlice(16, 8), fw.rowSlice(8, 8)};
                float[] downValues = new float[cols * 8];
                for (int i = 0; i < downValues.length; i++) downValues[i] = (float) rnd.nextGaussian() * 0.1f;
                MemorySegment ds = MemorySegment.ofArray(downValues);
                Weight[] down = {new Weight("d", ds, DType.F32, cols, 8), new Weight("d", ds, DType.F32, cols, 8)};
                for (int tokens : new int[] {1, 2, 6}) { // up to two tokens an expert stream (x prepared once a call), six tile
                    float[] x = new float[tokens * cols];
                    for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
                    int[] ids = new int[tokens * 2];
                    float[] weights = new float[tokens * 2];
                    for (int t = 0; t < tokens; t++) {
                        ids[2 * t] = t % 2;
                        ids[2 * t + 1] = 1 - t % 2;
                        weights[2 * t] = 0.7f;
                        weights[2 * t + 1] = 0.3f;
                    }
                    float[] o1 = new float[tokens * cols], o2 = new float[tokens * cols];
                    k.moe(o1, x, tokens, ids, weights, 2, gate, up, down);
                    k.moe(o2, x, tokens, ids, weights, 2, gateF, upF, down);
                    for (int i = 0; i < o1.length; i++) {
                        assertEquals(o2[i], o1[i], 1e-4f * (1 + Math.abs(o2[i])), what + " moe " + k + " tokens " + tokens);
                    }
                }
            }
        }
    }
}
