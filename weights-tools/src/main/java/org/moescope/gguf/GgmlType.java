package org.moescope.gguf;

import java.util.Locale;

/**
 * The tensor types of ggml as GGUF files number them (ggml.h's {@code ggml_type}), with the block of each: a block of
 * {@code blockSize} values takes {@code typeSize} bytes (gguf-py's GGML_QUANT_SIZES). Every type a current llama.cpp
 * writes is listed, so any valid file can be read and sized; which of them the kernels compute with is
 * {@link #computable()}.
 */
public enum GgmlType {
    F32(0, 1, 4), F16(1, 1, 2), Q4_0(2, 32, 18), Q4_1(3, 32, 20), Q5_0(6, 32, 22), Q5_1(7, 32, 24),
    Q8_0(8, 32, 34), Q8_1(9, 32, 36), Q2_K(10, 256, 84), Q3_K(11, 256, 110), Q4_K(12, 256, 144),
    Q5_K(13, 256, 176), Q6_K(14, 256, 210), Q8_K(15, 256, 292), IQ2_XXS(16, 256, 66), IQ2_XS(17, 256, 74),
    IQ3_XXS(18, 256, 98), IQ1_S(19, 256, 50), IQ4_NL(20, 32, 18), IQ3_S(21, 256, 110), IQ2_S(22, 256, 82),
    IQ4_XS(23, 256, 136), I8(24, 1, 1), I16(25, 1, 2), I32(26, 1, 4), I64(27, 1, 8), F64(28, 1, 8),
    IQ1_M(29, 256, 56), BF16(30, 1, 2), TQ1_0(34, 256, 54), TQ2_0(35, 256, 66), MXFP4(39, 32, 17);

    private final int id;
    private final int blockSize;
    private final int typeSize;

    GgmlType(int id, int blockSize, int typeSize) {
        this.id = id;
        this.blockSize = blockSize;
        this.typeSize = typeSize;
    }

    public int id() {
        return id;
    }

    /** Values per block (1 for the plain types). */
    public int blockSize() {
        return blockSize;
    }

    /** Bytes per block. */
    public int typeSize() {
        return typeSize;
    }

    /** Bytes of a row of {@code cols} values; cols must be a multiple of the block size. */
    public long rowBytes(long cols) {
        return cols / blockSize * typeSize;
    }

    /** The types our kernels read directly (see {@link GgmlBlocks}). */
    public boolean computable() {
        return switch (this) {
            case F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K -> true;
            default -> false;
        };
    }

    /** A type stored in blocks with scales (not F32, F16 or BF16). */
    public boolean isBlockQuant() {
        return blockSize > 1;
    }

    /** The type of a ggml type id, or null when the id is not one of ggml's. */
    public static GgmlType byId(long id) {
        for (GgmlType t : values()) {
            if (t.id == id) {
                return t;
            }
        }
        return null;
    }

    /** Parses a name as the CLI takes it ("q4_k", "Q8_0", "bf16"); null when unknown. */
    public static GgmlType byName(String name) {
        for (GgmlType t : values()) {
            if (t.name().equals(name.toUpperCase(Locale.ROOT))) {
                return t;
            }
        }
        return null;
    }
}
