package org.moescope.memorisation;

import org.moescope.errors.BadInputException;

/**
 * Memorisation step of each sample (paper Sec. 3.1, App. B.1): over checkpoints 0..T in training order, the earliest
 * checkpoint t such that for every t' ≥ t, loss(t') ≤ ε and |loss(t') − loss(T)| ≤ δ.
 *
 * <p>Precision: losses are float32 (the route file's {@code loss}); ε and δ are rounded to float32 and compared with
 * the exact float values and their exact difference, so a loss that prints as 1.7 is ≤ ε = 1.7.
 *
 * <p>"Memorised", as the paper counts it ("memorised before the final checkpoint"), means a step t* &lt; T. A sample
 * whose condition holds only at T gets step T but is not counted as memorised; see {@link #isMemorised}.
 */
public final class MemorisationSteps {
    /** Step of a sample that is never memorised: its final loss exceeds ε, or a loss is not finite. */
    public static final int NEVER = -1;
    /** The paper's δ. */
    public static final double DEFAULT_DELTA = 0.05;

    private MemorisationSteps() {}

    /**
     * @param loss (checkpoints, samples) per-sample mean NTP loss at each checkpoint, in training order
     * @return (samples) checkpoint index t* in [0, T], or {@link #NEVER}
     */
    public static int[] steps(float[][] loss, double epsilon, double delta) {
        int checkpoints = checkShape(loss);
        checkThresholds(epsilon, delta);
        int samples = loss[0].length;
        float eps = (float) epsilon;
        double del = (float) delta;
        int[] steps = new int[samples];
        for (int i = 0; i < samples; i++) {
            if (!finiteEverywhere(loss, i)) {
                steps[i] = NEVER;
                continue;
            }
            float last = loss[checkpoints - 1][i];
            int t = checkpoints;
            // Walk back from the end while the condition keeps holding; the earliest such t is the step.
            while (t > 0 && loss[t - 1][i] <= eps && Math.abs((double) loss[t - 1][i] - last) <= del) t--;
            steps[i] = t == checkpoints ? NEVER : t;
        }
        return steps;
    }

    /** Memorised as the paper counts it: a step before the final checkpoint. */
    public static boolean isMemorised(int step, int checkpoints) {
        return step >= 0 && step < checkpoints - 1;
    }

    /** Samples whose loss is finite at every checkpoint: the denominator of the memorised fraction. */
    public static int eligible(float[][] loss) {
        checkShape(loss);
        int n = 0;
        for (int i = 0; i < loss[0].length; i++) if (finiteEverywhere(loss, i)) n++;
        return n;
    }

    /** Memorised samples ({@link #isMemorised}) divided by {@link #eligible} samples; NaN when none is eligible. */
    public static double memorisedFraction(float[][] loss, int[] steps) {
        int eligible = eligible(loss), memorised = 0;
        for (int s : steps) if (isMemorised(s, loss.length)) memorised++;
        return eligible == 0 ? Double.NaN : (double) memorised / eligible;
    }

    static boolean finiteEverywhere(float[][] loss, int sample) {
        for (float[] row : loss) if (!Float.isFinite(row[sample])) return false;
        return true;
    }

    static int checkShape(float[][] loss) {
        if (loss.length == 0) throw new BadInputException("memorisation needs at least one checkpoint");
        for (int t = 1; t < loss.length; t++) {
            if (loss[t].length != loss[0].length) {
                throw new BadInputException("checkpoint " + t + " has " + loss[t].length + " sample losses, checkpoint 0 has "
                        + loss[0].length + " (all checkpoints must cover the same samples in the same order)");
            }
        }
        return loss.length;
    }

    static void checkThresholds(double epsilon, double delta) {
        if (!(epsilon >= 0) || Double.isInfinite(epsilon)) throw new BadInputException("epsilon must be finite and >= 0, got " + epsilon);
        if (!(delta >= 0) || Double.isInfinite(delta)) throw new BadInputException("delta must be finite and >= 0, got " + delta);
    }
}
