package org.moescope.kernels;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
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
 * <p>Two vectorised forms:
 * <ul>
 * <li>{@link #widen}: blocks → floats in the values' natural order (one vector of L ≤ 16 values never straddles a
 * scale), bit-identical to the reference decoders (the same float operations, no FMA), for the tiled prefill path,
 * which decodes a tile's rows once for all the tokens of a call.</li>
 * <li>{@link #dot}: a row · x fused, for the streamed (decode) path. Q8_0/Q4_0: L bytes load and widen to L ints,
 * converted to float and multiplied with x, each block's partial sum scaled once. K-quants (8 or 16 lanes): packed
 * values read as int lanes against x permuted once per token ({@link #prepare}), see "The K-quant products" below.
 * The result is the float product of the dequantised values up to the order and rounding of the additions (scales
 * and offsets are applied to partial sums instead of to each value).</li>
 * </ul>
 * Lanes: the floats' preferred species (8 on AVX2, 16 on AVX-512). {@link #widen} and the Q8_0/Q4_0 products load L
 * bytes per vector and work for any L from 4 to 16 (it divides Q6_K's 16-value scale groups); the K-quant products
 * need 8 or 16. Elsewhere the reference decoders widen rows into scratch.
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

    private static final VectorOperators.Conversion<Integer, Float> I2F = VectorOperators.I2F;

    /**
     * Ints to floats, for the block decoders. The fused products spell the conversion out: C2 was seen declining to
     * inline this 12-byte method in one of them (PrintInlining: "already compiled into a medium method"), and a vector
     * passed to a method that is not inlined is allocated; spelled out, nothing depends on that decision.
     */
    private static FloatVector floats(IntVector v) {
        return (FloatVector) v.convert(I2F, 0);
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
            long scales = packedScales(lo, hi), minima = packedMins(lo, hi);
            long qh = at + 16, qs = five ? at + 48 : at + 16;
            for (int j = 0; j < 8; j++) {
                float dl = d * ((int) (scales >>> (8 * j)) & 0xFF), ml = dmin * ((int) (minima >>> (8 * j)) & 0xFF);
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

    /*
     * A Q4_K/Q5_K block's 12 scale bytes (b0 .. b11, read as a long lo = b0..b7 and an int hi = b8..b11) hold 8 six-bit
     * scales and 8 six-bit minimums (GgmlBlocks.scale/min): for j < 4 the low 6 bits of b_j (scale) and b_{j+4} (min);
     * for j >= 4 the low (scale) or high (min) nibble of b_{j+4} with the top 2 bits of b_{j-4} (scale) or b_j (min)
     * above it. These return the 8 of each as the bytes of a long (byte j = sub-block j), four at a time.
     */

    private static long packedScales(long lo, int hi) {
        int b0 = (int) lo;
        return (b0 & 0x3F3F3F3FL) | ((long) ((hi & 0x0F0F0F0F) | ((b0 >>> 2) & 0x30303030)) << 32);
    }

    private static long packedMins(long lo, int hi) {
        int b4 = (int) (lo >>> 32);
        return (b4 & 0x3F3F3F3FL) | ((long) (((hi >>> 4) & 0x0F0F0F0F) | ((b4 >>> 2) & 0x30303030)) << 32);
    }

    // -----------------------------------------------------------------------------------------------------------
    // Fused row · x for the streamed products

    /**
     * Whether the K-quants (Q4_K, Q5_K, Q6_K) have fused products here: 8 or 16 float lanes (AVX2, AVX-512). Their
     * lane-to-value maps (below) are built for those; with other lane counts the rows are widened into scratch.
     */
    static final boolean K_FUSED = VECTOR && (L == 8 || L == 16);
    /** The number of sumLanes' folds (3 or 4 where K_FUSED), for the products that write them out (dotQ4K). */
    private static final int FOLDS_END = VectorKernels.FOLDS.length;

    /** Whether {@link #dot} on this type exists here. */
    static boolean fused(GgmlType type) {
        return switch (type) {
            case Q8_0, Q4_0 -> VECTOR;
            case Q4_K, Q5_K, Q6_K -> K_FUSED;
            default -> false;
        };
    }

    /** Whether {@link #dot} on this type reads x prepared by {@link #prepare} rather than x itself. */
    static boolean prepares(GgmlType type) {
        return type == GgmlType.Q4_K || type == GgmlType.Q5_K || type == GgmlType.Q6_K;
    }

    /**
     * Which order {@link #prepare} puts x in for this type: 0 (Q4_K, Q5_K), 1 (Q6_K), -1 (x is read as it is). Weights
     * of one order share a prepared x.
     */
    static int layout(GgmlType type) {
        return !prepares(type) || !fused(type) ? -1 : type == GgmlType.Q6_K ? 1 : 0;
    }

    /** Floats of a prepared x for rows of `cols` columns: the permuted values, then 16 sums a block. */
    static int preparedSize(int cols) {
        return cols + cols / 16;
    }

    /*
     * The K-quant products. They read their packed values as int lanes: one IntVector load holds 4·L bytes, and a lane
     * shifted right by 8b (+4 for a high nibble) and masked is one value (with Q5_K's fifth and Q6_K's two high bits
     * or-ed in from their own int loads). Which value of the block each lane then holds is fixed, so x is permuted
     * once per token and call into that order (prepare) and each weight vector meets its own x vector: no byte
     * widening and no shuffles per value. Each lane's scale comes from the block's decoded scales by a constant
     * shuffle, applied to a partial sum of four products. The offsets (Q4_K/Q5_K's minimums, Q6_K's -32) act through
     * the sums of x over each scale group, once per block: Σ (d·sc·q − dmin·m)·x = Σ d·sc·(q·x) − Σ dmin·m·Σx.
     * Measured and dropped (docs/performance.md, session 8): the values put in the mantissa of 1.0f instead of
     * converted (slower on the real model), two rows side by side sharing the x loads (C2 then boxed vectors: 4x
     * slower); and (session 10) 16-bit integer products against x quantised to 10 bits, 1.13x for Q4_K but 0.66% off
     * the float product.
     *
     * Q4_K/Q5_K: 128 bytes of nibbles, chunk c (32 bytes) holding sub-block 2c in its low and 2c+1 in its high
     * nibbles, value l at byte l. Load k covers bytes 4Lk .. 4L(k+1): lane i, byte b, nibble n is value
     * 32·(2c + n) + l with c = (4Lk + 4i) / 32, l = (4Lk + 4i + b) % 32.
     * Q6_K: per half h (128 values), 64 bytes of low nibbles and 32 of high bit pairs: low byte β < 32 holds values
     * l = β (low nibble) and 64 + l (high), β ≥ 32 values 32 + l and 96 + l (l = β − 32), their high bits being bit
     * pairs 0/4 and 2/6 of high byte l. Load j covers low bytes 4Lj .. 4L(j+1): lane i, byte b, nibble n is value
     * 128h + 32·(2n + part) + l with part = (4Lj + 4i) / 32, l = (4Lj + 4i + b) % 32; one int8 scale per 16 values.
     */

    /** Q4_K/Q5_K int loads a block (of 4L bytes of nibbles), and Q6_K's per half. */
    private static final int K4_LOADS = 128 / (4 * Math.max(L, 1)), K6_LOADS = 64 / (4 * Math.max(L, 1));
    /** Position p of a prepared block holds x value PERM[p] of the block (see above); one table per layout. */
    private static final int[] Q4K_PERM = new int[256], Q6K_PERM = new int[256];
    /** Lane i of load k, nibble n: the sub-block (its scale's index among the block's 8; n = 0: Q5_K's bit shift). */
    private static final int[][][] Q4K_SUB = new int[K4_LOADS][2][L];
    /** Lane i of load k: the int of Q5_K's 32 high-bit bytes holding its fifth bits. */
    private static final int[][] Q5K_QH = new int[K4_LOADS][L];
    /** Lane i of half h, load j: the int of the block's high-bit ints (both halves when L = 16) holding its bits. */
    private static final int[][][] Q6K_QH = new int[2][K6_LOADS][L];
    /** Lane i of load j: 2·part, the shift of its bit pair within a high byte (+ 4 for the high nibble). */
    private static final int[][] Q6K_PART_SHIFT = new int[K6_LOADS][L];
    /** Lane i of half h, load j, nibble n: its scale's lane in that half's part of the scales (see dotQ6K). */
    private static final int[][][][] Q6K_SCALE = new int[2][K6_LOADS][2][L];

    static {
        if (K_FUSED) {
            for (int k = 0; k < K4_LOADS; k++) {
                for (int b = 0; b < 4; b++) {
                    for (int n = 0; n < 2; n++) {
                        for (int i = 0; i < L; i++) {
                            int c = (4 * L * k + 4 * i) / 32, l = (4 * L * k + 4 * i + b) % 32;
                            Q4K_PERM[8 * L * k + L * (2 * b + n) + i] = 32 * (2 * c + n) + l;
                            Q4K_SUB[k][n][i] = 2 * c + n;
                            Q5K_QH[k][i] = (L * k + i) % 8;
                        }
                    }
                }
            }
            for (int h = 0; h < 2; h++) {
                for (int j = 0; j < K6_LOADS; j++) {
                    for (int b = 0; b < 4; b++) {
                        for (int n = 0; n < 2; n++) {
                            for (int i = 0; i < L; i++) {
                                int part = (4 * L * j + 4 * i) / 32, l = (4 * L * j + 4 * i + b) % 32;
                                Q6K_PERM[128 * h + 8 * L * j + L * (2 * b + n) + i] = 128 * h + 32 * (2 * n + part) + l;
                                Q6K_QH[h][j][i] = (L == 16 ? 8 * h : 0) + (L * j + i) % 8;
                                Q6K_PART_SHIFT[j][i] = 2 * part;
                                // scale index 8h + 2·(2n + part) + l / 16, as a lane of the part holding 8h .. 8h+8
                                Q6K_SCALE[h][j][n][i] = (8 * h) % L + 2 * (2 * n + part) + ((4 * L * j + 4 * i) % 32) / 16;
                            }
                        }
                    }
                }
            }
        }
    }

    private static VectorShuffle<Float>[] floatShuffles(int[][] lanes) {
        @SuppressWarnings("unchecked")
        VectorShuffle<Float>[] s = new VectorShuffle[lanes.length];
        for (int i = 0; i < lanes.length; i++) s[i] = VectorShuffle.fromArray(F, lanes[i], 0);
        return s;
    }

    private static VectorShuffle<Integer>[] intShuffles(int[][] lanes) {
        @SuppressWarnings("unchecked")
        VectorShuffle<Integer>[] s = new VectorShuffle[lanes.length];
        for (int i = 0; i < lanes.length; i++) s[i] = VectorShuffle.fromArray(I, lanes[i], 0);
        return s;
    }

    /** Flattened [k·2 + n], [k], [h·K6_LOADS + j], [(h·K6_LOADS + j)·2 + n] (vectors in arrays of one dimension). */
    private static final VectorShuffle<Float>[] Q4K_SCALES = K_FUSED ? floatShuffles(flatten(Q4K_SUB)) : null;
    private static final IntVector[] Q5K_BITS = K_FUSED ? intVectors(flatten(Q4K_SUB)) : null;
    private static final VectorShuffle<Integer>[] Q5K_QHS = K_FUSED ? intShuffles(Q5K_QH) : null;
    private static final VectorShuffle<Integer>[] Q6K_QHS = K_FUSED ? intShuffles(flatten(Q6K_QH)) : null;
    private static final IntVector[] Q6K_SHIFTS = K_FUSED ? intVectors(Q6K_PART_SHIFT) : null;
    private static final VectorShuffle<Float>[] Q6K_SCALES = K_FUSED
            ? floatShuffles(flatten(flatten(Q6K_SCALE))) : null;
    /** Lanes (of the 16 scale-then-min values, as L-lane parts) that are minimums: dmin scales them, d the rest. */
    private static final VectorMask<Float>[] MIN_LANES = K_FUSED ? minLanes() : null;

    private static int[][] flatten(int[][][] a) {
        return java.util.Arrays.stream(a).flatMap(java.util.Arrays::stream).toArray(int[][]::new);
    }

    private static int[][][] flatten(int[][][][] a) {
        return java.util.Arrays.stream(a).flatMap(java.util.Arrays::stream).toArray(int[][][]::new);
    }

    private static IntVector[] intVectors(int[][] lanes) {
        IntVector[] v = new IntVector[lanes.length];
        for (int i = 0; i < lanes.length; i++) v[i] = IntVector.fromArray(I, lanes[i], 0);
        return v;
    }

    @SuppressWarnings("unchecked")
    private static VectorMask<Float>[] minLanes() {
        VectorMask<Float>[] m = new VectorMask[16 / L];
        for (int p = 0; p < m.length; p++) m[p] = VectorMask.fromLong(F, p * L >= 8 ? -1L : (L == 16 ? 0xFF00L : 0L));
        return m;
    }

    /**
     * xp[pOff ..] = x[xOff .. xOff + cols) as a K-quant product of this type reads it: each block's 256 values in the
     * lanes' order (see above), then per block 16 sums: Q4_K/Q5_K 8 zeros and the 8 sub-blocks' sums (they meet the
     * 8 scales and 8 minimums), Q6_K the sums of its 16 groups of 16.
     */
    static void prepare(GgmlType type, float[] x, int xOff, int cols, float[] xp, int pOff) {
        int[] perm = type == GgmlType.Q6_K ? Q6K_PERM : Q4K_PERM;
        int group = type == GgmlType.Q6_K ? 16 : 32;
        for (int blk = 0; blk < cols / 256; blk++) {
            int src = xOff + 256 * blk, dst = pOff + 256 * blk;
            for (int p = 0; p < 256; p++) xp[dst + p] = x[src + perm[p]];
            int sums = pOff + cols + 16 * blk;
            for (int g = 0; g < 256 / group; g++) {
                float a = 0f;
                for (int i = 0; i < group; i++) a += x[src + group * g + i];
                xp[sums + 16 - 256 / group + g] = a;
            }
            for (int g = 0; g < 16 - 256 / group; g++) xp[sums + g] = 0f;
        }
    }

    /** {@link #prepare} of x's `tokens` rows (cols apart from xOff), row t at xp[t · preparedSize(cols)]. */
    static void prepareRows(GgmlType type, float[] x, int xOff, int tokens, int cols, float[] xp) {
        int stride = preparedSize(cols);
        for (int t = 0; t < tokens; t++) prepare(type, x, xOff + t * cols, cols, xp, t * stride);
    }

    /**
     * Row r of w · x for a {@link #fused} type: x at xOff as it is (Q8_0, Q4_0) or {@link #prepare}d (K-quants).
     */
    static float dot(Weight w, int r, float[] x, int xOff) {
        MemorySegment s = w.data();
        long at = w.rowOffset(r);
        int blocks = w.cols() / w.ggml().blockSize();
        return switch (w.ggml()) {
            case Q8_0 -> dotQ8_0(s, at, blocks, x, xOff);
            case Q4_0 -> dotQ4_0(s, at, blocks, x, xOff);
            case Q4_K -> dotQ4K(s, at, blocks, x, xOff, w.cols());
            case Q5_K -> dotQ5K(s, at, blocks, x, xOff, w.cols());
            case Q6_K -> dotQ6K(s, at, blocks, x, xOff, w.cols());
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
                p = ((FloatVector) signed(s, at + 2 + i).convert(I2F, 0)).fma(FloatVector.fromArray(F, x, xo + i), p);
                q = ((FloatVector) signed(s, at + 36 + i).convert(I2F, 0)).fma(FloatVector.fromArray(F, x, xo + 32 + i), q);
            }
            acc0 = p.fma(FloatVector.broadcast(F, f16(s, at)), acc0);
            acc1 = q.fma(FloatVector.broadcast(F, f16(s, at + 34)), acc1);
        }
        if (b < blocks) {
            FloatVector p = FloatVector.zero(F);
            for (int i = 0; i < 32; i += L) p = ((FloatVector) signed(s, at + 2 + i).convert(I2F, 0)).fma(FloatVector.fromArray(F, x, xo + i), p);
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
                p = ((FloatVector) v.and(0xF).sub(8).convert(I2F, 0)).fma(FloatVector.fromArray(F, x, xo + i), p);
                q = ((FloatVector) v.lanewise(VectorOperators.LSHR, 4).sub(8).convert(I2F, 0)).fma(FloatVector.fromArray(F, x, xo + 16 + i), q);
            }
            acc = p.add(q).fma(FloatVector.broadcast(F, f16(s, at)), acc);
        }
        return VectorKernels.sumLanes(acc);
    }

    /*
     * Q4_K's and Q5_K's 8 scales and 8 minimums decoded in vector lanes, from the block's first 16 bytes (d, dmin, the
     * 12 packed bytes b0 .. b11 at bytes 4 .. 15). Output lane o is scale o (o < 8) or minimum o - 8; its low bits are
     * byte SC_LOW[o] shifted right by SC_LOW_SHIFT and masked by SC_LOW_MASK, and its top two bits (j >= 4 only) are
     * the top two of byte SC_HIGH[o], moved to bits 4-5 ((b >>> 2) & 0x30): see packedScales above. Two byte shuffles,
     * two widenings and five int operations: measured alone, 1.56x as fast as the scalar bit fields and two lane
     * inserts it replaced, and the Q4_K product 1.07x (docs/performance.md, "Q4_K's scales in lanes").
     */
    private static final VectorSpecies<Byte> B16 = ByteVector.SPECIES_128;
    private static final VectorShuffle<Byte> SC_LOW = K_FUSED
            ? VectorShuffle.fromValues(B16, 4, 5, 6, 7, 12, 13, 14, 15, 8, 9, 10, 11, 12, 13, 14, 15) : null;
    private static final VectorShuffle<Byte> SC_HIGH = K_FUSED
            ? VectorShuffle.fromValues(B16, 0, 0, 0, 0, 4, 5, 6, 7, 0, 0, 0, 0, 8, 9, 10, 11) : null;
    /** Per L-lane part of the 16 outputs (see scalesAndMins). */
    private static final IntVector[] SC_LOW_SHIFT = K_FUSED ? intParts(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 4, 4, 4)
            : null;
    private static final IntVector[] SC_LOW_MASK = K_FUSED
            ? intParts(63, 63, 63, 63, 15, 15, 15, 15, 63, 63, 63, 63, 15, 15, 15, 15) : null;
    private static final IntVector[] SC_HIGH_MASK = K_FUSED
            ? intParts(0, 0, 0, 0, 48, 48, 48, 48, 0, 0, 0, 0, 48, 48, 48, 48) : null;

    /** The 16 values as 16 / L vectors of L lanes. */
    private static IntVector[] intParts(int... sixteen) {
        IntVector[] v = new IntVector[16 / L];
        for (int p = 0; p < v.length; p++) v[p] = IntVector.fromArray(I, sixteen, p * L);
        return v;
    }

    /**
     * Q4_K's and Q5_K's 8 scales and 8 minimums of the block at `at`, decoded together (above), then as floats times d
     * (scales) or dmin (minimums): L-lane part `part` of the 16 values (L = 16: part 0 is all; L = 8: part 0 the
     * scales, part 1 the minimums).
     */
    static FloatVector scalesAndMins(MemorySegment s, long at, int part) {
        float d = Float.float16ToFloat(s.get(I16, at)), dmin = Float.float16ToFloat(s.get(I16, at + 2));
        ByteVector head = ByteVector.fromMemorySegment(B16, s, at, LE);
        IntVector low = (IntVector) head.rearrange(SC_LOW).convertShape(VectorOperators.ZERO_EXTEND_B2I, I, part);
        IntVector high = (IntVector) head.rearrange(SC_HIGH).convertShape(VectorOperators.ZERO_EXTEND_B2I, I, part);
        IntVector v = low.lanewise(VectorOperators.LSHR, SC_LOW_SHIFT[part]).and(SC_LOW_MASK[part])
                .or(high.lanewise(VectorOperators.LSHR, 2).and(SC_HIGH_MASK[part]));
        return ((FloatVector) v.convert(I2F, 0)).mul(FloatVector.broadcast(F, d).blend(dmin, MIN_LANES[part]));
    }

    /**
     * Q4_K on a prepared x (xp at xo, its sums cols later). Per block: the scales and minimums (scalesAndMins), the
     * minimums met with the sub-block sums, then per int load two partial sums (low and high nibbles) scaled lane by
     * lane.
     */
    private static float dotQ4K(MemorySegment s, long at, int blocks, float[] xp, int xo, int cols) {
        FloatVector acc0 = FloatVector.zero(F), acc1 = acc0, mins = acc0;
        for (int blk = 0, so = xo + cols; blk < blocks; blk++, at += 144, xo += 256, so += 16) {
            FloatVector sm = scalesAndMins(s, at, 0), mn = L == 16 ? sm : scalesAndMins(s, at, 1);
            mins = mn.fma(FloatVector.fromArray(F, xp, so + 16 - L), mins);
            for (int k = 0; k < K4_LOADS; k++) {
                IntVector q = IntVector.fromMemorySegment(I, s, at + 16 + 4L * L * k, LE);
                FloatVector p0 = FloatVector.zero(F), p1 = p0;
                int o = xo + 8 * L * k;
                for (int b = 0; b < 4; b++) {
                    IntVector v0 = q.lanewise(VectorOperators.LSHR, 8 * b).and(0xF);
                    IntVector v1 = q.lanewise(VectorOperators.LSHR, 8 * b + 4);
                    if (b < 3) v1 = v1.and(0xF); // the top nibble needs no mask
                    p0 = ((FloatVector) v0.convert(I2F, 0)).fma(FloatVector.fromArray(F, xp, o + 2 * L * b), p0);
                    p1 = ((FloatVector) v1.convert(I2F, 0)).fma(FloatVector.fromArray(F, xp, o + 2 * L * b + L), p1);
                }
                acc0 = p0.fma(sm.rearrange(Q4K_SCALES[2 * k]), acc0);
                acc1 = p1.fma(sm.rearrange(Q4K_SCALES[2 * k + 1]), acc1);
            }
        }
        // VectorKernels.sumLanes written out and unrolled (L is 8 or 16 here). Called, its loop over the folds was
        // sometimes compiled rolled in these products, boxing the vector at every fold (42 MB a token in about one
        // Q4_K_M decode in seven, 0.6-0.8x); unrolled but called, the call was not always inlined (these products
        // are over FreqInlineSize's 325 bytes, and large), and the vector passed was boxed (8.7 MB a token in one
        // run in four). The Vector API's own methods are inlined even past C2's budgets. docs/performance.md, "Lane
        // sums without a loop".
        FloatVector v = acc0.add(acc1).sub(mins);
        if (L == 16) v = v.add(v.rearrange(VectorKernels.FOLDS[0]));
        v = v.add(v.rearrange(VectorKernels.FOLDS[FOLDS_END - 3]));
        v = v.add(v.rearrange(VectorKernels.FOLDS[FOLDS_END - 2]));
        v = v.add(v.rearrange(VectorKernels.FOLDS[FOLDS_END - 1]));
        return v.lane(0);
    }

    /**
     * Q5_K: Q4_K with a fifth bit per value (bit j of high byte l, for value l of sub-block j): one int load of the
     * 32 high-bit bytes, each lane moved to the int of its low bytes and shifted right by its low nibbles' sub-block
     * (the high nibbles' is the next bit). Its own method, not dotQ4K with a flag: dotQ5K alone already reaches C2's
     * node limit (a lane-sum call at its end was not inlined, hence the folds written out), and a shared body would
     * cost Q4_K the unused high-bit work.
     */
    private static float dotQ5K(MemorySegment s, long at, int blocks, float[] xp, int xo, int cols) {
        FloatVector acc0 = FloatVector.zero(F), acc1 = acc0, mins = acc0;
        for (int blk = 0, so = xo + cols; blk < blocks; blk++, at += 176, xo += 256, so += 16) {
            FloatVector sm = scalesAndMins(s, at, 0), mn = L == 16 ? sm : scalesAndMins(s, at, 1);
            mins = mn.fma(FloatVector.fromArray(F, xp, so + 16 - L), mins);
            IntVector qh = IntVector.fromMemorySegment(I, s, at + 16, LE);
            for (int k = 0; k < K4_LOADS; k++) {
                IntVector q = IntVector.fromMemorySegment(I, s, at + 48 + 4L * L * k, LE);
                // fifth bits of byte b at 8b (low nibble's sub-block) and 8b + 1 (high's), moved up to 8b + 4 / + 5;
                // the four bytes' 5-bit values assembled at once, as in dotQ6K (23 integer operations an int load
                // instead of 41; decode of a Q5_K file level, 1.02x median of 5 alternating pairs: bound elsewhere)
                IntVector h = qh.rearrange(Q5K_QHS[k]).lanewise(VectorOperators.LSHR, Q5K_BITS[2 * k])
                        .lanewise(VectorOperators.LSHL, 4);
                IntVector lo = q.and(0x0F0F0F0F).or(h.and(0x10101010));
                IntVector hi = q.lanewise(VectorOperators.LSHR, 4).and(0x0F0F0F0F)
                        .or(h.lanewise(VectorOperators.LSHR, 1).and(0x10101010));
                FloatVector p0 = FloatVector.zero(F), p1 = p0;
                int o = xo + 8 * L * k;
                for (int b = 0; b < 4; b++) {
                    IntVector v0 = lo.lanewise(VectorOperators.LSHR, 8 * b).and(0x1F);
                    IntVector v1 = hi.lanewise(VectorOperators.LSHR, 8 * b).and(0x1F);
                    p0 = ((FloatVector) v0.convert(I2F, 0)).fma(FloatVector.fromArray(F, xp, o + 2 * L * b), p0);
                    p1 = ((FloatVector) v1.convert(I2F, 0)).fma(FloatVector.fromArray(F, xp, o + 2 * L * b + L), p1);
                }
                acc0 = p0.fma(sm.rearrange(Q4K_SCALES[2 * k]), acc0);
                acc1 = p1.fma(sm.rearrange(Q4K_SCALES[2 * k + 1]), acc1);
            }
        }
        FloatVector v = acc0.add(acc1).sub(mins); // sumLanes written out, as in dotQ4K
        if (L == 16) v = v.add(v.rearrange(VectorKernels.FOLDS[0]));
        v = v.add(v.rearrange(VectorKernels.FOLDS[FOLDS_END - 3]));
        v = v.add(v.rearrange(VectorKernels.FOLDS[FOLDS_END - 2]));
        v = v.add(v.rearrange(VectorKernels.FOLDS[FOLDS_END - 1]));
        return v.lane(0);
    }

    /**
     * Q6_K on a prepared x: the 16 int8 scales times d as L-lane parts (the half h's 8 scales are in part 8h / L),
     * the -32 offset met with the 16-value group sums; per half and int load, two partial sums scaled lane by lane.
     * The high bit pairs: one int load (both halves' 64 bytes when L = 16), each lane moved to the int of its low
     * byte and shifted by its part's 2 bits, so the pairs of byte b sit at 8b (low nibble) and 8b + 4 (high).
     */
    private static float dotQ6K(MemorySegment s, long at, int blocks, float[] xp, int xo, int cols) {
        FloatVector acc0 = FloatVector.zero(F), acc1 = acc0, offs = acc0;
        int so = xo + cols;
        for (int blk = 0; blk < blocks; blk++, at += 210, xo += 256, so += 16) {
            float d = Float.float16ToFloat(s.get(I16, at + 208));
            ByteVector packed = ByteVector.fromMemorySegment(ByteVector.SPECIES_128, s, at + 192, LE);
            IntVector sc0i = (IntVector) packed.convertShape(VectorOperators.B2I, I, 0);
            FloatVector sc0 = ((FloatVector) sc0i.convert(I2F, 0)).mul(d);
            FloatVector sc1 = L == 16 ? sc0
                    : ((FloatVector) packed.convertShape(VectorOperators.B2I, I, 1).convert(I2F, 0)).mul(d);
            offs = sc0.fma(FloatVector.fromArray(F, xp, so), offs);
            if (L < 16) offs = sc1.fma(FloatVector.fromArray(F, xp, so + L), offs);
            for (int half = 0; half < 2; half++) {
                FloatVector sc = half == 0 || L == 16 ? sc0 : sc1;
                IntVector qh = IntVector.fromMemorySegment(I, s, at + 128 + (L == 16 ? 0 : 32L * half), LE);
                for (int j = 0; j < K6_LOADS; j++) {
                    int hj = half * K6_LOADS + j;
                    IntVector q = IntVector.fromMemorySegment(I, s, at + 64L * half + 4L * L * j, LE);
                    // bit pair b at 8b + 4n of hq; hq << 4 puts a low nibble's pair at 8b + 4 (its bits ≤ 29). The
                    // 6-bit values of all four bytes are assembled at once, low nibbles' in lo and high nibbles' in hi
                    // (byte b of each), so a value costs a shift and a mask: 24 integer operations per int load
                    // instead of 37 when each value was assembled on its own (decode of a Q6_K file: 1.04x, median
                    // of 5 alternating pairs on the Zen 5 VM; the conversions, loads and FMAs are unchanged).
                    IntVector hq = qh.rearrange(Q6K_QHS[hj]).lanewise(VectorOperators.LSHR, Q6K_SHIFTS[j]);
                    IntVector lo = q.and(0x0F0F0F0F).or(hq.lanewise(VectorOperators.LSHL, 4).and(0x30303030));
                    IntVector hi = q.lanewise(VectorOperators.LSHR, 4).and(0x0F0F0F0F).or(hq.and(0x30303030));
                    FloatVector p0 = FloatVector.zero(F), p1 = p0;
                    int o = xo + 128 * half + 8 * L * j;
                    for (int b = 0; b < 4; b++) {
                        IntVector v0 = lo.lanewise(VectorOperators.LSHR, 8 * b);
                        IntVector v1 = hi.lanewise(VectorOperators.LSHR, 8 * b);
                        if (b < 3) { // the top byte needs no mask: its two high bits are zero
                            v0 = v0.and(0x3F);
                            v1 = v1.and(0x3F);
                        }
                        p0 = ((FloatVector) v0.convert(I2F, 0)).fma(FloatVector.fromArray(F, xp, o + 2 * L * b), p0);
                        p1 = ((FloatVector) v1.convert(I2F, 0)).fma(FloatVector.fromArray(F, xp, o + 2 * L * b + L), p1);
                    }
                    acc0 = p0.fma(sc.rearrange(Q6K_SCALES[2 * hj]), acc0);
                    acc1 = p1.fma(sc.rearrange(Q6K_SCALES[2 * hj + 1]), acc1);
                }
            }
        }
        FloatVector v = offs.mul(-32f).add(acc0.add(acc1)); // sumLanes written out, as in dotQ4K
        if (L == 16) v = v.add(v.rearrange(VectorKernels.FOLDS[0]));
        v = v.add(v.rearrange(VectorKernels.FOLDS[FOLDS_END - 3]));
        v = v.add(v.rearrange(VectorKernels.FOLDS[FOLDS_END - 2]));
        v = v.add(v.rearrange(VectorKernels.FOLDS[FOLDS_END - 1]));
        return v.lane(0);
    }
}
