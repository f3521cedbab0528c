package org.moescope.kernels;

import org.junit.jupiter.api.Test;
import org.moescope.safetensors.DType;
import org.moescope.weights.Fp8;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/** Block-scaled FP8 (F8_E4M3 + F32 block scales) weights: the byte decoding, and the SIMD kernels against the scalar ones. */
class Fp8WeightTest {
    @Test
    void e4m3DecodesAsTorchFloat8E4m3fn() {
        assertEquals(1.0f, Fp8.e4m3((byte) 0x38));
        assertEquals(-1.0f, Fp8.e4m3((byte) 0xB8));
        assertEquals(448f, Fp8.e4m3((byte) 0x7E)); // the largest finite value
        assertEquals(0x1p-9f, Fp8.e4m3((byte) 0x01)); // the smallest subnormal
        assertEquals(0.875f * 0x1p-6f, Fp8.e4m3((byte) 0x07)); // the largest subnormal
        assertEquals(0x1p-6f, Fp8.e4m3((byte) 0x08)); // the smallest normal
        assertEquals(1.125f, Fp8.e4m3((byte) 0x39));
        assertTrue(Float.isNaN(Fp8.e4m3((byte) 0x7F)));
        assertEquals(0f, Fp8.e4m3((byte) 0));
    }

    /** DeepSeek-V3's layout: 128x128 blocks, a partial last block in both directions. */
    static Weight weight(Arena arena, int rows, int cols, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        MemorySegment data = arena.allocate((long) rows * cols);
        for (long i = 0; i < (long) rows * cols; i++) {
            byte b;
            do {
                b = (byte) r.nextInt(256);
            } while ((b & 0x7F) == 0x7F);
            data.set(ValueLayout.JAVA_BYTE, i, b);
        }
        int sr = (rows + 127) / 128, sc = (cols + 127) / 128;
        MemorySegment scales = arena.allocate(4L * sr * sc);
        for (int i = 0; i < sr * sc; i++) scales.setAtIndex(ScalarKernels.F32, i, (float) (1e-3 * (1 + r.nextDouble())));
        return Weight.blockScaled("w", data, rows, cols, scales, 128, 128);
    }

    @Test
    void vectorKernelsMatchTheScalarReference() {
        try (Arena arena = Arena.ofShared()) { // the vector kernels read it from their worker threads
            Weight w = weight(arena, 200, 320, 1);
            ScalarKernels scalar = new ScalarKernels();
            VectorKernels vector = new VectorKernels();
            float[] a = new float[320], b = new float[320];
            for (int row : new int[] {0, 127, 128, 199}) {
                scalar.row(w, row, a, 0);
                vector.row(w, row, b, 0);
                assertArrayEquals(a, b, "row " + row);
            }
            SplittableRandom r = new SplittableRandom(2);
            for (int tokens : new int[] {1, 3, 64}) {
                float[] x = new float[tokens * 320];
                for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
                float[] want = new float[tokens * 200], got = new float[tokens * 200];
                scalar.matmul(want, x, tokens, w);
                vector.matmul(got, x, tokens, w);
                for (int i = 0; i < want.length; i++) assertEquals(want[i], got[i], 1e-4f * (1 + Math.abs(want[i])));
                float[] xt = new float[tokens * 200];
                for (int i = 0; i < xt.length; i++) xt[i] = (float) r.nextGaussian();
                float[] wantT = new float[tokens * 320], gotT = new float[tokens * 320];
                scalar.matmulTransposed(wantT, xt, tokens, w);
                vector.matmulTransposed(gotT, xt, tokens, w);
                for (int i = 0; i < wantT.length; i++) assertEquals(wantT[i], gotT[i], 1e-4f * (1 + Math.abs(wantT[i])));
            }
            Weight slice = w.rowSlice(128, 72); // a head's rows of kv_b_proj: from a block boundary
            scalar.row(slice, 5, a, 0);
            scalar.row(w, 133, b, 0);
            assertArrayEquals(b, a);
            assertThrows(IllegalArgumentException.class, () -> w.rowSlice(100, 8));
        }
    }
}
