package org.moescope.weights;

import org.moescope.safetensors.DType;
import org.moescope.safetensors.TensorInfo;

import java.lang.foreign.MemorySegment;

import static org.moescope.weights.LittleEndian.F64;
import static org.moescope.weights.LittleEndian.I16;
import static org.moescope.weights.LittleEndian.I32;
import static org.moescope.weights.LittleEndian.I64;

/**
 * Counts NaN and ±Inf in a floating-point tensor and finds the first one. A value is non-finite exactly when its
 * exponent bits are all ones, so the scan tests 8 bytes at a time (SWAR) and looks at single elements only in a word
 * that holds a non-finite one.
 */
public final class NonFiniteScan {
    private NonFiniteScan() {
    }

    /** {@code firstIndex} is the flat (row-major) index of the first non-finite element, -1 when all are finite. */
    public record Result(long nan, long inf, long firstIndex) {
        public boolean allFinite() {
            return nan == 0 && inf == 0;
        }
    }

    public static Result scan(TensorInfo t, MemorySegment data) {
        long n = t.numElements();
        return switch (t.dtype()) {
            case BF16 -> scan16(data, n, 0x7F80, 0x007F);
            case F16 -> scan16(data, n, 0x7C00, 0x03FF);
            case F32 -> scan32(data, n);
            case F64 -> scan64(data, n);
            default -> new Result(0, 0, -1);
        };
    }

    private static Result scan16(MemorySegment data, long n, int exp, int mant) {
        long lanesExp = exp * 0x0001000100010001L;
        long nan = 0, inf = 0, first = -1;
        long i = 0;
        for (; i + 4 <= n; i += 4) {
            long v = (data.get(I64, 2 * i) & lanesExp) ^ lanesExp; // a lane is 0 iff that element is non-finite
            if (((v - 0x0001000100010001L) & ~v & 0x8000800080008000L) == 0) {
                continue;
            }
            for (long j = i; j < i + 4; j++) {
                int s = data.get(I16, 2 * j);
                if ((s & exp) == exp) {
                    if ((s & mant) != 0) nan++; else inf++;
                    if (first < 0) first = j;
                }
            }
        }
        for (; i < n; i++) {
            int s = data.get(I16, 2 * i);
            if ((s & exp) == exp) {
                if ((s & mant) != 0) nan++; else inf++;
                if (first < 0) first = i;
            }
        }
        return new Result(nan, inf, first);
    }

    private static Result scan32(MemorySegment data, long n) {
        final long lanesExp = 0x7F8000007F800000L;
        long nan = 0, inf = 0, first = -1;
        long i = 0;
        for (; i + 2 <= n; i += 2) {
            long v = (data.get(I64, 4 * i) & lanesExp) ^ lanesExp;
            if (((v - 0x0000000100000001L) & ~v & 0x8000000080000000L) == 0) {
                continue;
            }
            for (long j = i; j < i + 2; j++) {
                int b = data.get(I32, 4 * j);
                if ((b & 0x7F800000) == 0x7F800000) {
                    if ((b & 0x007FFFFF) != 0) nan++; else inf++;
                    if (first < 0) first = j;
                }
            }
        }
        for (; i < n; i++) {
            int b = data.get(I32, 4 * i);
            if ((b & 0x7F800000) == 0x7F800000) {
                if ((b & 0x007FFFFF) != 0) nan++; else inf++;
                if (first < 0) first = i;
            }
        }
        return new Result(nan, inf, first);
    }

    private static Result scan64(MemorySegment data, long n) {
        long nan = 0, inf = 0, first = -1;
        for (long i = 0; i < n; i++) {
            double d = data.get(F64, 8 * i);
            if (Double.isNaN(d)) nan++;
            else if (Double.isInfinite(d)) inf++;
            else continue;
            if (first < 0) first = i;
        }
        return new Result(nan, inf, first);
    }

    /** A flat row-major index as a multi-index, e.g. "[3, 17]". */
    public static String multiIndex(long flat, long[] shape) {
        long[] idx = new long[shape.length];
        for (int d = shape.length - 1; d >= 0; d--) {
            idx[d] = shape[d] == 0 ? 0 : flat % shape[d];
            flat = shape[d] == 0 ? 0 : flat / shape[d];
        }
        return java.util.Arrays.toString(idx);
    }
}
