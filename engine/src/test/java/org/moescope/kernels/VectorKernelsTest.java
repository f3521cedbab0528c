package org.moescope.kernels;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.moescope.safetensors.DType;
import org.moescope.safetensors.Numbers;

import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/** The SIMD path against the scalar reference on awkward sizes (tails, odd token counts) and every weight dtype. */
class VectorKernelsTest {
    private final Kernels scalar = new ScalarKernels();
    private final Kernels vector = new VectorKernels();

    static Weight randomWeight(DType dtype, int rows, int cols, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        int n = rows * cols;
        MemorySegment seg = switch (dtype) {
            case F32 -> {
                float[] f = new float[n];
                for (int i = 0; i < n; i++) f[i] = (float) rnd.nextGaussian();
                yield MemorySegment.ofArray(f);
            }
            case BF16, F16 -> {
                short[] s = new short[n];
                for (int i = 0; i < n; i++) {
                    float v = (float) rnd.nextGaussian();
                    s[i] = dtype == DType.BF16 ? Numbers.floatToBf16(v) : Numbers.floatToF16(v);
                }
                yield MemorySegment.ofArray(s);
            }
            default -> throw new IllegalArgumentException();
        };
        return new Weight("w", seg, dtype, rows, cols);
    }

    @ParameterizedTest
    @CsvSource({"F32,1,7,5", "F32,2,64,33", "F32,5,70,13", "BF16,1,128,9", "BF16,3,35,8", "BF16,8,256,64",
            "F16,1,40,4", "F16,6,96,17", "F32,9,2048,12"})
    void matmulMatchesScalar(DType dtype, int tokens, int cols, int rows) {
        Weight w = randomWeight(dtype, rows, cols, cols * 31L + rows);
        float[] x = new float[tokens * cols];
        SplittableRandom rnd = new SplittableRandom(7);
        for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
        float[] a = new float[tokens * rows];
        float[] b = new float[tokens * rows];
        scalar.matmul(a, x, tokens, w);
        vector.matmul(b, x, tokens, w);
        for (int i = 0; i < a.length; i++) {
            assertEquals(a[i], b[i], 1e-4f * Math.max(1f, Math.abs(a[i])), "element " + i);
        }
        float[] rowS = new float[cols];
        float[] rowV = new float[cols];
        scalar.row(w, rows - 1, rowS, 0);
        vector.row(w, rows - 1, rowV, 0);
        assertArrayEquals(rowS, rowV);
    }

    @ParameterizedTest
    @CsvSource({"1", "7", "8", "9", "64", "100"})
    void elementwiseKernelsMatchScalar(int n) {
        SplittableRandom rnd = new SplittableRandom(n);
        float[] x = new float[n], w = new float[n], up = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (3 * rnd.nextGaussian());
            w[i] = (float) rnd.nextGaussian();
            up[i] = (float) rnd.nextGaussian();
        }
        float[] a = new float[n], b = new float[n];
        scalar.rmsnorm(a, 0, x, 0, w, n, 1e-5f);
        vector.rmsnorm(b, 0, x, 0, w, n, 1e-5f);
        assertArrayEquals(a, b, 1e-5f);
        a = x.clone();
        b = x.clone();
        scalar.softmax(a, 0, n);
        vector.softmax(b, 0, n);
        assertArrayEquals(a, b, 1e-6f);
        a = x.clone();
        b = x.clone();
        scalar.siluMul(a, up, n);
        vector.siluMul(b, up, n);
        assertArrayEquals(a, b, 1e-5f);
        assertEquals(scalar.dot(x, 0, w, 0, n), vector.dot(x, 0, w, 0, n), 1e-4f);
        a = up.clone();
        b = up.clone();
        scalar.axpy(a, 0, 0.5f, x, 0, n);
        vector.axpy(b, 0, 0.5f, x, 0, n);
        assertArrayEquals(a, b, 1e-6f);
    }
}
