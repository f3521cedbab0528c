package org.moescope.pathways;

import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.util.Arrays;

/**
 * The block bit-parallel step of {@link Levenshtein#bitParallel} with one pattern per SIMD lane (inter-sequence
 * parallelism): all lanes read the same text symbol, so each lane's match bits are a contiguous vector load and no
 * gather is needed. Patterns of different lengths share the longest one's block count; the shorter lanes compute
 * padding rows that {@link Levenshtein#verticalSum} masks off.
 */
final class VectorPairKernel extends PairKernel {
    private static final VectorSpecies<Long> SPECIES = LongVector.SPECIES_PREFERRED;
    private static final int LANES = SPECIES.length();

    private final int sigma;
    private final long[] peq; // (sigma, blocks, lanes) match bits, lane-interleaved
    private final long[] pv;  // (blocks, lanes) +1 vertical deltas
    private final long[] mv;  // (blocks, lanes) -1 vertical deltas
    private final long[] hp;  // (blocks, lanes) +1 horizontal delta leaving each block's bottom row (low bit)
    private final long[] hn;  // (blocks, lanes) -1 horizontal delta leaving each block's bottom row (low bit)
    private final int[] lengths = new int[LANES]; // (lanes) loaded pattern lengths
    private int blocks;

    static int preferredLanes() {
        return LANES;
    }

    VectorPairKernel(int sigma, int maxLength) {
        int maxBlocks = Math.max(1, (maxLength + 63) >>> 6);
        this.sigma = sigma;
        this.peq = new long[sigma * maxBlocks * LANES];
        this.pv = new long[maxBlocks * LANES];
        this.mv = new long[maxBlocks * LANES];
        this.hp = new long[maxBlocks * LANES];
        this.hn = new long[maxBlocks * LANES];
    }

    @Override
    int lanes() {
        return LANES;
    }

    @Override
    void load(int[][] codes, int[] indices, int from, int count) {
        Arrays.fill(peq, 0, sigma * blocks * LANES, 0L);
        int longest = 0;
        for (int l = 0; l < LANES; l++) {
            lengths[l] = l < count ? codes[indices[from + l]].length : 0;
            longest = Math.max(longest, lengths[l]);
        }
        blocks = (longest + 63) >>> 6;
        for (int l = 0; l < count; l++) {
            int[] a = codes[indices[from + l]];
            for (int i = 0; i < a.length; i++) peq[(a[i] * blocks + (i >>> 6)) * LANES + l] |= 1L << i;
        }
    }

    @Override
    void distances(int[] text, int[] out) {
        int n = text.length;
        if (blocks == 0) {
            Arrays.fill(out, 0, LANES, n);
            return;
        }
        int words = blocks * LANES;
        long[] peq = this.peq, pv = this.pv, mv = this.mv, hp = this.hp, hn = this.hn;
        Arrays.fill(pv, 0, words, -1L);
        Arrays.fill(mv, 0, words, 0L);
        LongVector one = LongVector.broadcast(SPECIES, 1L);
        LongVector zero = LongVector.zero(SPECIES);
        int rowStride = blocks * LANES;
        // Anti-diagonal order: at step s, block k handles column s - k. The blocks of one step are independent
        // (block k needs block k-1's carry from step s-1 and its own state from step s-1), so the CPU overlaps
        // them instead of waiting on the carry chain down a column. Descending k reads hp[k-1] before it is
        // overwritten in the same step.
        for (int s = 0, steps = n + blocks - 1; s < steps; s++) {
            int kHigh = Math.min(blocks - 1, s), kLow = Math.max(0, s - n + 1);
            for (int k = kHigh; k >= Math.max(kLow, 1); k--) {
                int w = k * LANES;
                step(LongVector.fromArray(SPECIES, peq, text[s - k] * rowStride + w), w,
                        LongVector.fromArray(SPECIES, hp, w - LANES), LongVector.fromArray(SPECIES, hn, w - LANES));
            }
            if (kLow == 0) step(LongVector.fromArray(SPECIES, peq, text[s] * rowStride), 0, one, zero);
        }
        for (int l = 0; l < LANES; l++) out[l] = n + Levenshtein.verticalSum(pv, mv, l, LANES, lengths[l]);
    }

    /** One block, one column: updates pv, mv at word offset w and leaves the block's bottom carry in hp, hn. */
    private void step(LongVector eq, int w, LongVector hpIn, LongVector hnIn) {
        LongVector p = LongVector.fromArray(SPECIES, pv, w);
        LongVector mm = LongVector.fromArray(SPECIES, mv, w);
        LongVector xv = eq.or(mm);
        eq = eq.or(hnIn);
        LongVector xh = eq.and(p).add(p).lanewise(VectorOperators.XOR, p).or(eq);
        LongVector ph = mm.or(xh.or(p).not());
        LongVector mh = p.and(xh);
        ph.lanewise(VectorOperators.LSHR, 63).intoArray(hp, w);
        mh.lanewise(VectorOperators.LSHR, 63).intoArray(hn, w);
        ph = ph.lanewise(VectorOperators.LSHL, 1).or(hpIn);
        mh = mh.lanewise(VectorOperators.LSHL, 1).or(hnIn);
        mh.or(xv.or(ph).not()).intoArray(pv, w);
        ph.and(xv).intoArray(mv, w);
    }
}
