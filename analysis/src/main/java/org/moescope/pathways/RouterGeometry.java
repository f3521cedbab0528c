package org.moescope.pathways;

import org.moescope.errors.BadInputException;

/**
 * Inner products between router rows, computed once per checkpoint so that a sample's pathway consistency costs
 * O(L E²) instead of O(L E H). With e_ℓ = Σ_k ḡ_ℓ[k] W_ℓ[k]:
 * ⟨e_ℓ, e_ℓ'⟩ = ḡ_ℓᵀ (W_ℓ W_ℓ'ᵀ) ḡ_ℓ', so only W_ℓ W_ℓᵀ and W_ℓ W_ℓ₊₁ᵀ are needed.
 */
public final class RouterGeometry {
    private final int layers;
    private final int experts;
    private final double[][] self; // (layers, experts * experts) W_l W_l^T, row-major
    private final double[][] next; // (layers - 1, experts * experts) W_l W_{l+1}^T, row-major

    private RouterGeometry(int layers, int experts, double[][] self, double[][] next) {
        this.layers = layers;
        this.experts = experts;
        this.self = self;
        this.next = next;
    }

    /**
     * @param routerWeights (layers, experts, hidden) each MoE layer's router weight W_ℓ (for OLMoE
     *                      {@code model.layers.ℓ.mlp.gate.weight}, [64, 2048])
     */
    public static RouterGeometry of(float[][][] routerWeights) {
        int layers = routerWeights.length;
        if (layers == 0) throw new BadInputException("router weights: no layers");
        int experts = routerWeights[0].length;
        if (experts == 0) throw new BadInputException("router weights: layer 0 has no experts");
        int hidden = routerWeights[0][0].length;
        for (int l = 0; l < layers; l++) {
            if (routerWeights[l].length != experts) {
                throw new BadInputException("router weights: layer " + l + " has " + routerWeights[l].length
                        + " experts, layer 0 has " + experts);
            }
            for (float[] row : routerWeights[l]) {
                if (row.length != hidden) {
                    throw new BadInputException("router weights: layer " + l + " has rows of " + row.length
                            + " values, expected hidden size " + hidden);
                }
            }
        }
        double[][] self = new double[layers][];
        double[][] next = new double[Math.max(0, layers - 1)][];
        for (int l = 0; l < layers; l++) self[l] = products(routerWeights[l], routerWeights[l]);
        for (int l = 0; l + 1 < layers; l++) next[l] = products(routerWeights[l], routerWeights[l + 1]);
        return new RouterGeometry(layers, experts, self, next);
    }

    /** (experts * experts) A Bᵀ in double. */
    private static double[] products(float[][] a, float[][] b) {
        int e = a.length;
        double[] out = new double[e * e];
        for (int i = 0; i < e; i++) {
            float[] ai = a[i];
            for (int j = 0; j < e; j++) {
                float[] bj = b[j];
                double dot = 0;
                for (int h = 0; h < ai.length; h++) dot += (double) ai[h] * bj[h];
                out[i * e + j] = dot;
            }
        }
        return out;
    }

    public int layers() {
        return layers;
    }

    public int experts() {
        return experts;
    }

    /** ⟨e_ℓ, e_ℓ⟩ for the routing weights g at {@code g[offset .. offset + experts)}. */
    double selfProduct(int layer, float[] g, int offset) {
        return quadratic(self[layer], g, offset, g, offset);
    }

    /** ⟨e_ℓ, e_ℓ₊₁⟩. */
    double nextProduct(int layer, float[] g, int offset, float[] h, int hOffset) {
        return quadratic(next[layer], g, offset, h, hOffset);
    }

    private double quadratic(double[] m, float[] x, int xo, float[] y, int yo) {
        double total = 0;
        for (int i = 0; i < experts; i++) {
            double xi = x[xo + i];
            if (xi == 0) continue;
            double row = 0;
            for (int j = 0; j < experts; j++) row += m[i * experts + j] * y[yo + j];
            total += xi * row;
        }
        return total;
    }
}
