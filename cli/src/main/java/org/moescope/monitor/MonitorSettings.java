package org.moescope.monitor;

/**
 * The knobs of a monitor run; every one is printed in the report.
 *
 * @param tau            pathway threshold
 * @param epsilon        memorisation loss threshold; NaN = choose in steps of 0.1 to hit the target band
 * @param delta          memorisation stability tolerance
 * @param targetLow      lower end of the target memorised fraction (when choosing ε)
 * @param targetHigh     upper end
 * @param maxPairs       exact pair distances up to this many pairs per group, sampled above
 * @param seed           pair-sampling seed
 * @param movingAverage  window (checkpoints) of the training-loss moving-average baseline
 * @param correlateFrom  first step used in correlations; -1 = from where each score starts rising
 */
public record MonitorSettings(double tau, double epsilon, double delta, double targetLow, double targetHigh, long maxPairs,
                              long seed, int movingAverage, long correlateFrom) {
}
