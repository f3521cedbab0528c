package org.moescope.stats;

/**
 * Pearson and Spearman correlation, matching scipy.stats.pearsonr / spearmanr: NaN when a series is constant, when
 * fewer than two points are given, or when a value is NaN (scipy's default nan_policy="propagate").
 */
public final class Correlation {
    private Correlation() {}

    /** Pearson's r of two equally long series. */
    public static double pearson(double[] x, double[] y) {
        check(x, y);
        int n = x.length;
        if (n < 2 || hasNaN(x) || hasNaN(y) || constant(x) || constant(y)) return Double.NaN;
        double mx = mean(x), my = mean(y);
        double sxx = 0, syy = 0, sxy = 0;
        for (int i = 0; i < n; i++) {
            double dx = x[i] - mx, dy = y[i] - my;
            sxx += dx * dx;
            syy += dy * dy;
            sxy += dx * dy;
        }
        double r = sxy / Math.sqrt(sxx * syy);
        return Math.max(-1, Math.min(1, r));
    }

    /** Spearman's ρ: Pearson's r of the average ranks (ties share their mean rank). */
    public static double spearman(double[] x, double[] y) {
        check(x, y);
        if (x.length < 2 || hasNaN(x) || hasNaN(y)) return Double.NaN;
        return pearson(Ranks.average(x), Ranks.average(y));
    }

    private static void check(double[] x, double[] y) {
        if (x.length != y.length) {
            throw new IllegalArgumentException("series lengths differ: " + x.length + " and " + y.length);
        }
    }

    private static double mean(double[] v) {
        double s = 0;
        for (double d : v) s += d;
        return s / v.length;
    }

    private static boolean hasNaN(double[] v) {
        for (double d : v) if (Double.isNaN(d)) return true;
        return false;
    }

    private static boolean constant(double[] v) {
        for (double d : v) if (d != v[0]) return false;
        return true;
    }
}
