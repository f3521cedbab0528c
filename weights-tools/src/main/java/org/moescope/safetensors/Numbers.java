package org.moescope.safetensors;

/**
 * Conversions between float and the half-width formats, bit-identical to torch on x86 (AVX2 build): narrowing
 * rounds to nearest-even like {@code .to(torch.bfloat16)} and {@code .half()}. NaN is where torch's code paths
 * disagree; these follow its vectorised loops, which is what a whole tensor goes through (see
 * tools/reference/make_dtype_golden.py and docs/weights-tools.md): F32 to BF16 writes every NaN as 0xFFFF, F32 to F16
 * and F16 to F32 keep the sign and the top payload bits and set the quiet bit (the F16C instructions' behaviour).
 */
public final class Numbers {
    private Numbers() {
    }

    public static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xFFFF) << 16);
    }

    public static short floatToBf16(float f) {
        return floatBitsToBf16(Float.floatToRawIntBits(f));
    }

    /** {@link #floatToBf16} on raw float bits, so that converters can skip the float round trip. */
    public static short floatBitsToBf16(int bits) {
        if ((bits & 0x7FFFFFFF) > 0x7F800000) {
            return (short) 0xFFFF; // torch's AVX2 kernel blends in 0xFFFF for every NaN lane
        }
        int roundingBias = 0x7FFF + ((bits >>> 16) & 1);
        return (short) ((bits + roundingBias) >>> 16);
    }

    public static float f16ToFloat(short bits) {
        if ((bits & 0x7C00) == 0x7C00 && (bits & 0x03FF) != 0) {
            // NaN: quiet it and keep its payload, as vcvtph2ps does
            return Float.intBitsToFloat(((bits & 0x8000) << 16) | 0x7FC00000 | ((bits & 0x03FF) << 13));
        }
        return Float.float16ToFloat(bits);
    }

    /** Round-to-nearest-even, as {@link Float#floatToFloat16} and torch's {@code .half()}. */
    public static short floatToF16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if ((bits & 0x7FFFFFFF) > 0x7F800000) {
            // NaN: sign and top 10 payload bits, quiet bit set, as vcvtps2ph does
            return (short) (((bits >>> 16) & 0x8000) | 0x7E00 | ((bits >>> 13) & 0x03FF));
        }
        return Float.floatToFloat16(f);
    }
}
