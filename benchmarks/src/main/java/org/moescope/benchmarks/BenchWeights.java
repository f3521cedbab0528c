package org.moescope.benchmarks;

import org.moescope.kernels.Weight;
import org.moescope.safetensors.DType;
import org.moescope.safetensors.Numbers;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.SplittableRandom;

/** Random weights in native memory (as a mapped checkpoint would be), and random activations. */
final class BenchWeights {
    private BenchWeights() {
    }

    static Weight weight(Arena arena, DType dtype, int rows, int cols, long seed) {
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

    static float[] activations(int n, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float) rnd.nextGaussian();
        return x;
    }
}
