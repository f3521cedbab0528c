package org.moescope.stats;

import java.util.Arrays;

/** Ranks with ties. */
public final class Ranks {
    private Ranks() {}

    /**
     * 1-based ranks, tied values sharing the mean of the ranks they span (scipy.stats.rankdata(method="average"),
     * what spearmanr uses). NaN values are not allowed: callers decide what NaN means before ranking.
     */
    public static double[] average(double[] x) {
        int n = x.length;
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) {
            if (Double.isNaN(x[i])) throw new IllegalArgumentException("cannot rank NaN (index " + i + ")");
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> Double.compare(x[a], x[b]));
        double[] ranks = new double[n];
        int i = 0;
        while (i < n) {
            int j = i;
            // == rather than Double.compare so that -0.0 and 0.0 tie, as in scipy
            while (j + 1 < n && x[order[j + 1]] == x[order[i]]) j++;
            double rank = (i + j) / 2.0 + 1; // mean of the 1-based ranks i+1 .. j+1
            for (int k = i; k <= j; k++) ranks[order[k]] = rank;
            i = j + 1;
        }
        return ranks;
    }
}
