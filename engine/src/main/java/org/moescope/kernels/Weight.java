package org.moescope.kernels;

import org.moescope.gguf.GgmlType;
import org.moescope.safetensors.DType;
import org.moescope.weights.Q8;

import java.lang.foreign.MemorySegment;

/**
 * A row-major weight matrix (rows, cols) left in its stored dtype inside a memory-mapped checkpoint. HF Linear
 * weights are stored [out_features, in_features], so y = x · Wᵀ reads one row per output.
 *
 * <p>F32, BF16 and F16 hold the values. I8 is a Q8_0 weight (weights-tools' Q8): int8 values and one float32 scale
 * per {@link #GROUP} values of a row, in {@code scales} (rows, cols / GROUP); W[r, c] = data[r, c] · scales[r, c / GROUP].
 *
 * <p>U8 with {@code ggml} set is a row-major matrix in one of ggml's block types as a GGUF file stores it (Q8_0, Q4_0,
 * Q4_K, Q5_K, Q6_K): each row is cols / blockSize blocks of scales and packed values ({@link GgmlType}, decoded by
 * {@link GgmlRows}).
 */
public record Weight(String name, MemorySegment data, DType dtype, int rows, int cols, MemorySegment scales,
                     GgmlType ggml) {
    /** Values per scale of an I8 weight: the Q8_0 format's group. */
    public static final int GROUP = Q8.GROUP;

    public Weight {
        if (ggml != null) {
            GgmlRows.check(name, data, dtype, rows, cols, scales, ggml);
        } else if (dtype != DType.F32 && dtype != DType.BF16 && dtype != DType.F16 && dtype != DType.I8) {
            throw new IllegalArgumentException(name + ": unsupported weight dtype " + dtype);
        } else if (data.byteSize() != (long) rows * cols * dtype.byteSize()) {
            throw new IllegalArgumentException(name + ": " + data.byteSize() + " bytes for " + rows + "x" + cols);
        }
        if (dtype == DType.I8) {
            if (cols % GROUP != 0 || scales == null || scales.byteSize() != (long) rows * (cols / GROUP) * 4) {
                throw new IllegalArgumentException(name + ": an I8 weight needs " + cols + " columns in groups of "
                        + GROUP + " and (" + rows + ", " + cols / GROUP + ") float scales");
            }
        } else if (scales != null) {
            throw new IllegalArgumentException(name + ": only I8 weights have scales");
        }
    }

    /** A weight that holds its values (F32, BF16, F16). */
    public Weight(String name, MemorySegment data, DType dtype, int rows, int cols) {
        this(name, data, dtype, rows, cols, null, null);
    }

    /** An I8 weight with its Q8_0 scales. */
    public Weight(String name, MemorySegment data, DType dtype, int rows, int cols, MemorySegment scales) {
        this(name, data, dtype, rows, cols, scales, null);
    }

    /** A weight in a ggml block type (see {@link GgmlRows}). */
    public static Weight ggml(String name, MemorySegment data, GgmlType type, int rows, int cols) {
        return new Weight(name, data, DType.U8, rows, cols, null, type);
    }

    /** Byte offset of the start of row r. */
    public long rowOffset(int r) {
        return ggml != null ? r * ggml.rowBytes(cols) : (long) r * cols * dtype.byteSize();
    }

    /** Byte offset in {@code scales} of the scale of row r's first group (I8 only). */
    public long scaleOffset(int r) {
        return (long) r * (cols / GROUP) * 4;
    }

    /** Rows [first, first + count) as a weight of their own, sharing the mapping (a packed tensor's one expert). */
    public Weight rowSlice(int first, int count) {
        MemorySegment part = data.asSlice(rowOffset(first), rowOffset(count));
        MemorySegment partScales = scales == null ? null : scales.asSlice(scaleOffset(first), scaleOffset(count));
        return new Weight(name + "[rows " + first + ".." + (first + count) + ")", part, dtype, count, cols, partScales, ggml);
    }
}
