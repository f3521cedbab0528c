package org.moescope.bound;

import java.util.Arrays;
import java.util.Random;

/**
 * Generates the App. C.4 data and frozen routers. java.util.Random is used because its sequence is specified by the
 * JDK, so a seed gives the same data on every JVM.
 */
public final class SyntheticMoe {
    private SyntheticMoe() {
    }

    /**
     * The fixed data of one sweep.
     *
     * @param x       (n, D) training inputs
     * @param cluster (n) cluster of each training input
     * @param f       (n) noise-free targets f*(x)
     * @param y       (n) f + N(0, σ²) noise
     * @param xTest   (nTest, D) fresh inputs from the same mixture
     * @param fTest   (nTest) f*(xTest)
     */
    public record Dataset(double[][] x, int[] cluster, double[] f, double[] y, double[][] xTest, double[] fTest) {
    }

    /**
     * Centres c_j ~ N(0, I/D); a point is c_j + s·N(0, I/D) for a uniform j. The target
     * f*(x) = sin(√D w₁ᵀx) + ½ cos(√D w₂ᵀx), w ~ N(0, I/D), varies both across and within clusters.
     */
    public static Dataset generate(SyntheticConfig c) {
        Random rnd = new Random(c.dataSeed());
        int d = c.dim();
        double scale = 1 / Math.sqrt(d);
        double[][] centres = gaussian(rnd, c.clusters(), d, scale); // (clusters, D)
        double[] w1 = gaussian(rnd, 1, d, scale)[0]; // (D)
        double[] w2 = gaussian(rnd, 1, d, scale)[0]; // (D)
        int[] cluster = new int[c.n()];
        double[][] x = points(rnd, c, centres, c.n(), cluster);
        double[][] xTest = points(rnd, c, centres, c.nTest(), new int[c.nTest()]);
        double[] f = target(x, w1, w2);
        double[] fTest = target(xTest, w1, w2);
        double[] y = new double[c.n()];
        for (int i = 0; i < y.length; i++) {
            y[i] = f[i] + c.sigma() * rnd.nextGaussian();
        }
        return new Dataset(x, cluster, f, y, xTest, fTest);
    }

    /**
     * Router weights W ~ N(0, 1), shape (experts, D), for one seed; frozen for the whole run. The seed is scrambled
     * first: with new Random(seed) a router seed equal to the data seed would replay the data's stream, and W's rows
     * would be the cluster centres (seen as one outlier router per sweep before this was fixed).
     */
    public static double[][] router(long seed, int experts, int dim) {
        return gaussian(new Random(ROUTER_STREAM ^ (seed * 0x9E3779B97F4A7C15L)), experts, dim, 1.0);
    }

    /** Separates router streams from data streams (the first 64 fractional bits of √2). */
    private static final long ROUTER_STREAM = 0x6A09E667F3BCC908L;

    /** Gates softmax(W x / T) per row of x, shape (x.length, experts); topK > 0 keeps the k largest and renormalises. */
    public static double[][] gates(double[][] router, double[][] x, double temperature, int topK) {
        int experts = router.length;
        double[][] g = new double[x.length][experts];
        for (int i = 0; i < x.length; i++) {
            double max = Double.NEGATIVE_INFINITY;
            for (int k = 0; k < experts; k++) {
                g[i][k] = ExpertKernel.dot(router[k], x[i]) / temperature;
                max = Math.max(max, g[i][k]);
            }
            double z = 0;
            for (int k = 0; k < experts; k++) {
                g[i][k] = Math.exp(g[i][k] - max);
                z += g[i][k];
            }
            for (int k = 0; k < experts; k++) {
                g[i][k] /= z;
            }
            if (topK > 0 && topK < experts) {
                keepTopK(g[i], topK);
            }
        }
        return g;
    }

    /** Zeroes all but the k largest gates (ties to the lower id) and rescales the rest to sum to 1. */
    static void keepTopK(double[] gates, int k) {
        Integer[] order = new Integer[gates.length];
        for (int e = 0; e < gates.length; e++) {
            order[e] = e;
        }
        Arrays.sort(order, (a, b) -> gates[a] != gates[b] ? Double.compare(gates[b], gates[a]) : Integer.compare(a, b));
        double kept = 0;
        for (int r = 0; r < k; r++) {
            kept += gates[order[r]];
        }
        for (int r = 0; r < gates.length; r++) {
            gates[order[r]] = r < k ? gates[order[r]] / kept : 0.0;
        }
    }

    private static double[][] points(Random rnd, SyntheticConfig c, double[][] centres, int count, int[] cluster) {
        double scale = c.clusterSpread() / Math.sqrt(c.dim());
        double[][] x = new double[count][c.dim()];
        for (int i = 0; i < count; i++) {
            int j = rnd.nextInt(centres.length);
            cluster[i] = j;
            for (int d = 0; d < c.dim(); d++) {
                x[i][d] = centres[j][d] + scale * rnd.nextGaussian();
            }
        }
        return x;
    }

    private static double[] target(double[][] x, double[] w1, double[] w2) {
        double root = Math.sqrt(w1.length);
        double[] f = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            f[i] = Math.sin(root * ExpertKernel.dot(w1, x[i])) + 0.5 * Math.cos(root * ExpertKernel.dot(w2, x[i]));
        }
        return f;
    }

    private static double[][] gaussian(Random rnd, int rows, int cols, double scale) {
        double[][] a = new double[rows][cols];
        for (double[] row : a) {
            for (int j = 0; j < cols; j++) {
                row[j] = scale * rnd.nextGaussian();
            }
        }
        return a;
    }
}
