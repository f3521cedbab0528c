package org.moescope.stats;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Correlation between a metric's trajectory over checkpoints and a score series (paper Sec. 4.3, Table 1), over the
 * checkpoints from the score's rise start on, together with the paper's baselines.
 */
public final class TrajectoryCorrelation {
    private TrajectoryCorrelation() {}

    /** A named series with one value per checkpoint. */
    public record Series(String name, double[] values) {
        public Series {
            values = values.clone();
        }

        @Override
        public double[] values() {
            return values.clone();
        }
    }

    /**
     * @param metric   series name
     * @param from     first checkpoint index of the window
     * @param points   checkpoints in the window
     * @param pearson  Pearson's r over the window (NaN: constant series, NaN value, or fewer than two points)
     * @param spearman Spearman's ρ with average ranks over the window (NaN likewise)
     */
    public record Result(String metric, int from, int points, double pearson, double spearman) {}

    /** Share of the score's range above its minimum that still counts as "not yet risen" ({@link #riseStart}). */
    public static final double DEFAULT_RISE_FRACTION = 0.1;

    /**
     * Where the score "begins its sustained rise" (paper Sec. 4.3): the last checkpoint whose score is at most
     * min + fraction · (max − min). Every later checkpoint scores above that level, so from there on the score has
     * risen and stays risen; a slow creep near the floor or an early dip back to it moves the start later. NaN
     * scores are ignored. A flat score (or all NaN) starts at 0; its correlations are NaN anyway.
     */
    public static int riseStart(double[] score, double fraction) {
        if (!(fraction >= 0 && fraction < 1)) throw new IllegalArgumentException("rise fraction must be in [0, 1), got " + fraction);
        double min = Double.POSITIVE_INFINITY, max = Double.NEGATIVE_INFINITY;
        for (double s : score) {
            if (Double.isNaN(s)) continue;
            min = Math.min(min, s);
            max = Math.max(max, s);
        }
        if (!(max > min)) return 0;
        double level = min + fraction * (max - min);
        int at = 0;
        for (int i = 0; i < score.length; i++) if (score[i] <= level) at = i;
        return at;
    }

    /** {@link #riseStart(double[], double)} with {@link #DEFAULT_RISE_FRACTION}. */
    public static int riseStart(double[] score) {
        return riseStart(score, DEFAULT_RISE_FRACTION);
    }

    /**
     * The paper's baselines, in this order: {@code training_loss}, {@code training_loss_ma<window>} (trailing moving
     * average over the whole trajectory, computed before windowing), and {@code validation_loss} when given.
     *
     * @param trainingLoss   (checkpoints) mean training loss of the samples analysed
     * @param validationLoss (checkpoints) or null
     */
    public static List<Series> baselines(double[] trainingLoss, int window, double[] validationLoss) {
        List<Series> out = new ArrayList<>();
        out.add(new Series("training_loss", trainingLoss));
        out.add(new Series("training_loss_ma" + window, MovingAverage.trailing(trainingLoss, window)));
        if (validationLoss != null) out.add(new Series("validation_loss", validationLoss));
        return out;
    }

    /**
     * Correlates each metric with the score over checkpoints [start, end).
     *
     * @param start first checkpoint of the window, or -1 for {@link #riseStart}(score)
     */
    public static List<Result> correlate(double[] score, List<Series> metrics, int start) {
        int n = score.length;
        if (start < -1 || start >= Math.max(n, 1)) {
            throw new IllegalArgumentException("start checkpoint " + start + " is outside 0.." + (n - 1));
        }
        int from = start >= 0 ? start : riseStart(score);
        List<Result> out = new ArrayList<>();
        double[] windowScore = Arrays.copyOfRange(score, from, n);
        for (Series m : metrics) {
            if (m.values.length != n) {
                throw new IllegalArgumentException("series " + m.name + " has " + m.values.length + " checkpoints, the score "
                        + n);
            }
            double[] w = Arrays.copyOfRange(m.values, from, n);
            out.add(new Result(m.name, from, n - from, Correlation.pearson(w, windowScore),
                    Correlation.spearman(w, windowScore)));
        }
        return out;
    }
}
