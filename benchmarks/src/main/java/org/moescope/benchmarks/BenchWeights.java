package org.moescope.benchmarks;

import org.moescope.kernels.Weight;
import org.moescope.safetensors.DType;
import org.moescope.safetensors.Numbers;
import org.moescope.weights.Q8;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.SplittableRandom;

/** Random weights in native memory (as a mapped checkpoint would be), and random activations. */
final class BenchWeights {
    private BenchWeights() {
    }

    /** A (rows, cols) weight; I8 is Q8_0 (weights-tools' Q8: int8 values and a float32 scale per 32 columns). */
    static Weight weight(Arena arena, DType dtype, int rows, int cols, long seed) {
        if (dtype == DType.I8) {
            return q8(arena, rows, cols, seed);
        }
        SplittableRandom rnd = new SplittableRandom(seed);
        long n = (long) rows * cols;
        MemorySegment seg = arena.allocate(n * dtype.byteSize(), 64);
        for (long i = 0; i < n; i++) {
            float v = (float) (0.02 * rnd.nextGaussian());
            switch (dtype) {
                case F32 -> seg.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), i, v);
                case BF16 -> seg.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), i,
                        Numbers.floatToBf16(v));
                case F16 -> seg.setAtIndex(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), i,
                        Numbers.floatToF16(v));
                default -> throw new IllegalArgumentException(dtype.toString());
            }
        }
        return new Weight("bench", seg, dtype, rows, cols);
    }

    private static Weight q8(Arena arena, int rows, int cols, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        MemorySegment values = arena.allocate((long) rows * cols, 64);
        MemorySegment scales = arena.allocate((long) rows * (cols / Q8.GROUP) * 4, 64);
        float[] row = new float[cols];
        byte[] q = new byte[cols];
        float[] s = new float[cols / Q8.GROUP];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) row[c] = (float) (0.02 * rnd.nextGaussian());
            Q8.quantizeRow(row, cols, q, s);
            MemorySegment.copy(q, 0, values, ValueLayout.JAVA_BYTE, (long) r * cols, cols);
            MemorySegment.copy(s, 0, scales, ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN),
                    (long) r * s.length * 4, s.length);
        }
        return new Weight("bench", values, DType.I8, rows, cols, scales);
    }

    static float[] activations(int n, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) rnd.nextGaussian();
        return x;
    }
}
