package org.moescope.memorisation;

import java.util.ArrayList;
import java.util.List;

/**
 * When each sample was memorised (paper Sec. 3.1): over checkpoints 0..T-1 with per-sample losses, the earliest
 * checkpoint t such that for every t' ≥ t, loss(t') ≤ ε and |loss(t') − loss(T-1)| ≤ δ. A sample whose final loss is
 * above ε (or NaN) is never memorised.
 */
public final class Memorisation {
    public static final double DEFAULT_DELTA = 0.05;
    public static final double DEFAULT_TARGET_LOW = 0.20;
    public static final double DEFAULT_TARGET_HIGH = 0.25;
    public static final int NEVER = -1;

    private Memorisation() {
    }

    /**
     * @param losses (checkpoints, samples) per-sample losses in checkpoint order
     * @return (samples) index of the memorisation checkpoint, or {@link #NEVER}
     */
    public static int[] steps(double[][] losses, double epsilon, double delta) {
        int T = losses.length;
        int n = losses[0].length;
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
            double last = losses[T - 1][i];
            int t = T;
            while (t > 0) {
                double l = losses[t - 1][i];
                if (!(l <= epsilon) || !(Math.abs(l - last) <= delta)) break;
                t--;
            }
            out[i] = t == T ? NEVER : t;
        }
        return out;
    }

    /** Fraction of samples memorised before the final checkpoint (the quantity the paper holds at 20–25%). */
    public static double fractionBeforeFinal(int[] steps, int checkpoints) {
        int k = 0;
        for (int s : steps) if (s != NEVER && s < checkpoints - 1) k++;
        return steps.length == 0 ? 0 : (double) k / steps.length;
    }

    /** The ε chosen for a run, the fraction it memorises, and whether that fraction is inside the target band. */
    public record EpsilonChoice(double epsilon, double fraction, boolean inTarget, List<double[]> tried) {
    }

    /**
     * Chooses ε in steps of 0.1 (0.1, 0.2, ... up to the largest final loss) so that the fraction memorised before the
     * final checkpoint lies in [low, high]; the smallest such ε wins. When no step lands in the band, the ε whose
     * fraction is closest to the band is taken and {@code inTarget} is false.
     */
    public static EpsilonChoice chooseEpsilon(double[][] losses, double delta, double low, double high) {
        double maxLoss = 0;
        for (double[] row : losses) for (double l : row) if (Double.isFinite(l)) maxLoss = Math.max(maxLoss, l);
        List<double[]> tried = new ArrayList<>();
        double best = Double.NaN, bestFraction = Double.NaN, bestGap = Double.POSITIVE_INFINITY;
        int maxStep = (int) Math.ceil(maxLoss * 10) + 1;
        for (int k = 1; k <= maxStep; k++) {
            double eps = k / 10.0;
            double f = fractionBeforeFinal(steps(losses, eps, delta), losses.length);
            tried.add(new double[] {eps, f});
            if (f >= low && f <= high) {
                return new EpsilonChoice(eps, f, true, tried);
            }
            double gap = f < low ? low - f : f - high;
            if (gap < bestGap) {
                bestGap = gap;
                best = eps;
                bestFraction = f;
            }
        }
        return new EpsilonChoice(best, bestFraction, false, tried);
    }
}
