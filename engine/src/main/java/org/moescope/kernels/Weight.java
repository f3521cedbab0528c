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
 * U8 is an MXFP4 weight (gpt-oss's experts as the Hub ships them): two FP4 E2M1 values a byte, the even column in the
 * low nibble ({@code *_blocks}), and one E8M0 exponent byte per {@link #MXFP4_GROUP} values of a row in {@code scales}
 * ({@code *_scales}); W[r, c] = {@link #FP4}[nibble c of row r] · 2^(scales[r, c / 32] − 127).
 * F8_E4M3 is a block-scaled FP8 weight (weights-tools' Fp8, DeepSeek-V3's format): one float32 scale per block of
 * blockRows × blockCols values, {@code scales} (ceil(rows / blockRows), ceil(cols / blockCols));
 * W[r, c] = e4m3(data[r, c]) · scales[r / blockRows, c / blockCols].
 *
 * U8 with {@code ggml} set is instead a matrix in one of ggml's block types as a GGUF file stores it (Q8_0, Q4_0,
 * Q4_K, Q5_K, Q6_K): each row is cols / blockSize blocks of scales and packed values ({@link GgmlType}, decoded by
 * {@link GgmlRows}); the kernels test {@code ggml} before the dtype.
 *
 * <p>Row r starts rowStep stored rows after row r − 1: a step of 2 reads every other row in place (gpt-oss's
 * interleaved gate and up rows). blockRows and blockCols are 0 for every dtype but F8_E4M3; ggml is null but for GGUF
 * block types.
 */
public record Weight(String name, MemorySegment data, DType dtype, int rows, int cols, MemorySegment scales,
                     int rowStep, int blockRows, int blockCols, GgmlType ggml) {
    /** Values per scale of an I8 weight: the Q8_0 format's group. */
    public static final int GROUP = Q8.GROUP;
    /** Values per scale of an MXFP4 (U8) weight. */
    public static final int MXFP4_GROUP = 32;
    /** The values of the 16 FP4 E2M1 codes: bit 3 the sign, bits 2..1 the exponent, bit 0 the mantissa. */
    public static final float[] FP4 = {0f, 0.5f, 1f, 1.5f, 2f, 3f, 4f, 6f, -0f, -0.5f, -1f, -1.5f, -2f, -3f, -4f, -6f};

    public Weight {
        if (ggml != null) {
            GgmlRows.check(name, data, dtype, rows, cols, scales, ggml);
            if (rowStep != 1 || blockRows != 0 || blockCols != 0) {
                throw new IllegalArgumentException(name + ": a ggml weight has neither a row step nor FP8 blocks");
            }
        } else {
            if (dtype != DType.F32 && dtype != DType.BF16 && dtype != DType.F16 && dtype != DType.I8 && dtype != DType.U8
                    && dtype != DType.F8_E4M3) {
                throw new IllegalArgumentException(name + ": unsupported weight dtype " + dtype);
            }
            if (rowStep < 1 || rowStep > 1 && dtype == DType.F8_E4M3) {
                throw new IllegalArgumentException(name + ": row step " + rowStep);
            }
            long storedRows = rows == 0 ? 0 : (long) (rows - 1) * rowStep + 1;
            if (data.byteSize() < storedRows * rowBytes(dtype, cols)
                    || rowStep == 1 && data.byteSize() != storedRows * rowBytes(dtype, cols)) {
                throw new IllegalArgumentException(name + ": " + data.byteSize() + " bytes for " + rows + "x" + cols);
            }
            if (dtype == DType.I8 || dtype == DType.U8) {
                int group = groupOf(dtype);
                long scaleBytes = (long) (cols / group) * (dtype == DType.I8 ? 4 : 1);
                if (cols % group != 0 || scales == null || scales.byteSize() < storedRows * scaleBytes) {
                    throw new IllegalArgumentException(name + ": an " + dtype + " weight needs " + cols
                            + " columns in groups of " + group + " and (" + rows + ", " + cols / group + ") scales");
                }
            } else if (dtype == DType.F8_E4M3) {
                if (blockRows <= 0 || blockCols <= 0 || scales == null
                        || scales.byteSize() != (long) ceil(rows, blockRows) * ceil(cols, blockCols) * 4) {
                    throw new IllegalArgumentException(name + ": an F8_E4M3 weight needs ("
                            + ceil(rows, Math.max(1, blockRows)) + ", " + ceil(cols, Math.max(1, blockCols))
                            + ") float block scales");
                }
            } else if (scales != null) {
                throw new IllegalArgumentException(name + ": only I8, U8 (MXFP4) and F8_E4M3 weights have scales");
            }
        }
    }

    /** A weight with per-group scales (I8, U8) whose rows follow each other. */
    public Weight(String name, MemorySegment data, DType dtype, int rows, int cols, MemorySegment scales) {
        this(name, data, dtype, rows, cols, scales, 1, 0, 0, null);
    }

    /** A weight that holds its values (F32, BF16, F16). */
    public Weight(String name, MemorySegment data, DType dtype, int rows, int cols) {
        this(name, data, dtype, rows, cols, null, 1, 0, 0, null);
    }

    /** An F8_E4M3 weight with one float32 scale per blockRows × blockCols block. */
    public static Weight blockScaled(String name, MemorySegment data, int rows, int cols, MemorySegment scales,
                                     int blockRows, int blockCols) {
        return new Weight(name, data, DType.F8_E4M3, rows, cols, scales, 1, blockRows, blockCols, null);
    }

    /** A weight in a ggml block type (see {@link GgmlRows}). */
    public static Weight ggml(String name, MemorySegment data, GgmlType type, int rows, int cols) {
        return new Weight(name, data, DType.U8, rows, cols, null, 1, 0, 0, type);
    }

    /**
     * How the values are stored, for reports: config.json's names for plain floats ("bfloat16", "float32",
     * "float16"), "q8_0" for I8 with Q8_0 scales (weights convert --dtype q8_0), "fp8" and "mxfp4" as
     * quantization_config's quant_method names them, a ggml block type's name ("q8_0", "q4_k", ...) for a GGUF block.
     */
    public String storage() {
        if (ggml != null) return ggml.name().toLowerCase(java.util.Locale.ROOT);
        return switch (dtype) {
            case I8 -> "q8_0";
            case U8 -> "mxfp4";
            case F8_E4M3 -> "fp8";
            default -> dtype.torchName();
        };
    }

    private static int ceil(int a, int b) {
        return (a + b - 1) / b;
    }

    private static int groupOf(DType dtype) {
        return dtype == DType.U8 ? MXFP4_GROUP : GROUP;
    }

    private static long rowBytes(DType dtype, int cols) {
        return dtype == DType.U8 ? cols / 2 : (long) cols * dtype.byteSize();
    }

    /** Byte offset of the start of row r. */
    public long rowOffset(int r) {
        if (ggml != null) return r * ggml.rowBytes(cols);
        return (long) r * rowStep * rowBytes(dtype, cols);
    }

    /** Byte offset in {@code scales} of the scale of row r's first group (I8, U8) or first block (F8_E4M3). */
    public long scaleOffset(int r) {
        if (dtype == DType.F8_E4M3) return (long) (r / blockRows) * ceil(cols, blockCols) * 4;
        return (long) r * rowStep * (cols / groupOf(dtype)) * (dtype == DType.I8 ? 4 : 1);
    }

    /** The float32 scale of column c of row r (I8, F8_E4M3). */
    public float scale(int r, int c) {
        int group = dtype == DType.F8_E4M3 ? c / blockCols : c / GROUP;
        return scales.get(ScalarKernels.F32, scaleOffset(r) + 4L * group);
    }

    /**
     * Rows [first, first + count) as a weight of their own, sharing the mapping (a packed tensor's one expert, a head's
     * rows of kv_b_proj). An F8_E4M3 slice must start on a block boundary.
     */
    public Weight rowSlice(int first, int count) {
        if (ggml != null) {
            return new Weight(name + "[rows " + first + ".." + (first + count) + ")",
                    data.asSlice(rowOffset(first), rowOffset(count)), dtype, count, cols, null, 1, 0, 0, ggml);
        }
        if (dtype != DType.F8_E4M3) return rows(first, count, 1);
        if (first % blockRows != 0) {
            throw new IllegalArgumentException(name + ": rows from " + first + " do not start a block of " + blockRows);
        }
        MemorySegment part = data.asSlice(rowOffset(first), rowOffset(count));
        long perBlockRow = (long) ceil(cols, blockCols) * 4;
        MemorySegment partScales = scales.asSlice(first / blockRows * perBlockRow, ceil(count, blockRows) * perBlockRow);
        return new Weight(name + "[rows " + first + ".." + (first + count) + ")", part, dtype, count, cols, partScales,
                1, blockRows, blockCols, null);
    }

    /**
     * Rows first, first + step, ..., count of them, as a weight of their own sharing the mapping (gpt-oss's gate rows
     * are the even rows of its fused gate_up matrix, the up rows the odd ones). Not for F8_E4M3 (see rowSlice).
     */
    public Weight rows(int first, int count, int step) {
        if (dtype == DType.F8_E4M3 || ggml != null) {
            throw new IllegalArgumentException(name + ": " + (ggml != null ? ggml : dtype) + " rows are cut by rowSlice");
        }
        long end = count == 0 ? rowOffset(first) : rowOffset(first + (count - 1) * step) + rowBytes(dtype, cols);
        MemorySegment part = data.asSlice(rowOffset(first), end - rowOffset(first));
        MemorySegment partScales = null;
        if (scales != null) {
            long sEnd = count == 0 ? scaleOffset(first) : scaleOffset(first + (count - 1) * step) + scaleOffset(1) / rowStep;
            partScales = scales.asSlice(scaleOffset(first), sEnd - scaleOffset(first));
        }
        return new Weight(name + "[rows " + first + ".." + (first + count) + (step > 1 ? " step " + step : "") + ")",
                part, dtype, count, cols, partScales, rowStep * step, 0, 0, null);
    }
}
