package org.moescope.pathways;

import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import java.util.Arrays;

/**
 * The block bit-parallel step of {@link Levenshtein#bitParallel} with one pattern per SIMD lane (inter-sequence
 * parallelism): all lanes read the same text symbol, so each lane's match bits are a contiguous vector load and no
 * gather is needed. The +1 horizontal delta Ph is kept complemented so that AND_NOT replaces two NOT-OR pairs
 * (AVX2 has no vector NOT); the values are those of {@link Levenshtein#bitParallel}. Patterns of different lengths share the longest one's block count; the shorter lanes compute
 * padding rows that {@link Levenshtein#verticalSum} masks off.
 */
final class VectorPairKernel extends PairKernel {
    private static final VectorSpecies<Long> SPECIES = LongVector.SPECIES_PREFERRED;
    private static final int LANES = SPECIES.length();

    private final int sigma;
    private final long[] peq; // (sigma, blocks, lanes) match bits, lane-interleaved
    private final long[] pvA, mvA; // (blocks, lanes) +1 / -1 vertical deltas of the first text's current column
    private final long[] pvB, mvB; // (blocks, lanes) the same for the second text of a two-text call
    private final int[] lengths = new int[LANES]; // (lanes) loaded pattern lengths
    private int blocks;

    static int preferredLanes() {
        return LANES;
    }

    VectorPairKernel(int sigma, int maxLength) {
        int maxBlocks = Math.max(1, (maxLength + 63) >>> 6);
        this.sigma = sigma;
        this.peq = new long[sigma * maxBlocks * LANES];
        this.pvA = new long[maxBlocks * LANES];
        this.mvA = new long[maxBlocks * LANES];
        this.pvB = new long[maxBlocks * LANES];
        this.mvB = new long[maxBlocks * LANES];
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
        if (blocks == 0) {
            Arrays.fill(out, 0, LANES, text.length);
            return;
        }
        reset(pvA, mvA);
        columns(text, 0, text.length, pvA, mvA);
        finish(text.length, pvA, mvA, out);
    }

    /**
     * Two texts against the same patterns. A column's blocks form a carry chain of about seven dependent operations
     * each; interleaving two independent matrices gives the core two chains to overlap, worth roughly 15-25% over
     * one text at a time on the Zen 3 this was tuned on.
     */
    @Override
    void distances(int[] textA, int[] textB, int[] outA, int[] outB) {
        if (blocks == 0) {
            Arrays.fill(outA, 0, LANES, textA.length);
            Arrays.fill(outB, 0, LANES, textB.length);
            return;
        }
        reset(pvA, mvA);
        reset(pvB, mvB);
        int both = Math.min(textA.length, textB.length);
        long[] peq = this.peq, pa = this.pvA, ma = this.mvA, pb = this.pvB, mb = this.mvB;
        int words = blocks * LANES;
        LongVector zero = LongVector.zero(SPECIES);
        for (int j = 0; j < both; j++) {
            int baseA = textA[j] * words, baseB = textB[j] * words;
            LongVector nhpA = zero, hnA = zero, nhpB = zero, hnB = zero;
            for (int w = 0; w < words; w += LANES) {
                {
                    LongVector eq = LongVector.fromArray(SPECIES, peq, baseA + w);
                    LongVector p = LongVector.fromArray(SPECIES, pa, w);
                    LongVector mm = LongVector.fromArray(SPECIES, ma, w);
                    LongVector xv = eq.or(mm);
                    eq = eq.or(hnA);
                    LongVector xh = eq.and(p).add(p).lanewise(VectorOperators.XOR, p).or(eq);
                    LongVector nph = xh.or(p).lanewise(VectorOperators.AND_NOT, mm); // ~Ph
                    LongVector mh = p.and(xh);
                    LongVector nhpOut = nph.lanewise(VectorOperators.LSHR, 63);
                    LongVector hnOut = mh.lanewise(VectorOperators.LSHR, 63);
                    nph = nph.lanewise(VectorOperators.LSHL, 1).or(nhpA);
                    mh = mh.lanewise(VectorOperators.LSHL, 1).or(hnA);
                    nph.lanewise(VectorOperators.AND_NOT, xv).or(mh).intoArray(pa, w); // Mh | ~(Xv | Ph)
                    xv.lanewise(VectorOperators.AND_NOT, nph).intoArray(ma, w);        // Ph & Xv
                    nhpA = nhpOut;
                    hnA = hnOut;
                }
                {
                    LongVector eq = LongVector.fromArray(SPECIES, peq, baseB + w);
                    LongVector p = LongVector.fromArray(SPECIES, pb, w);
                    LongVector mm = LongVector.fromArray(SPECIES, mb, w);
                    LongVector xv = eq.or(mm);
                    eq = eq.or(hnB);
                    LongVector xh = eq.and(p).add(p).lanewise(VectorOperators.XOR, p).or(eq);
                    LongVector nph = xh.or(p).lanewise(VectorOperators.AND_NOT, mm); // ~Ph
                    LongVector mh = p.and(xh);
                    LongVector nhpOut = nph.lanewise(VectorOperators.LSHR, 63);
                    LongVector hnOut = mh.lanewise(VectorOperators.LSHR, 63);
                    nph = nph.lanewise(VectorOperators.LSHL, 1).or(nhpB);
                    mh = mh.lanewise(VectorOperators.LSHL, 1).or(hnB);
                    nph.lanewise(VectorOperators.AND_NOT, xv).or(mh).intoArray(pb, w); // Mh | ~(Xv | Ph)
                    xv.lanewise(VectorOperators.AND_NOT, nph).intoArray(mb, w);        // Ph & Xv
                    nhpB = nhpOut;
                    hnB = hnOut;
                }
            }
        }
        columns(textA, both, textA.length, pvA, mvA);
        columns(textB, both, textB.length, pvB, mvB);
        finish(textA.length, pvA, mvA, outA);
        finish(textB.length, pvB, mvB, outB);
    }

