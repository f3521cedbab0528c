package org.moescope.memorisation;

import org.moescope.errors.BadInputException;

/**
 * Chooses the memorisation loss threshold ε on a grid of 0.1 steps so that the fraction of samples memorised before
 * the final checkpoint lies in a target band (the paper: 20–25 %, per domain).
 *
 * <p>Memorised before T means the condition of {@link MemorisationSteps} holds at T−1 (and so at T), i.e.
 * max(loss(T−1), loss(T)) ≤ ε and |loss(T−1) − loss(T)| ≤ δ; the fraction is therefore non-decreasing in ε. The grid
 * is ε = k/10 for k = 1, 2, … up to the first value at which every memorisable sample counts. Among grid values in the
 * band the smallest (strictest) is chosen. When none is in the band, the grid value whose fraction is closest to the
 * band is chosen (gaps equal within 1e-12: the smaller ε) and {@link Choice#inBand()} is false.
 */
public final class EpsilonSelection {
    public static final double DEFAULT_TARGET_LOW = 0.20;
    public static final double DEFAULT_TARGET_HIGH = 0.25;
    /** Grid spacing of ε. */
    public static final double GRID_STEP = 0.1;
    private static final int MAX_GRID = 100_000; // ε = 10,000 nats: far past any real loss
    private static final double TIE = 1e-12;     // gaps are differences of doubles: 0.22 - 0.2 != 0.3 - 0.28

    private EpsilonSelection() {}

    /**
     * @param epsilon           the chosen ε (k/10)
     * @param memorisedFraction memorised / eligible at that ε
     * @param inBand            whether the fraction lies in [targetLow, targetHigh]
     * @param memorised         samples memorised before the final checkpoint
     * @param eligible          samples with finite losses at every checkpoint
     */
    public record Choice(double epsilon, double memorisedFraction, boolean inBand, int memorised, int eligible,
                         double targetLow, double targetHigh) {}

    /** @param loss (checkpoints, samples), at least two checkpoints */
    public static Choice select(float[][] loss, double delta, double targetLow, double targetHigh) {
        int checkpoints = MemorisationSteps.checkShape(loss);
        MemorisationSteps.checkThresholds(0, delta);
        if (checkpoints < 2) throw new BadInputException("choosing epsilon needs at least two checkpoints, got " + checkpoints);
        if (!(targetLow >= 0 && targetLow <= targetHigh && targetHigh <= 1)) {
            throw new BadInputException("target band must satisfy 0 <= low <= high <= 1, got [" + targetLow + ", "
                    + targetHigh + "]");
        }
        int samples = loss[0].length;
        float[] previous = loss[checkpoints - 2], last = loss[checkpoints - 1];
        double del = (float) delta;
        // Per sample, the smallest loss bound that makes it memorised before T; +inf when δ already rules it out.
        float[] needed = new float[samples];
        int eligible = 0;
        float largest = 0;
        for (int i = 0; i < samples; i++) {
            needed[i] = Float.POSITIVE_INFINITY;
            if (!MemorisationSteps.finiteEverywhere(loss, i)) continue;
            eligible++;
            if (Math.abs((double) previous[i] - last[i]) <= del) {
                needed[i] = Math.max(previous[i], last[i]);
                largest = Math.max(largest, needed[i]);
            }
        }
        if (eligible == 0) throw new BadInputException("no sample has a finite loss at every checkpoint");
        int gridEnd = 1;
        while (gridEnd < MAX_GRID && (float) (gridEnd / 10.0) < largest) gridEnd++;
        Choice best = null;
        double bestGap = Double.POSITIVE_INFINITY;
        for (int k = 1; k <= gridEnd; k++) {
            double epsilon = k / 10.0;
            float eps = (float) epsilon;
            int memorised = 0;
            for (float v : needed) if (v <= eps) memorised++;
            double fraction = (double) memorised / eligible;
            double gap = fraction < targetLow ? targetLow - fraction : fraction > targetHigh ? fraction - targetHigh : 0;
            if (gap < bestGap - TIE) { // a later ε must be clearly closer: equal gaps go to the smaller ε
                bestGap = gap;
                best = new Choice(epsilon, fraction, gap == 0, memorised, eligible, targetLow, targetHigh);
            }
            if (gap == 0 || fraction > targetHigh) break; // the fraction only grows from here
        }
        return best;
    }

    public static Choice select(float[][] loss, double delta) {
        return select(loss, delta, DEFAULT_TARGET_LOW, DEFAULT_TARGET_HIGH);
    }
}
