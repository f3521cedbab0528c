package org.moescope.pathways;

import java.util.Arrays;

/** One pattern at a time, plain longs: the fallback when the vector module is absent. */
final class ScalarPairKernel extends PairKernel {
    private final int sigma;
    private final long[] peq; // (sigma, blocks) match bits of the loaded pattern
    private final long[] pv;  // (blocks) +1 vertical deltas
    private final long[] mv;  // (blocks) -1 vertical deltas
    private int length;
    private int blocks;

    ScalarPairKernel(int sigma, int maxLength) {
        int maxBlocks = Math.max(1, (maxLength + 63) >>> 6);
        this.sigma = sigma;
        this.peq = new long[sigma * maxBlocks];
        this.pv = new long[maxBlocks];
        this.mv = new long[maxBlocks];
    }

    @Override
    int lanes() {
        return 1;
    }

    @Override
    void load(int[][] codes, int[] indices, int from, int count) {
        Arrays.fill(peq, 0, sigma * blocks, 0L);
        int[] a = count == 0 ? new int[0] : codes[indices[from]];
        length = a.length;
        blocks = (length + 63) >>> 6;
        for (int i = 0; i < length; i++) peq[a[i] * blocks + (i >>> 6)] |= 1L << i;
    }

    @Override
    void distances(int[] text, int[] out) {
        int n = text.length;
        if (blocks == 0) {
            out[0] = n;
            return;
        }
        Arrays.fill(pv, 0, blocks, -1L);
        Arrays.fill(mv, 0, blocks, 0L);
        for (int j = 0; j < n; j++) {
            int base = text[j] * blocks;
            long hp = 1, hn = 0;
            for (int k = 0; k < blocks; k++) {
                long eq = peq[base + k], p = pv[k], mm = mv[k];
                long xv = eq | mm;
                eq |= hn;
                long xh = (((eq & p) + p) ^ p) | eq;
                long ph = mm | ~(xh | p);
                long mh = p & xh;
                long hpOut = ph >>> 63, hnOut = mh >>> 63;
                ph = (ph << 1) | hp;
                mh = (mh << 1) | hn;
                pv[k] = mh | ~(xv | ph);
                mv[k] = ph & xv;
                hp = hpOut;
                hn = hnOut;
            }
        }
        out[0] = n + Levenshtein.verticalSum(pv, mv, 0, 1, length);
    }
}
