package org.moescope.gguf;

import org.moescope.safetensors.Numbers;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Encodes float rows into ggml's block types (layouts in {@link GgmlBlocks}). F16, BF16, Q8_0 and Q4_0 round exactly
 * as gguf-py's quants.py does (which is bit-exact with ggml-quants.c's reference quantisers), so the bytes equal what
 * the {@code gguf} package writes. The K-quants use a plain min/max scale per sub-block, not llama.cpp's
 * make_qkx2_quants/make_qx_quants search (gguf-py has no K-quant quantiser to follow): the files are valid and any
 * reader decodes them the same, but their error is somewhat larger than llama-quantize's.
 */
public final class GgmlQuantiser {
    private GgmlQuantiser() {
    }

    /** The blocks of src[off .. off+n); n is a multiple of the type's block size. */
    public static byte[] encode(GgmlType type, float[] src, int off, int n) {
        if (n % type.blockSize() != 0) {
            throw new IllegalArgumentException(n + " values are not whole " + type + " blocks");
        }
        ByteBuffer out = ByteBuffer.allocate((int) type.rowBytes(n)).order(ByteOrder.LITTLE_ENDIAN);
        for (int b = off; b < off + n; b += type.blockSize()) {
            switch (type) {
                case F32 -> out.putFloat(src[b]);
                case F16 -> out.putShort(Numbers.floatToF16(src[b]));
                case BF16 -> out.putShort(bf16(src[b]));
                case Q8_0 -> q8_0(src, b, out);
                case Q4_0 -> q4_0(src, b, out);
                case Q4_K -> qK(src, b, out, false);
                case Q5_K -> qK(src, b, out, true);
                case Q6_K -> q6_K(src, b, out);
                default -> throw new IllegalArgumentException("no encoder for ggml type " + type);
            }
        }
        return out.array();
    }

    /** gguf-py's BF16: NaN forced quiet (not torch's 0xFFFF), round to nearest even. */
    static short bf16(float f) {
        int n = Float.floatToRawIntBits(f);
        if ((n & 0x7FFFFFFF) > 0x7F800000) {
            return (short) (((n & 0xFFFF0000) | (64 << 16)) >>> 16);
        }
        return (short) ((Integer.toUnsignedLong(n) + (0x7FFF + ((n >>> 16) & 1))) >>> 16);
    }

    /** Round half away from zero (C's roundf; gguf-py's np_roundf). */
    static float roundf(float x) {
        float a = Math.abs(x);
        float floored = (float) Math.floor(a);
        float r = floored + (float) Math.floor(2 * (a - floored));
        return Math.copySign(r, x);
    }

    private static void q8_0(float[] x, int b, ByteBuffer out) {
        float amax = 0;
        for (int i = 0; i < 32; i++) amax = Math.max(amax, Math.abs(x[b + i]));
        float d = amax / 127;
        float id = d == 0 ? 0 : 1 / d;
        out.putShort(Numbers.floatToF16(d));
        for (int i = 0; i < 32; i++) out.put((byte) roundf(x[b + i] * id));
    }

    private static void q4_0(float[] x, int b, ByteBuffer out) {
        float max = 0, amax = 0;
        for (int i = 0; i < 32; i++) {
            if (Math.abs(x[b + i]) > amax) { // numpy's argmax: the first of equal maxima
                amax = Math.abs(x[b + i]);
                max = x[b + i];
            }
        }
        float d = max / -8;
        float id = d == 0 ? 0 : 1 / d;
        out.putShort(Numbers.floatToF16(d));
        for (int i = 0; i < 16; i++) {
            int lo = clamp((int) (x[b + i] * id + 8.5f), 0, 15);
            int hi = clamp((int) (x[b + 16 + i] * id + 8.5f), 0, 15);
            out.put((byte) (lo | hi << 4));
        }
    }

