package org.moescope.kernels;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.moescope.gguf.GgmlBlocks;
import org.moescope.gguf.GgmlType;
import org.moescope.safetensors.DType;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The kernels' access to a {@link Weight} in a ggml block type (a GGUF file's Q8_0, Q4_0, Q4_K, Q5_K, Q6_K), read
 * straight from the mapping, never into a dequantised copy of the matrix. The block layouts are weights-tools'
 * {@link GgmlBlocks}, whose scalar decoders are the reference (equal to gguf-py's bit for bit).
 *
 * <p>Two vectorised forms, both in the natural order of the values (so the activations need no reordering and one
 * vector of L ≤ 16 values never straddles a scale):
 * <ul>
 * <li>{@link #widen}: blocks → floats, bit-identical to the reference decoders (the same float operations, no FMA),
 * for the tiled prefill path, which decodes a tile's rows once for all the tokens of a call.</li>
 * <li>{@link #dot}: a row · x fused, for the streamed (decode) path: L bytes load and widen to L ints, nibbles and
 * bit pairs are unpacked with lanewise AND/shift, converted to float and multiplied with x; each sub-block's partial
 * sum is scaled once. Q4_K/Q5_K's minimum term Σ dmin·m·x is the sub-block's x sum ({@link #blockSums}, once per
 * token) times dmin·m. The result is the float product of the dequantised values up to the order and rounding of the
 * additions (the scale is applied to a sum instead of to each value).</li>
 * </ul>
 * Lanes: the floats' preferred species (8 on AVX2, 16 on AVX-512); L bytes are loaded per vector (a 64- or 128-bit
 * byte vector). Any L from 4 to 16 works (it divides Q6_K's 16-value scale groups); other lane counts use the
 * reference decoders.
 */
final class GgmlRows {
    private GgmlRows() {
    }

    private static final VectorSpecies<Float> F = VectorKernels.F;
    private static final VectorSpecies<Integer> I = VectorKernels.I;
    private static final int L = F.length();
    /** L bytes: one load widens to one int vector. */
    private static final VectorSpecies<Byte> B = L >= 4 && L <= 16 ? VectorKernels.B : null;
    /** Whether the vectorised forms apply (see the class comment). */
    static final boolean VECTOR = B != null && I.length() == L;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LE);
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(LE);
    private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(LE);
    /** Values per Q4_K/Q5_K sub-block, the unit of {@link #blockSums}. */
    static final int SUB = 32;

    static void check(String name, MemorySegment data, DType dtype, int rows, int cols, MemorySegment scales,
                      GgmlType type) {
        if (dtype != DType.U8 || scales != null || !type.computable() || !type.isBlockQuant()) {
            throw new IllegalArgumentException(name + ": a ggml weight is U8 bytes of a computable block type, not "
                    + dtype + "/" + type);
        }
        if (cols % type.blockSize() != 0 || data.byteSize() != rows * type.rowBytes(cols)) {
            throw new IllegalArgumentException(name + ": " + data.byteSize() + " bytes for " + rows + "x" + cols
                    + " " + type);
        }
    }

    /** out[off .. off+n) = columns k0 .. k0+n of row r, decoded by the reference (scalar) decoders. */
    static void decode(Weight w, int r, int k0, int n, float[] out, int off) {
        GgmlBlocks.dequantise(w.ggml(), w.data(), w.rowOffset(r), k0, n, out, off);
    }

    /**
     * out[off .. off+n) = columns k0 .. k0+n of row r, decoded: the same bits as {@link #decode}, vectorised when k0
     * and n are whole blocks (always so for the kernels' KC-column slices and whole rows).
     */
    static void widen(Weight w, int r, int k0, int n, float[] out, int off) {
        GgmlType type = w.ggml();
        int bs = type.blockSize();
        if (!VECTOR || k0 % bs != 0 || n % bs != 0) {
            decode(w, r, k0, n, out, off);
            return;
        }
        MemorySegment s = w.data();
        long at = w.rowOffset(r) + (long) (k0 / bs) * type.typeSize();
        int blocks = n / bs;
        switch (type) {
            case Q8_0 -> widenQ8_0(s, at, blocks, out, off);
            case Q4_0 -> widenQ4_0(s, at, blocks, out, off);
            case Q4_K -> widenQ4K(s, at, blocks, out, off, false);
            case Q5_K -> widenQ4K(s, at, blocks, out, off, true);
            case Q6_K -> widenQ6K(s, at, blocks, out, off);
            default -> decode(w, r, k0, n, out, off);
        }
    }

    /** L bytes at `at`, sign-extended to ints. */
    private static IntVector signed(MemorySegment s, long at) {
        return (IntVector) ByteVector.fromMemorySegment(B, s, at, LE).convertShape(VectorOperators.B2I, I, 0);
    }

    /** L bytes at `at`, zero-extended to ints. */
    private static IntVector unsigned(MemorySegment s, long at) {
        return (IntVector) ByteVector.fromMemorySegment(B, s, at, LE).convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
    }

    private static FloatVector floats(IntVector v) {
        return (FloatVector) v.convert(VectorOperators.I2F, 0);
    }

    private static float f16(MemorySegment s, long at) {
        return Float.float16ToFloat(s.get(I16, at));
    }

    private static void widenQ8_0(MemorySegment s, long at, int blocks, float[] out, int off) {
        for (int b = 0; b < blocks; b++, at += 34, off += 32) {
            float d = f16(s, at);
            for (int i = 0; i < 32; i += L) floats(signed(s, at + 2 + i)).mul(d).intoArray(out, off + i);
        }
    }

    private static void widenQ4_0(MemorySegment s, long at, int blocks, float[] out, int off) {
        for (int b = 0; b < blocks; b++, at += 18, off += 32) {
            float d = f16(s, at);
            for (int i = 0; i < 16; i += L) {
                IntVector v = unsigned(s, at + 2 + i);
                floats(v.and(0xF).sub(8)).mul(d).intoArray(out, off + i);
                floats(v.lanewise(VectorOperators.LSHR, 4).sub(8)).mul(d).intoArray(out, off + 16 + i);
            }
        }
    }

    /** Q4_K, or Q5_K when `five` (its 32 bytes of fifth bits precede the nibbles). x = d·sc·q − dmin·m. */
    private static void widenQ4K(MemorySegment s, long at, int blocks, float[] out, int off, boolean five) {
        int size = five ? 176 : 144;
        for (int b = 0; b < blocks; b++, at += size, off += 256) {
            float d = f16(s, at), dmin = f16(s, at + 2);
            long lo = s.get(I64, at + 4);
            int hi = s.get(I32, at + 12);
            long qh = at + 16, qs = five ? at + 48 : at + 16;
            for (int j = 0; j < 8; j++) {
                float dl = d * scale(lo, hi, j), ml = dmin * min(lo, hi, j);
                long q = qs + 32L * (j >> 1);
                int shift = 4 * (j & 1);
                for (int i = 0; i < 32; i += L) {
                    IntVector v = unsigned(s, q + i).lanewise(VectorOperators.LSHR, shift).and(0xF);
                    if (five) v = v.or(unsigned(s, qh + i).lanewise(VectorOperators.LSHR, j).and(1).lanewise(VectorOperators.LSHL, 4));
                    floats(v).mul(dl).sub(ml).intoArray(out, off + 32 * j + i);
                }
            }
        }
    }

    /**
     * Q6_K: value 32g + l of a block (group g of 8) is, in half g / 4, the low or high nibble of byte l of the first or
     * second 32 low-nibble bytes and bit pair g % 4 of high byte l (see GgmlBlocks); x = d·sc·(q − 32), one scale per 16.
     */
    private static void widenQ6K(MemorySegment s, long at, int blocks, float[] out, int off) {
        for (int b = 0; b < blocks; b++, at += 210, off += 256) {
            float d = f16(s, at + 208);
            for (int g = 0; g < 8; g++) {
                int h = g >> 2, gg = g & 3;
                long ql = at + 64L * h + 32 * (gg & 1), qh = at + 128 + 32L * h, sc = at + 192 + 8L * h + 2 * gg;
                int lowShift = 4 * (gg >> 1), highShift = 2 * gg;
                for (int l = 0; l < 32; l += L) {
                    IntVector q = unsigned(s, ql + l).lanewise(VectorOperators.LSHR, lowShift).and(0xF)
                            .or(unsigned(s, qh + l).lanewise(VectorOperators.LSHR, highShift).and(3).lanewise(VectorOperators.LSHL, 4))
                            .sub(32);
                    floats(q).mul(d * s.get(ValueLayout.JAVA_BYTE, sc + l / 16)).intoArray(out, off + 32 * g + l);
                }
            }
        }
    }

    /** Byte k of a Q4_K/Q5_K block's 12 scale bytes, held as a long (bytes 0..7) and an int (8..11). */
    private static int scaleByte(long lo, int hi, int k) {
        return k < 8 ? (int) (lo >>> (8 * k)) & 0xFF : (hi >>> (8 * (k - 8))) & 0xFF;
    }

    /** The 6-bit scale of sub-block j (GgmlBlocks.scale, from registers). */
    private static int scale(long lo, int hi, int j) {
        return j < 4 ? scaleByte(lo, hi, j) & 63 : (scaleByte(lo, hi, j + 4) & 0xF) | ((scaleByte(lo, hi, j - 4) >>> 6) << 4);
    }

    /** The 6-bit min of sub-block j (GgmlBlocks.min). */
    private static int min(long lo, int hi, int j) {
        return j < 4 ? scaleByte(lo, hi, j + 4) & 63 : (scaleByte(lo, hi, j + 4) >>> 4) | ((scaleByte(lo, hi, j) >>> 6) << 4);
    }

    // -----------------------------------------------------------------------------------------------------------
    // Fused row · x for the streamed products

    /** Whether {@link #dot} on this type reads {@link #blockSums} (Q4_K and Q5_K: the minimum term). */
    static boolean needsSums(GgmlType type) {
        return type == GgmlType.Q4_K || type == GgmlType.Q5_K;
    }

    /** sums[sOff + j] = Σ x[xOff + 32j .. + 32) for the cols / 32 sub-blocks of a row of x. */
    static void blockSums(float[] x, int xOff, int cols, float[] sums, int sOff) {
        for (int j = 0; j < cols / SUB; j++) {
            int o = xOff + SUB * j;
            float a;
            if (L <= SUB) {
                FloatVector v = FloatVector.fromArray(F, x, o);
                for (int i = L; i < SUB; i += L) v = v.add(FloatVector.fromArray(F, x, o + i));
                a = VectorKernels.sumLanes(v);
            } else {
                a = 0f;
                for (int i = 0; i < SUB; i++) a += x[o + i];
            }
            sums[sOff + j] = a;
        }
    }

    /**
     * Row r of w · x[xOff .. xOff + cols), fused (see the class comment); sums at sOff are x's {@link #blockSums} when
     * {@link #needsSums} (else unread). Only when {@link #VECTOR}.
     */
    static float dot(Weight w, int r, float[] x, int xOff, float[] sums, int sOff) {
        MemorySegment s = w.data();
        long at = w.rowOffset(r);
        int blocks = w.cols() / w.ggml().blockSize();
        return switch (w.ggml()) {
            case Q8_0 -> dotQ8_0(s, at, blocks, x, xOff);
            case Q4_0 -> dotQ4_0(s, at, blocks, x, xOff);
            case Q4_K -> dotQ4K(s, at, blocks, x, xOff, sums, sOff, false);
            case Q5_K -> dotQ4K(s, at, blocks, x, xOff, sums, sOff, true);
            case Q6_K -> dotQ6K(s, at, blocks, x, xOff);
            default -> throw new IllegalArgumentException(w.name() + ": no fused product for " + w.ggml());
        };
    }

    /** Two accumulators, even and odd blocks, so that one block's scaling does not wait for the previous one's. */
    private static float dotQ8_0(MemorySegment s, long at, int blocks, float[] x, int xo) {
        FloatVector acc0 = FloatVector.zero(F), acc1 = acc0;
        int b = 0;
        for (; b + 2 <= blocks; b += 2, at += 68, xo += 64) {
            FloatVector p = FloatVector.zero(F), q = p;
            for (int i = 0; i < 32; i += L) {
                p = floats(signed(s, at + 2 + i)).fma(FloatVector.fromArray(F, x, xo + i), p);
                q = floats(signed(s, at + 36 + i)).fma(FloatVector.fromArray(F, x, xo + 32 + i), q);
            }
            acc0 = p.fma(FloatVector.broadcast(F, f16(s, at)), acc0);
            acc1 = q.fma(FloatVector.broadcast(F, f16(s, at + 34)), acc1);
        }
        if (b < blocks) {
            FloatVector p = FloatVector.zero(F);
            for (int i = 0; i < 32; i += L) p = floats(signed(s, at + 2 + i)).fma(FloatVector.fromArray(F, x, xo + i), p);
            acc0 = p.fma(FloatVector.broadcast(F, f16(s, at)), acc0);
        }
        return VectorKernels.sumLanes(acc0.add(acc1));
    }

    private static float dotQ4_0(MemorySegment s, long at, int blocks, float[] x, int xo) {
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < blocks; b++, at += 18, xo += 32) {
            FloatVector p = FloatVector.zero(F), q = p;
            for (int i = 0; i < 16; i += L) {
                IntVector v = unsigned(s, at + 2 + i);
                p = floats(v.and(0xF).sub(8)).fma(FloatVector.fromArray(F, x, xo + i), p);
                q = floats(v.lanewise(VectorOperators.LSHR, 4).sub(8)).fma(FloatVector.fromArray(F, x, xo + 16 + i), q);
            }
            acc = p.add(q).fma(FloatVector.broadcast(F, f16(s, at)), acc);
        }
        return VectorKernels.sumLanes(acc);
    }

    /**
     * Q4_K, or Q5_K when `five`: Σ_j d·sc_j·(q · x)_j − Σ_j dmin·m_j·(Σ x)_j over the 8 sub-blocks of each block. One
     * loop over the sub-blocks with the nibble's shift a variable, not the pairs written out: every vector call site
     * adds a deep tree of inlined Vector API methods, and with the pairs and Q6_K's four groups spelled out C2 ran out
     * of its inlining budget, left vector operations as calls that box, and ran 30x slower.
     */
    private static float dotQ4K(MemorySegment s, long at, int blocks, float[] x, int xo, float[] sums, int so,
                                boolean five) {
        int size = five ? 176 : 144;
        FloatVector acc = FloatVector.zero(F);
        float mins = 0f;
        for (int b = 0; b < blocks; b++, at += size, xo += 256, so += 8) {
            float d = f16(s, at), dmin = f16(s, at + 2);
            long lo = s.get(I64, at + 4);
            int hi = s.get(I32, at + 12);
            long qh = at + 16, qs = five ? at + 48 : at + 16;
            for (int j = 0; j < 8; j++) {
                long q = qs + 32L * (j >> 1);
                int shift = 4 * (j & 1), o = xo + 32 * j;
                FloatVector p = FloatVector.zero(F);
                for (int i = 0; i < 32; i += L) {
                    IntVector v = unsigned(s, q + i).lanewise(VectorOperators.LSHR, shift).and(0xF);
                    if (five) v = v.or(unsigned(s, qh + i).lanewise(VectorOperators.LSHR, j).and(1).lanewise(VectorOperators.LSHL, 4));
                    p = floats(v).fma(FloatVector.fromArray(F, x, o + i), p);
                }
                acc = p.fma(FloatVector.broadcast(F, d * scale(lo, hi, j)), acc);
                mins += dmin * min(lo, hi, j) * sums[so + j];
            }
        }
        return VectorKernels.sumLanes(acc) - mins;
    }

    /**
     * Q6_K: per vector of L values one int8 scale; (q − 32)·sc in floats (exact: |q − 32|·|sc| &lt; 2^13) fused with
     * x, and the block's sum scaled by d once. One loop over the 8 groups of 32 values (see dotQ4K).
     */
    private static float dotQ6K(MemorySegment s, long at, int blocks, float[] x, int xo) {
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < blocks; b++, at += 210, xo += 256) {
            FloatVector p = FloatVector.zero(F);
            for (int g = 0; g < 8; g++) {
                int h = g >> 2, gg = g & 3;
                long ql = at + 64L * h + 32 * (gg & 1), qh = at + 128 + 32L * h, sc = at + 192 + 8L * h + 2 * gg;
                int lowShift = 4 * (gg >> 1), highShift = 2 * gg, o = xo + 32 * g;
                for (int l = 0; l < 32; l += L) {
                    IntVector q = unsigned(s, ql + l).lanewise(VectorOperators.LSHR, lowShift).and(0xF)
                            .or(unsigned(s, qh + l).lanewise(VectorOperators.LSHR, highShift).and(3).lanewise(VectorOperators.LSHL, 4))
                            .sub(32);
                    p = floats(q).mul((float) s.get(ValueLayout.JAVA_BYTE, sc + l / 16)).fma(FloatVector.fromArray(F, x, o + l), p);
                }
            }
            acc = p.fma(FloatVector.broadcast(F, f16(s, at + 208)), acc);
        }
        return VectorKernels.sumLanes(acc);
    }
}
