package org.moescope.stats;

/** Moving averages of a series over checkpoints. */
public final class MovingAverage {
    /** The default window of the training-loss baseline (the paper does not state its window). */
    public static final int DEFAULT_WINDOW = 3;

    private MovingAverage() {}

    /**
     * Trailing mean: out[i] = mean of x[max(0, i − window + 1) .. i]. The first window − 1 values average over the
     * points that exist (as pandas rolling(window, min_periods=1)), so the series keeps its length. A NaN inside a
     * window makes that output NaN.
     */
    public static double[] trailing(double[] x, int window) {
        if (window < 1) throw new IllegalArgumentException("moving-average window must be at least 1, got " + window);
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            int from = Math.max(0, i - window + 1);
            double s = 0;
            for (int k = from; k <= i; k++) s += x[k];
            out[i] = s / (i - from + 1);
        }
        return out;
    }
}
