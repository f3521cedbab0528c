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
            long sc = at + 4, qh = at + 16, qs = five ? at + 48 : at + 16;
            for (int p = 0; p < 4; p++) {
                int j = 2 * p;
                float dl0 = d * GgmlBlocks.scale(s, sc, j), ml0 = dmin * GgmlBlocks.min(s, sc, j);
                float dl1 = d * GgmlBlocks.scale(s, sc, j + 1), ml1 = dmin * GgmlBlocks.min(s, sc, j + 1);
                int o = off + 64 * p;
                for (int i = 0; i < 32; i += L) {
                    IntVector v = unsigned(s, qs + 32L * p + i);
                    IntVector lo = v.and(0xF), hi = v.lanewise(VectorOperators.LSHR, 4);
                    if (five) {
                        IntVector h = unsigned(s, qh + i);
                        lo = lo.or(h.lanewise(VectorOperators.LSHR, j).and(1).lanewise(VectorOperators.LSHL, 4));
                        hi = hi.or(h.lanewise(VectorOperators.LSHR, j + 1).and(1).lanewise(VectorOperators.LSHL, 4));
                    }
                    floats(lo).mul(dl0).sub(ml0).intoArray(out, o + i);
                    floats(hi).mul(dl1).sub(ml1).intoArray(out, o + 32 + i);
                }
            }
        }
    }

    /**
     * Q6_K: in each half (128 values), byte l of the low nibbles' first 32 and next 32 bytes and byte l of the 32 high
     * bit-pair bytes make values l, l + 32, l + 64, l + 96 (see GgmlBlocks); x = d·sc·(q − 32), one scale per 16.
     */
    private static void widenQ6K(MemorySegment s, long at, int blocks, float[] out, int off) {
        for (int b = 0; b < blocks; b++, at += 210, off += 256) {
            float d = f16(s, at + 208);
            for (int h = 0; h < 2; h++) {
                long ql = at + 64L * h, qh = at + 128 + 32L * h, sc = at + 192 + 8L * h;
                int o = off + 128 * h;
                for (int l = 0; l < 32; l += L) {
                    IntVector a = unsigned(s, ql + l), c = unsigned(s, ql + 32 + l), hb = unsigned(s, qh + l);
                    long si = sc + l / 16;
                    floats(a.and(0xF).or(hb.lanewise(VectorOperators.LSHL, 4).and(0x30)).sub(32))
                            .mul(d * s.get(ValueLayout.JAVA_BYTE, si)).intoArray(out, o + l);
                    floats(c.and(0xF).or(hb.lanewise(VectorOperators.LSHL, 2).and(0x30)).sub(32))
                            .mul(d * s.get(ValueLayout.JAVA_BYTE, si + 2)).intoArray(out, o + 32 + l);
                    floats(a.lanewise(VectorOperators.LSHR, 4).or(hb.and(0x30)).sub(32))
                            .mul(d * s.get(ValueLayout.JAVA_BYTE, si + 4)).intoArray(out, o + 64 + l);
                    floats(c.lanewise(VectorOperators.LSHR, 4).or(hb.lanewise(VectorOperators.LSHR, 2).and(0x30)).sub(32))
                            .mul(d * s.get(ValueLayout.JAVA_BYTE, si + 6)).intoArray(out, o + 96 + l);
                }
            }
        }
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
                a = v.reduceLanes(VectorOperators.ADD);
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
            case Q4_K -> dotQ4K(s, at, blocks, x, xOff, sums, sOff);
            case Q5_K -> dotQ5K(s, at, blocks, x, xOff, sums, sOff);
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
        return acc0.add(acc1).reduceLanes(VectorOperators.ADD);
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
        return acc.reduceLanes(VectorOperators.ADD);
    }

    /** Q4_K: Σ_j d·sc_j·(q · x)_j − Σ_j dmin·m_j·(Σ x)_j over the 8 sub-blocks of each block. */
    private static float dotQ4K(MemorySegment s, long at, int blocks, float[] x, int xo, float[] sums, int so) {
        FloatVector acc = FloatVector.zero(F);
        float mins = 0f;
        for (int b = 0; b < blocks; b++, at += 144, xo += 256, so += 8) {
            float d = f16(s, at), dmin = f16(s, at + 2);
            long sc = at + 4, qs = at + 16;
            for (int p = 0; p < 4; p++) {
                int j = 2 * p;
                FloatVector lo = FloatVector.zero(F), hi = lo;
                for (int i = 0; i < 32; i += L) {
                    IntVector v = unsigned(s, qs + 32L * p + i);
                    lo = floats(v.and(0xF)).fma(FloatVector.fromArray(F, x, xo + 64 * p + i), lo);
                    hi = floats(v.lanewise(VectorOperators.LSHR, 4)).fma(FloatVector.fromArray(F, x, xo + 64 * p + 32 + i), hi);
                }
                acc = lo.fma(FloatVector.broadcast(F, d * GgmlBlocks.scale(s, sc, j)), acc);
                acc = hi.fma(FloatVector.broadcast(F, d * GgmlBlocks.scale(s, sc, j + 1)), acc);
                mins += dmin * GgmlBlocks.min(s, sc, j) * sums[so + j] + dmin * GgmlBlocks.min(s, sc, j + 1) * sums[so + j + 1];
            }
        }
        return acc.reduceLanes(VectorOperators.ADD) - mins;
    }

    /** Q5_K: as Q4_K with the fifth bit of sub-block j's value i in bit j of qh byte i. */
    private static float dotQ5K(MemorySegment s, long at, int blocks, float[] x, int xo, float[] sums, int so) {
        FloatVector acc = FloatVector.zero(F);
        float mins = 0f;
        for (int b = 0; b < blocks; b++, at += 176, xo += 256, so += 8) {
            float d = f16(s, at), dmin = f16(s, at + 2);
            long sc = at + 4, qh = at + 16, qs = at + 48;
            for (int p = 0; p < 4; p++) {
                int j = 2 * p;
                FloatVector lo = FloatVector.zero(F), hi = lo;
                for (int i = 0; i < 32; i += L) {
                    IntVector v = unsigned(s, qs + 32L * p + i), h = unsigned(s, qh + i);
                    IntVector a = v.and(0xF).or(h.lanewise(VectorOperators.LSHR, j).and(1).lanewise(VectorOperators.LSHL, 4));
                    IntVector c = v.lanewise(VectorOperators.LSHR, 4)
                            .or(h.lanewise(VectorOperators.LSHR, j + 1).and(1).lanewise(VectorOperators.LSHL, 4));
                    lo = floats(a).fma(FloatVector.fromArray(F, x, xo + 64 * p + i), lo);
                    hi = floats(c).fma(FloatVector.fromArray(F, x, xo + 64 * p + 32 + i), hi);
                }
                acc = lo.fma(FloatVector.broadcast(F, d * GgmlBlocks.scale(s, sc, j)), acc);
                acc = hi.fma(FloatVector.broadcast(F, d * GgmlBlocks.scale(s, sc, j + 1)), acc);
                mins += dmin * GgmlBlocks.min(s, sc, j) * sums[so + j] + dmin * GgmlBlocks.min(s, sc, j + 1) * sums[so + j + 1];
            }
        }
        return acc.reduceLanes(VectorOperators.ADD) - mins;
    }

    /**
     * Q6_K: per vector of L values one int8 scale; (q − 32)·sc in floats (exact: |q − 32|·|sc| &lt; 2^13) fused with
     * x, and the block's sum scaled by d once.
     */
    private static float dotQ6K(MemorySegment s, long at, int blocks, float[] x, int xo) {
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < blocks; b++, at += 210, xo += 256) {
            FloatVector p0 = FloatVector.zero(F), p1 = p0;
            for (int h = 0; h < 2; h++) {
                long ql = at + 64L * h, qh = at + 128 + 32L * h, sc = at + 192 + 8L * h;
                int o = xo + 128 * h;
                for (int l = 0; l < 32; l += L) {
                    IntVector a = unsigned(s, ql + l), c = unsigned(s, ql + 32 + l), hb = unsigned(s, qh + l);
                    long si = sc + l / 16;
                    IntVector q0 = a.and(0xF).or(hb.lanewise(VectorOperators.LSHL, 4).and(0x30)).sub(32);
                    IntVector q1 = c.and(0xF).or(hb.lanewise(VectorOperators.LSHL, 2).and(0x30)).sub(32);
                    IntVector q2 = a.lanewise(VectorOperators.LSHR, 4).or(hb.and(0x30)).sub(32);
                    IntVector q3 = c.lanewise(VectorOperators.LSHR, 4).or(hb.lanewise(VectorOperators.LSHR, 2).and(0x30)).sub(32);
                    p0 = floats(q0).mul((float) s.get(ValueLayout.JAVA_BYTE, si)).fma(FloatVector.fromArray(F, x, o + l), p0);
                    p1 = floats(q1).mul((float) s.get(ValueLayout.JAVA_BYTE, si + 2)).fma(FloatVector.fromArray(F, x, o + 32 + l), p1);
                    p0 = floats(q2).mul((float) s.get(ValueLayout.JAVA_BYTE, si + 4)).fma(FloatVector.fromArray(F, x, o + 64 + l), p0);
                    p1 = floats(q3).mul((float) s.get(ValueLayout.JAVA_BYTE, si + 6)).fma(FloatVector.fromArray(F, x, o + 96 + l), p1);
                }
            }
            acc = p0.add(p1).fma(FloatVector.broadcast(F, f16(s, at + 208)), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }
}
