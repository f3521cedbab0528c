package org.moescope.pathways;

/**
 * Single-sample pathway consistency (paper Sec. 4.2). The routing embedding of layer ℓ is e_ℓ = Σ_k ḡ_ℓ[k] · W_ℓ[k]
 * (ḡ_ℓ: the sample's token-averaged full router softmax, W_ℓ: the router weight, experts × hidden); c_ℓ =
 * cos(e_ℓ, e_ℓ+1).
 *
 * <ul>
 *   <li>{@code layerCosineMean} S = mean_ℓ c_ℓ — higher means smoother routing across layers.</li>
 *   <li>{@code consistencyV4} C = 1 − mean_ℓ c_ℓ / (max_ℓ' c_ℓ' + 1e-8), exactly as v4 of the paper prints it; by its
 *   own text higher C means more erratic routing, while its figures treat "consistency" as rising with
 *   generalisation. See docs/metrics.md. NaN when max c ≤ 0 (the ratio's sign would flip).</li>
 * </ul>
 * Both are NaN for a one-layer model (there is no adjacent pair).
 */
public final class Consistency {
    public static final double EPSILON = 1e-8;

    public record Result(double layerCosineMean, double consistencyV4, double[] layerCosines) {
    }

    private Consistency() {
    }

    /**
     * @param probsMean     flat (.., L, E) array; this sample's rows start at {@code offset}
     * @param routerWeights (L) x (E, H) router weights, row-major
     */
    public static Result of(float[] probsMean, int offset, int layers, int experts, float[][] routerWeights, int hidden) {
        if (layers < 2) {
            return new Result(Double.NaN, Double.NaN, new double[0]);
        }
        double[][] e = new double[layers][hidden];
        for (int l = 0; l < layers; l++) {
            float[] w = routerWeights[l];
            for (int k = 0; k < experts; k++) {
                double g = probsMean[offset + l * experts + k];
                int row = k * hidden;
                for (int h = 0; h < hidden; h++) e[l][h] += g * w[row + h];
            }
        }
        double[] cos = new double[layers - 1];
        double sum = 0, max = Double.NEGATIVE_INFINITY;
        for (int l = 0; l + 1 < layers; l++) {
            cos[l] = cosine(e[l], e[l + 1]);
            sum += cos[l];
            max = Math.max(max, cos[l]);
        }
        double s = sum / cos.length;
        double c = max <= 0 ? Double.NaN : 1 - (sum / cos.length) / (max + EPSILON);
        return new Result(s, c, cos);
    }

    static double cosine(double[] a, double[] b) {
        double ab = 0, aa = 0, bb = 0;
        for (int i = 0; i < a.length; i++) {
            ab += a[i] * b[i];
            aa += a[i] * a[i];
            bb += b[i] * b[i];
        }
        return aa == 0 || bb == 0 ? Double.NaN : ab / Math.sqrt(aa * bb);
    }
}
