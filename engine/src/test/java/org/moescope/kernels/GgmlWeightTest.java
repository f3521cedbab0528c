package org.moescope.kernels;

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

/**
 * A weight in a ggml block type computes as the F32 weight of its decoded values (GgmlBlocks, checked against gguf-py
 * in weights-tools), in every kernel that reads weights, on both implementations: streamed (few tokens) and tiled
 * (many) products, the experts, a row lookup.
 */
class GgmlWeightTest {
    static final int ROWS = 24, COLS = 512;

    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"Q8_0", "Q4_0", "Q4_K", "Q5_K", "Q6_K"})
    void computesAsItsDecodedValues(GgmlType type) {
        Random rnd = new Random(type.ordinal());
        float[] w = new float[ROWS * COLS];
        for (int i = 0; i < w.length; i++) w[i] = (float) rnd.nextGaussian() * 0.1f;
        byte[] q = GgmlQuantiser.encode(type, w, 0, w.length);
        float[] decoded = new float[w.length];
        GgmlBlocks.dequantise(type, MemorySegment.ofArray(q), 0, 0, w.length, decoded, 0);
        try (Arena arena = Arena.ofShared()) {
            MemorySegment qs = arena.allocate(q.length);
            MemorySegment.copy(q, 0, qs, ValueLayout.JAVA_BYTE, 0, q.length);
            MemorySegment fs = arena.allocate(4L * decoded.length);
            MemorySegment.copy(decoded, 0, fs, ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 0,
                    decoded.length);
            Weight gw = Weight.ggml("w", qs, type, ROWS, COLS);
            Weight fw = new Weight("w", fs, DType.F32, ROWS, COLS);
            for (Kernels k : new Kernels[] {new ScalarKernels(), new VectorKernels()}) {
                for (int tokens : new int[] {1, 3, 40}) {
                    float[] x = new float[tokens * COLS];
                    for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
                    float[] a = new float[tokens * ROWS], b = new float[tokens * ROWS];
                    k.matmul(a, x, tokens, gw);
                    k.matmul(b, x, tokens, fw);
                    for (int i = 0; i < a.length; i++) {
                        assertEquals(b[i], a[i], 1e-4f * (1 + Math.abs(b[i])), type + " " + k + " tokens " + tokens);
                    }
                }
                float[] r1 = new float[COLS], r2 = new float[COLS];
                k.row(gw, 5, r1, 0);
                k.row(fw, 5, r2, 0);
                for (int i = 0; i < COLS; i++) assertEquals(r2[i], r1[i], 0f);
                // experts: gate/up (inter = 8 rows of 512) and down (512 rows of 8 is not whole blocks, so F32 down)
                Weight[] gate = {gw.rowSlice(0, 8), gw.rowSlice(8, 8)};
                Weight[] up = {gw.rowSlice(16, 8), gw.rowSlice(8, 8)};
                Weight[] gateF = {fw.rowSlice(0, 8), fw.rowSlice(8, 8)};
                Weight[] upF = {fw.rowSlice(16, 8), fw.rowSlice(8, 8)};
                float[] downValues = new float[COLS * 8];
                for (int i = 0; i < downValues.length; i++) downValues[i] = (float) rnd.nextGaussian() * 0.1f;
                MemorySegment ds = MemorySegment.ofArray(downValues);
                Weight[] down = {new Weight("d", ds, DType.F32, COLS, 8), new Weight("d", ds, DType.F32, COLS, 8)};
                int tokens = 6;
                float[] x = new float[tokens * COLS];
                for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
                int[] ids = new int[tokens * 2];
                float[] weights = new float[tokens * 2];
                for (int t = 0; t < tokens; t++) {
                    ids[2 * t] = t % 2;
                    ids[2 * t + 1] = 1 - t % 2;
                    weights[2 * t] = 0.7f;
                    weights[2 * t + 1] = 0.3f;
                }
                float[] o1 = new float[tokens * COLS], o2 = new float[tokens * COLS];
                k.moe(o1, x, tokens, ids, weights, 2, gate, up, down);
                k.moe(o2, x, tokens, ids, weights, 2, gateF, upF, down);
                for (int i = 0; i < o1.length; i++) {
                    assertEquals(o2[i], o1[i], 1e-4f * (1 + Math.abs(o2[i])), type + " moe " + k);
                }
            }
        }
    }
}
