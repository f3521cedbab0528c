package org.moescope.weights;

import java.util.SplittableRandom;

/**
 * Standard normal deviates by Marsaglia and Tsang's ziggurat (J. Stat. Softw. 5(8), 2000) with 128 layers: about
 * 99% of draws cost one 64-bit random number, a table lookup and a multiply. The layer index and the signed 32-bit
 * abscissa come from disjoint bits of one draw, which avoids the correlation Doornik (2005) found in the original.
 * Our own implementation (not {@link java.util.random.RandomGenerator#nextGaussian}) so that a seed gives the same
 * checkpoint on every JDK.
 */
final class Ziggurat {
    private static final double R = 3.442619855899;           // start of the tail
    private static final double V = 9.91256303526217e-3;      // area of each layer
    private static final double M = 2147483648.0;             // 2^31: abscissae are signed 32-bit integers
    private static final int[] K = new int[128];              // (128) fast-path bounds on |hz|
    private static final double[] W = new double[128];       // (128) layer width / 2^31
    private static final double[] F = new double[128];        // (128) density at each layer's edge

    static {
        double dn = R;
        double tn = dn;
        double q = V / Math.exp(-0.5 * dn * dn);
        K[0] = (int) (dn / q * M);
        K[1] = 0;
        W[0] = q / M;
        W[127] = dn / M;
        F[0] = 1.0;
        F[127] = Math.exp(-0.5 * dn * dn);
        for (int i = 126; i >= 1; i--) {
            dn = Math.sqrt(-2.0 * Math.log(V / dn + Math.exp(-0.5 * dn * dn)));
            K[i + 1] = (int) (dn / tn * M);
            tn = dn;
            F[i] = Math.exp(-0.5 * dn * dn);
            W[i] = dn / M;
        }
    }

    private Ziggurat() {
    }

    static double next(SplittableRandom rng) {
        while (true) {
            long bits = rng.nextLong();
            int layer = (int) (bits & 127);
            int hz = (int) (bits >> 32);
            double x = hz * W[layer];
            if (Math.abs(hz) < K[layer]) {
                return x;
            }
            if (layer == 0) { // the tail beyond R, by Marsaglia's method
                double t;
                double y;
                do {
                    t = -Math.log(uniform(rng)) / R;
                    y = -Math.log(uniform(rng));
                } while (y + y < t * t);
                return hz > 0 ? R + t : -R - t;
            }
            if (F[layer] + uniform(rng) * (F[layer - 1] - F[layer]) < Math.exp(-0.5 * x * x)) {
                return x;
            }
        }
    }

    /** Uniform in the open interval (0, 1), so its logarithm is finite. */
    private static double uniform(SplittableRandom rng) {
        return ((rng.nextLong() >>> 11) + 0.5) * 0x1p-53;
    }
}
