package org.moescope.safetensors;

import org.moescope.errors.BadInputException;

/** The element types of the safetensors format, named as the format spells them in the header. */
public enum DType {
    BOOL(1), U8(1), I8(1), F8_E4M3(1), F8_E5M2(1),
    I16(2), U16(2), F16(2), BF16(2),
    I32(4), U32(4), F32(4),
    I64(8), U64(8), F64(8);

    private final int byteSize;

    DType(int byteSize) {
        this.byteSize = byteSize;
    }

    public int byteSize() {
        return byteSize;
    }

    /** True for the dtypes our kernels and readers widen to float (BF16, F16, F32, F64). */
    public boolean isFloatingPoint() {
        return this == BF16 || this == F16 || this == F32 || this == F64;
    }

    /** Parses a header dtype name; {@code where} names the file and tensor for the error line. */
    public static DType parse(String name, String where) {
        for (DType t : values()) {
            if (t.name().equals(name)) {
                return t;
            }
        }
        throw new BadInputException(where + ": unknown dtype \"" + name + "\"");
    }

    /** The dtype name HF config.json uses (`torch_dtype` / `dtype`) for this safetensors dtype. */
    public String torchName() {
        return switch (this) {
            case BF16 -> "bfloat16";
            case F16 -> "float16";
            case F32 -> "float32";
            case F64 -> "float64";
            default -> name().toLowerCase(java.util.Locale.ROOT);
        };
    }
}