    private void reset(long[] pv, long[] mv) {
        Arrays.fill(pv, 0, blocks * LANES, -1L); // column 0: D[i][0] = i, every vertical delta is +1
        Arrays.fill(mv, 0, blocks * LANES, 0L);
    }

    /** Advances one matrix over text columns [from, to). */
    private void columns(int[] text, int from, int to, long[] pv, long[] mv) {
        long[] peq = this.peq;
        int words = blocks * LANES;
        LongVector zero = LongVector.zero(SPECIES);
        for (int j = from; j < to; j++) {
            int base = text[j] * words;
            LongVector nhp = zero, hn = zero; // row 0: D[0][j] = j, +1 enters the top block (complemented: 0)
            for (int w = 0; w < words; w += LANES) {
                LongVector eq = LongVector.fromArray(SPECIES, peq, base + w);
                LongVector p = LongVector.fromArray(SPECIES, pv, w);
                LongVector mm = LongVector.fromArray(SPECIES, mv, w);
                LongVector xv = eq.or(mm);
                eq = eq.or(hn);
                LongVector xh = eq.and(p).add(p).lanewise(VectorOperators.XOR, p).or(eq);
                LongVector nph = xh.or(p).lanewise(VectorOperators.AND_NOT, mm); // ~Ph
                LongVector mh = p.and(xh);
                LongVector nhpOut = nph.lanewise(VectorOperators.LSHR, 63);
                LongVector hnOut = mh.lanewise(VectorOperators.LSHR, 63);
                nph = nph.lanewise(VectorOperators.LSHL, 1).or(nhp);
                mh = mh.lanewise(VectorOperators.LSHL, 1).or(hn);
                nph.lanewise(VectorOperators.AND_NOT, xv).or(mh).intoArray(pv, w); // Mh | ~(Xv | Ph)
                xv.lanewise(VectorOperators.AND_NOT, nph).intoArray(mv, w);        // Ph & Xv
                nhp = nhpOut;
                hn = hnOut;
            }
        }
    }

    private void finish(int n, long[] pv, long[] mv, int[] out) {
        for (int l = 0; l < LANES; l++) out[l] = n + Levenshtein.verticalSum(pv, mv, l, LANES, lengths[l]);
    }
}
