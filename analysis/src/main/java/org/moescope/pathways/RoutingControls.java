package org.moescope.pathways;

/**
 * Quantities that move pathway metrics mechanically (paper App. E.5): how diffuse routing is. When routing spreads
 * out, more experts pass τ, pathways get longer, and character-level distances grow without any change in structure.
 */
public final class RoutingControls {
    private RoutingControls() {
    }

    /** Mean over layers of the entropy (nats) of the token-averaged routing ḡ_ℓ of one sample. */
    public static double averagedRoutingEntropy(float[] probsMean, int offset, int layers, int experts) {
        double sum = 0;
        for (int l = 0; l < layers; l++) {
            sum += entropy(probsMean, offset + l * experts, experts);
        }
        return sum / layers;
    }

    /** Mean over tokens and layers of the entropy (nats) of each token's router softmax, from router logits (T, L, E). */
    public static double tokenRoutingEntropy(float[] routerLogits, int tokens, int layers, int experts) {
        double sum = 0;
        double[] p = new double[experts];
        for (int row = 0; row < tokens * layers; row++) {
            int off = row * experts;
            double max = Double.NEGATIVE_INFINITY;
            for (int k = 0; k < experts; k++) max = Math.max(max, routerLogits[off + k]);
            double z = 0;
            for (int k = 0; k < experts; k++) {
                p[k] = Math.exp(routerLogits[off + k] - max);
                z += p[k];
            }
            double h = 0;
            for (int k = 0; k < experts; k++) {
                double q = p[k] / z;
                if (q > 0) h -= q * Math.log(q);
            }
            sum += h;
        }
        return sum / (tokens * layers);
    }

    static double entropy(float[] p, int off, int n) {
        double h = 0;
        for (int i = 0; i < n; i++) {
            double q = p[off + i];
            if (q > 0) h -= q * Math.log(q);
        }
        return h;
    }
}
