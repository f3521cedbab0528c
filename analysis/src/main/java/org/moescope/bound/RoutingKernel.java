package org.moescope.bound;

/**
 * Θ(x, x') = Σ_j g_j(x) g_j(x') K_fj(x, x'). With identical experts K_fj = K_f for all j, so the Gram matrix is the
 * Hadamard product (G_a G_bᵀ) ⊙ K_f: inputs are similar when they share experts and the expert sees them alike.
 */
public final class RoutingKernel {
    private RoutingKernel() {
    }

    /**
     * Returns (gA gBᵀ) ⊙ k, shape (gA.length, gB.length).
     *
     * @param gA (a, experts) gates of the row points
     * @param gB (b, experts) gates of the column points
     * @param k  (a, b) expert kernel between them
     */
    public static double[][] hadamardWithGates(double[][] gA, double[][] gB, double[][] k) {
        double[][] h = new double[gA.length][gB.length];
        for (int i = 0; i < gA.length; i++) {
            for (int j = 0; j < gB.length; j++) {
                h[i][j] = ExpertKernel.dot(gA[i], gB[j]) * k[i][j];
            }
        }
        return h;
    }
}
