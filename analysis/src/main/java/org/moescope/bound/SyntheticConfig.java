package org.moescope.bound;

import org.moescope.errors.BadInputException;

import java.util.Arrays;

/**
 * The App. C.4 setting (notes §6.5) as far as the paper gives it, with our choices for the rest: K experts, D-dimensional
 * Gaussian clusters, a frozen random router softmax(W x / T), optionally top-k and renormalised, a smooth target plus
 * Gaussian label noise. The data are fixed by dataSeed; the sweep varies the router seed and the temperature.
 *
 * @param n             training points
 * @param nTest         fresh test points for the population risk
 * @param dim           input dimension D
 * @param experts       K
 * @param clusters      Gaussian clusters; each point picks one uniformly
 * @param clusterSpread within-cluster standard deviation relative to the spread of the centres (both scaled by 1/√D)
 * @param topK          keep the k largest gates and renormalise; 0 keeps the dense softmax
 * @param sigma         label-noise standard deviation σ (also the σ of the bound)
 * @param dataSeed      seeds centres, target, points and label noise
 * @param routerSeeds   router seeds 1..routerSeeds per temperature
 * @param temperatures  router temperatures T
 * @param pathThreshold cumulative gate threshold of the one-layer pathway (the paper's 0.7)
 */
public record SyntheticConfig(int n, int nTest, int dim, int experts, int clusters, double clusterSpread, int topK,
                              double sigma, long dataSeed, int routerSeeds, double[] temperatures, double pathThreshold) {
    public SyntheticConfig {
        positive("--n", n);
        positive("--n-test", nTest);
        positive("--dim", dim);
        positive("--experts", experts);
        positive("--clusters", clusters);
        positive("--seeds", routerSeeds);
        if (!(clusterSpread >= 0) || !Double.isFinite(clusterSpread)) {
            throw new BadInputException("--cluster-spread must be a finite number >= 0, got " + clusterSpread);
        }
        if (topK < 0 || topK > experts) {
            throw new BadInputException("--top-k must lie in [0, " + experts + "] (0 = dense), got " + topK);
        }
        if (!(sigma >= 0) || !Double.isFinite(sigma)) {
            throw new BadInputException("--sigma must be a finite number >= 0, got " + sigma);
        }
        if (temperatures == null || temperatures.length == 0) {
            throw new BadInputException("--temperatures needs at least one value");
        }
        for (double t : temperatures) {
            if (!(t > 0) || !Double.isFinite(t)) {
                throw new BadInputException("--temperatures must be positive finite numbers, got " + t);
            }
        }
        if (!(pathThreshold > 0 && pathThreshold <= 1)) {
            throw new BadInputException("--path-threshold must lie in (0, 1], got " + pathThreshold);
        }
        temperatures = temperatures.clone();
    }

    /** The fast default sweep: n = 200, D = 100, K = 16, 8 clusters, 20 router seeds × 4 temperatures, σ = 0.3. */
    public static SyntheticConfig defaults() {
        return new SyntheticConfig(200, 1000, 100, 16, 8, 0.5, 0, 0.3, 2506, 20, new double[] {0.1, 0.3, 1, 3}, 0.7);
    }

    @Override
    public double[] temperatures() {
        return temperatures.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SyntheticConfig c && n == c.n && nTest == c.nTest && dim == c.dim && experts == c.experts
                && clusters == c.clusters && clusterSpread == c.clusterSpread && topK == c.topK && sigma == c.sigma
                && dataSeed == c.dataSeed && routerSeeds == c.routerSeeds && Arrays.equals(temperatures, c.temperatures)
                && pathThreshold == c.pathThreshold;
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(temperatures) * 31 + Long.hashCode(dataSeed);
    }

    private static void positive(String option, int v) {
        if (v < 1) {
            throw new BadInputException(option + " must be at least 1, got " + v);
        }
    }
}
