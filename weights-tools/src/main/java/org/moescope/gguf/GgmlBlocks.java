package org.moescope.gguf;

import org.moescope.safetensors.Numbers;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * ggml's block layouts of the types we compute with, decoded and encoded exactly as gguf-py's quants.py (and
 * ggml-quants.c's dequantize_row_*) define them. A row of a block type is its blocks one after the other; a block of
 * {@code type.blockSize()} values takes {@code type.typeSize()} bytes:
 * <ul>
 * <li>Q8_0 (32 values, 34 bytes): f16 scale d, 32 int8 q; x = d·q.</li>
 * <li>Q4_0 (32, 18): f16 d, 16 bytes of nibbles, value i &lt; 16 the low nibble of byte i, value 16 + i its high
 * nibble; x = d·(q − 8).</li>
 * <li>Q4_K (256, 144): f16 d, f16 dmin, 12 bytes of eight 6-bit scales and eight 6-bit mins, 128 bytes of nibbles;
 * sub-block j (32 values) is the low (even j) or high (odd j) nibbles of bytes 32·(j/2) ..; x = d·sc_j·q − dmin·m_j.</li>
 * <li>Q5_K (256, 176): as Q4_K with 32 bytes of fifth bits between the scales and the nibbles: bit j of byte i is the
 * fifth bit of sub-block j's value i.</li>
 * <li>Q6_K (256, 210): 128 bytes of low nibbles, 64 bytes of high 2-bit pairs, 16 int8 scales, f16 d; x = d·sc·(q − 32)
 * per 16 values.</li>
 * </ul>
 */
public final class GgmlBlocks {
    private GgmlBlocks() {
    }

    static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final int QK_K = 256;

    private static final ThreadLocal<float[]> BLOCK = ThreadLocal.withInitial(() -> new float[QK_K]);

    /**
     * out[off .. off+n) = values k0 .. k0+n of the row that starts at byte {@code rowBase} of seg. k0 and n need not be
     * block-aligned (a partial block is decoded whole into a scratch block).
     */
    public static void dequantise(GgmlType type, MemorySegment seg, long rowBase, int k0, int n, float[] out, int off) {
        int bs = type.blockSize();
        int end = k0 + n;
        int k = k0;
        while (k < end) {
            int block = k / bs;
            int inBlock = k - block * bs;
            long at = rowBase + (long) block * type.typeSize();
            if (inBlock == 0 && end - k >= bs) {
                decodeBlock(type, seg, at, out, off + (k - k0));
                k += bs;
            } else {
                float[] tmp = BLOCK.get();
                decodeBlock(type, seg, at, tmp, 0);
                int take = Math.min(bs - inBlock, end - k);
                System.arraycopy(tmp, inBlock, out, off + (k - k0), take);
                k += take;
            }
        }
    }

    /** Decodes one block (blockSize values) at byte {@code at}. */
    public static void decodeBlock(GgmlType type, MemorySegment s, long at, float[] out, int off) {
        switch (type) {
            case F32 -> out[off] = s.get(F32, at);
            case F16 -> out[off] = Numbers.f16ToFloat(s.get(I16, at));
            case BF16 -> out[off] = Numbers.bf16ToFloat(s.get(I16, at));
            case Q8_0 -> {
                float d = f16(s, at);
                for (int i = 0; i < 32; i++) out[off + i] = d * s.get(ValueLayout.JAVA_BYTE, at + 2 + i);
            }
            case Q4_0 -> {
                float d = f16(s, at);
                for (int i = 0; i < 16; i++) {
                    int b = u8(s, at + 2 + i);
                    out[off + i] = d * ((b & 0xF) - 8);
                    out[off + 16 + i] = d * ((b >>> 4) - 8);
                }
            }
            case Q4_K, Q5_K -> {
                boolean five = type == GgmlType.Q5_K;
                float d = f16(s, at);
                float dmin = f16(s, at + 2);
                long sc = at + 4;
                long qh = at + 16;
                long qs = five ? at + 48 : at + 16;
                for (int j = 0; j < 8; j++) {
                    float dl = d * scale(s, sc, j);
                    float ml = dmin * min(s, sc, j);
                    int shift = (j & 1) * 4;
                    long q = qs + 32L * (j / 2);
                    for (int i = 0; i < 32; i++) {
                        int v = (u8(s, q + i) >>> shift) & 0xF;
                        if (five) v |= ((u8(s, qh + i) >>> j) & 1) << 4;
                        out[off + 32 * j + i] = dl * v - ml;
                    }
                }
            }
            case Q6_K -> {
                float d = f16(s, at + 208);
                for (int h = 0; h < 2; h++) {
                    long ql = at + 64L * h;
                    long qh = at + 128 + 32L * h;
                    for (int j = 0; j < 128; j++) {
                        int low = (u8(s, ql + (j & 63)) >>> (4 * (j >>> 6))) & 0xF;
                        int high = (u8(s, qh + (j & 31)) >>> (2 * (j >>> 5))) & 3;
                        int idx = 128 * h + j;
                        float dl = d * s.get(ValueLayout.JAVA_BYTE, at + 192 + idx / 16);
                        out[off + idx] = dl * ((low | high << 4) - 32);
                    }
                }
            }
            default -> throw new IllegalArgumentException("no decoder for ggml type " + type);
        }
    }

    /** The 6-bit scale of sub-block j of a Q4_K/Q5_K block's 12 scale bytes at sc (get_scale_min_k4). */
    public static int scale(MemorySegment s, long sc, int j) {
        return j < 4 ? u8(s, sc + j) & 63 : (u8(s, sc + j + 4) & 0xF) | ((u8(s, sc + j - 4) >>> 6) << 4);
    }

    /** The 6-bit min of sub-block j. */
    public static int min(MemorySegment s, long sc, int j) {
        return j < 4 ? u8(s, sc + j + 4) & 63 : (u8(s, sc + j + 4) >>> 4) | ((u8(s, sc + j) >>> 6) << 4);
    }

    static int u8(MemorySegment s, long at) {
        return Byte.toUnsignedInt(s.get(ValueLayout.JAVA_BYTE, at));
    }

    static float f16(MemorySegment s, long at) {
        return Float.float16ToFloat(s.get(I16, at));
    }
}
