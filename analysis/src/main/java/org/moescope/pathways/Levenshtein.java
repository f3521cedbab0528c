package org.moescope.pathways;

/**
 * Levenshtein distance (unit costs) over small-integer symbol sequences. Two implementations: the textbook dynamic
 * programme (the reference the tests hold the fast one to) and Myers' bit-parallel algorithm in Hyyrö's multi-word
 * block form, the same block step edlib uses (Šošić and Šikić 2017).
 *
 * <p>Bit-parallel idea: one column of the DP matrix (pattern down the rows, one text symbol per column) is stored
 * as two bit vectors of vertical deltas D[i][j] - D[i-1][j], Pv (+1) and Mv (-1). A column update costs a handful of
 * word operations per 64 rows; the horizontal delta at a block's bottom row carries into the next block.
 */
final class Levenshtein {
    private Levenshtein() {}

    /** Textbook O(m n) dynamic programme with two rows. */
    static int dynamicProgramme(int[] a, int[] b) {
        int m = a.length, n = b.length;
        int[] previous = new int[n + 1];
        int[] current = new int[n + 1];
        for (int j = 0; j <= n; j++) previous[j] = j;
        for (int i = 1; i <= m; i++) {
            current[0] = i;
            for (int j = 1; j <= n; j++) {
                int substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
                current[j] = Math.min(substitution, Math.min(previous[j], current[j - 1]) + 1);
            }
            int[] t = previous;
            previous = current;
            current = t;
        }
        return previous[n];
    }

    /**
     * Bit-parallel distance of one pair.
     *
     * @param sigma every symbol of a and b lies in [0, sigma)
     */
    static int bitParallel(int[] a, int[] b, int sigma) {
        int m = a.length, n = b.length;
        if (m == 0) return n;
        int blocks = (m + 63) >>> 6;
        long[] peq = new long[sigma * blocks]; // (symbols, blocks): bit i set where a[i] is that symbol
        for (int i = 0; i < m; i++) peq[a[i] * blocks + (i >>> 6)] |= 1L << i;
        long[] pv = new long[blocks]; // (blocks) +1 vertical deltas of the current column
        long[] mv = new long[blocks]; // (blocks) -1 vertical deltas
        java.util.Arrays.fill(pv, -1L); // column 0: D[i][0] = i, every vertical delta is +1
        for (int j = 0; j < n; j++) {
            int base = b[j] * blocks;
            long hp = 1, hn = 0; // row 0: D[0][j] = j, the horizontal delta entering the top block is +1
            for (int k = 0; k < blocks; k++) {
                long eq = peq[base + k], p = pv[k], mm = mv[k];
                long xv = eq | mm;
                eq |= hn; // a -1 entering from above behaves like a match in the top row of the block
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
        return n + verticalSum(pv, mv, 0, 1, m);
    }

    /**
     * D[m][n] - D[0][n]: the sum of the first m vertical deltas of the final column, whose vectors sit at
     * {@code pv[start + k * stride]} for block k. Rows past m (padding) are masked off; they never influence rows
     * above them because carries only move towards higher rows.
     */
    static int verticalSum(long[] pv, long[] mv, int start, int stride, int m) {
        int sum = 0;
        int fullBlocks = m >>> 6;
        for (int k = 0; k < fullBlocks; k++) {
            sum += Long.bitCount(pv[start + k * stride]) - Long.bitCount(mv[start + k * stride]);
        }
        int rest = m & 63;
        if (rest != 0) {
            long mask = (1L << rest) - 1;
            sum += Long.bitCount(pv[start + fullBlocks * stride] & mask) - Long.bitCount(mv[start + fullBlocks * stride] & mask);
        }
        return sum;
    }
}