    /** Q4_K (4-bit) or Q5_K (5-bit): per 32-value sub-block a scale and a min, each 6 bits of a block-wide f16. */
    private static void qK(float[] x, int b, ByteBuffer out, boolean five) {
        int levels = five ? 31 : 15;
        float[] scales = new float[8], mins = new float[8];
        float maxScale = 0, maxMin = 0;
        for (int j = 0; j < 8; j++) {
            float lo = 0, hi = 0; // the range always contains 0, so mins are ≥ 0 and fit the unsigned 6 bits
            for (int i = 0; i < 32; i++) {
                lo = Math.min(lo, x[b + 32 * j + i]);
                hi = Math.max(hi, x[b + 32 * j + i]);
            }
            scales[j] = (hi - lo) / levels;
            mins[j] = -lo;
            maxScale = Math.max(maxScale, scales[j]);
            maxMin = Math.max(maxMin, mins[j]);
        }
        float d = f16Round(maxScale / 63), dmin = f16Round(maxMin / 63);
        int[] sc = new int[8], m = new int[8];
        for (int j = 0; j < 8; j++) {
            sc[j] = d == 0 ? 0 : clamp(Math.round(scales[j] / d), 0, 63);
            m[j] = dmin == 0 ? 0 : clamp(Math.round(mins[j] / dmin), 0, 63);
        }
        byte[] packed = new byte[12];
        for (int j = 0; j < 4; j++) {
            packed[j] = (byte) ((sc[j] & 63) | ((sc[j + 4] >> 4) << 6));
            packed[j + 4] = (byte) ((m[j] & 63) | ((m[j + 4] >> 4) << 6));
            packed[j + 8] = (byte) ((sc[j + 4] & 0xF) | ((m[j + 4] & 0xF) << 4));
        }
        int[] q = new int[256];
        for (int j = 0; j < 8; j++) {
            float dl = d * sc[j], ml = dmin * m[j];
            for (int i = 0; i < 32; i++) {
                q[32 * j + i] = dl == 0 ? 0 : clamp(Math.round((x[b + 32 * j + i] + ml) / dl), 0, levels);
            }
        }
        out.putShort(Float.floatToFloat16(d));
        out.putShort(Float.floatToFloat16(dmin));
        out.put(packed);
        if (five) {
            for (int i = 0; i < 32; i++) {
                int h = 0;
                for (int j = 0; j < 8; j++) h |= ((q[32 * j + i] >> 4) & 1) << j;
                out.put((byte) h);
            }
        }
        for (int g = 0; g < 4; g++) {
            for (int i = 0; i < 32; i++) {
                out.put((byte) ((q[64 * g + i] & 0xF) | ((q[64 * g + 32 + i] & 0xF) << 4)));
            }
        }
    }

    /** Q6_K: 6-bit values, an int8 scale per 16 values, a block-wide f16. */
    private static void q6_K(float[] x, int b, ByteBuffer out) {
        float[] scales = new float[16];
        float maxScale = 0;
        for (int j = 0; j < 16; j++) {
            float amax = 0;
            for (int i = 0; i < 16; i++) amax = Math.max(amax, Math.abs(x[b + 16 * j + i]));
            scales[j] = amax / 31;
            maxScale = Math.max(maxScale, scales[j]);
        }
        float d = f16Round(maxScale / 127);
        byte[] sc = new byte[16];
        int[] q = new int[256];
        for (int j = 0; j < 16; j++) {
            sc[j] = (byte) (d == 0 ? 0 : clamp(Math.round(scales[j] / d), -128, 127));
            float dl = d * sc[j];
            for (int i = 0; i < 16; i++) {
                q[16 * j + i] = dl == 0 ? 32 : clamp(Math.round(x[b + 16 * j + i] / dl), -32, 31) + 32;
            }
        }
        for (int h = 0; h < 2; h++) {
            for (int i = 0; i < 64; i++) {
                out.put((byte) ((q[128 * h + i] & 0xF) | ((q[128 * h + 64 + i] & 0xF) << 4)));
            }
        }
        for (int h = 0; h < 2; h++) {
            for (int i = 0; i < 32; i++) {
                int v = 0;
                for (int s = 0; s < 4; s++) v |= ((q[128 * h + 32 * s + i] >> 4) & 3) << (2 * s);
                out.put((byte) v);
            }
        }
        out.put(sc);
        out.putShort(Float.floatToFloat16(d));
    }

    private static float f16Round(float v) {
        return Float.float16ToFloat(Float.floatToFloat16(v));
    }

    private static int clamp(int v, int lo, int hi) {
        return Math.max(lo, Math.min(hi, v));
    }
}
