package org.moescope.safetensors;

/**
 * Conversions between float and the half-width formats. BF16 is the top 16 bits of an IEEE float; narrowing rounds
 * to nearest-even exactly as torch's {@code .to(torch.bfloat16)} does, NaN stays a (quiet) NaN.
 */
public final class Numbers {
    private Numbers() {
    }

    public static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xFFFF) << 16);
    }

    public static short floatToBf16(float f) {
        int bits = Float.floatToRawIntBits(f);
        if ((bits & 0x7FFFFFFF) > 0x7F800000) {
            return (short) ((bits >>> 16) | 0x0040); // NaN: keep sign and payload's top bits, force quiet
        }
        int roundingBias = 0x7FFF + ((bits >>> 16) & 1);
        return (short) ((bits + roundingBias) >>> 16);
    }

    public static float f16ToFloat(short bits) {
        return Float.float16ToFloat(bits);
    }

    /** Round-to-nearest-even, as {@link Float#floatToFloat16} and torch's {@code .half()}. */
    public static short floatToF16(float f) {
        return Float.floatToFloat16(f);
    }
}
