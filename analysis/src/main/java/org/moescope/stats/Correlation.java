package org.moescope.stats;

/**
 * Pearson and Spearman correlation as scipy.stats computes them: Spearman is Pearson on average ranks (ties share
 * the mean of the ranks they span). A series with no variance, or fewer than 2 points, gives NaN.
 */
public final class Correlation {
    private Correlation() {
    }

    public static double pearson(double[] x, double[] y) {
        if (x.length != y.length) throw new IllegalArgumentException("series of different lengths");
        int n = x.length;
        if (n < 2) return Double.NaN;
        double mx = 0, my = 0;
        for (int i = 0; i < n; i++) {
            mx += x[i];
            my += y[i];
        }
        mx /= n;
        my /= n;
        double sxy = 0, sxx = 0, syy = 0;
        for (int i = 0; i < n; i++) {
            double dx = x[i] - mx, dy = y[i] - my;
            sxy += dx * dy;
            sxx += dx * dx;
            syy += dy * dy;
        }
        if (sxx == 0 || syy == 0) return Double.NaN;
        double r = sxy / Math.sqrt(sxx * syy);
        return Math.max(-1, Math.min(1, r));
    }

    public static double spearman(double[] x, double[] y) {
        return pearson(averageRanks(x), averageRanks(y));
    }

    /** 1-based ranks; tied values get the mean of the ranks they occupy. */
    public static double[] averageRanks(double[] v) {
        int n = v.length;
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) order[i] = i;
        java.util.Arrays.sort(order, (a, b) -> Double.compare(v[a], v[b]));
        double[] ranks = new double[n];
        int i = 0;
        while (i < n) {
            int j = i;
            while (j + 1 < n && v[order[j + 1]] == v[order[i]]) j++;
            double rank = (i + j) / 2.0 + 1;
            for (int k = i; k <= j; k++) ranks[order[k]] = rank;
            i = j + 1;
        }
        return ranks;
    }

    /** Trailing moving average: point i is the mean of points max(0, i-window+1) .. i. */
    public static double[] movingAverage(double[] v, int window) {
        if (window < 1) throw new IllegalArgumentException("window must be >= 1");
        double[] out = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            double s = 0;
            int from = Math.max(0, i - window + 1);
            for (int k = from; k <= i; k++) s += v[k];
            out[i] = s / (i - from + 1);
        }
        return out;
    }

    /**
     * Where a score's sustained rise starts: the last point before the score first climbs above its starting value by
     * 10% of its total range (max − min). Correlations use the points from there on (the paper correlates "after
     * accuracy begins its sustained rise"). A flat series starts at 0.
     */
    public static int riseStart(double[] score) {
        double min = Double.POSITIVE_INFINITY, max = Double.NEGATIVE_INFINITY;
        for (double s : score) {
            if (Double.isNaN(s)) continue;
            min = Math.min(min, s);
            max = Math.max(max, s);
        }
        if (!(max > min)) return 0;
        double threshold = score[0] + 0.1 * (max - min);
        for (int i = 1; i < score.length; i++) {
            if (score[i] > threshold) return i - 1;
        }
        return 0;
    }
}
