package org.moescope.kernels;

import org.moescope.safetensors.DType;
import org.moescope.weights.Q8;

import java.lang.foreign.MemorySegment;

/**
 * A row-major weight matrix (rows, cols) left in its stored dtype inside a memory-mapped checkpoint. HF Linear
 * weights are stored [out_features, in_features], so y = x · Wᵀ reads one row per output.
 *
 * <p>F32, BF16 and F16 hold the values. I8 is a Q8_0 weight (weights-tools' Q8): int8 values and one float32 scale
 * per {@link #GROUP} values of a row, in {@code scales} (rows, cols / GROUP); W[r, c] = data[r, c] · scales[r, c / GROUP].
 * F8_E4M3 is a block-scaled FP8 weight (weights-tools' Fp8, DeepSeek-V3's format): one float32 scale per block of
 * blockRows × blockCols values, {@code scales} (ceil(rows / blockRows), ceil(cols / blockCols));
 * W[r, c] = e4m3(data[r, c]) · scales[r / blockRows, c / blockCols].
 */
public record Weight(String name, MemorySegment data, DType dtype, int rows, int cols, MemorySegment scales,
                     int blockRows, int blockCols) {
    /** Values per scale of an I8 weight: the Q8_0 format's group. */
    public static final int GROUP = Q8.GROUP;

    public Weight {
        if (dtype != DType.F32 && dtype != DType.BF16 && dtype != DType.F16 && dtype != DType.I8
                && dtype != DType.F8_E4M3) {
            throw new IllegalArgumentException(name + ": unsupported weight dtype " + dtype);
        }
        if (data.byteSize() != (long) rows * cols * dtype.byteSize()) {
            throw new IllegalArgumentException(name + ": " + data.byteSize() + " bytes for " + rows + "x" + cols);
        }
        if (dtype == DType.I8) {
            if (cols % GROUP != 0 || scales == null || scales.byteSize() != (long) rows * (cols / GROUP) * 4) {
                throw new IllegalArgumentException(name + ": an I8 weight needs " + cols + " columns in groups of "
                        + GROUP + " and (" + rows + ", " + cols / GROUP + ") float scales");
            }
        } else if (dtype == DType.F8_E4M3) {
            if (blockRows <= 0 || blockCols <= 0 || scales == null
                    || scales.byteSize() != (long) ceil(rows, blockRows) * ceil(cols, blockCols) * 4) {
                throw new IllegalArgumentException(name + ": an F8_E4M3 weight needs (" + ceil(rows, Math.max(1, blockRows))
                        + ", " + ceil(cols, Math.max(1, blockCols)) + ") float block scales");
            }
        } else if (scales != null) {
            throw new IllegalArgumentException(name + ": only I8 and F8_E4M3 weights have scales");
        }
    }

    /** A weight that holds its values (F32, BF16, F16). */
    public Weight(String name, MemorySegment data, DType dtype, int rows, int cols) {
        this(name, data, dtype, rows, cols, null, 0, 0);
    }

    /** A Q8_0 weight (I8 with per-group scales). */
    public Weight(String name, MemorySegment data, DType dtype, int rows, int cols, MemorySegment scales) {
        this(name, data, dtype, rows, cols, scales, 0, 0);
    }

    private static int ceil(int a, int b) {
        return (a + b - 1) / b;
    }

    /** Byte offset of the start of row r. */
    public long rowOffset(int r) {
        return (long) r * cols * dtype.byteSize();
    }

    /** Byte offset in {@code scales} of the scale of row r's first group (I8) or first block (F8_E4M3). */
    public long scaleOffset(int r) {
        return dtype == DType.F8_E4M3 ? (long) (r / blockRows) * ceil(cols, blockCols) * 4 : (long) r * (cols / GROUP) * 4;
    }

    /** The scale of column c of row r (I8, F8_E4M3). */
    public float scale(int r, int c) {
        int group = dtype == DType.F8_E4M3 ? c / blockCols : c / GROUP;
        return scales.get(ScalarKernels.F32, scaleOffset(r) + 4L * group);
    }

    /**
     * Rows [first, first + count) as a weight of their own, sharing the mapping (a packed tensor's one expert, a head's
     * rows of kv_b_proj). An F8_E4M3 slice must start on a block boundary.
     */
    public Weight rowSlice(int first, int count) {
        MemorySegment part = data.asSlice(rowOffset(first), rowOffset(count));
        MemorySegment partScales = null;
        if (dtype == DType.F8_E4M3) {
            if (first % blockRows != 0) {
                throw new IllegalArgumentException(name + ": rows from " + first + " do not start a block of " + blockRows);
            }
            long perBlockRow = (long) ceil(cols, blockCols) * 4;
            partScales = scales.asSlice(first / blockRows * perBlockRow, ceil(count, blockRows) * perBlockRow);
        } else if (scales != null) {
            partScales = scales.asSlice(scaleOffset(first), scaleOffset(count));
        }
        return new Weight(name + "[rows " + first + ".." + (first + count) + ")", part, dtype, count, cols, partScales,
                blockRows, blockCols);
    }
}
