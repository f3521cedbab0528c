package org.moescope.pathways;

import org.moescope.errors.BadInputException;

import java.util.List;

/**
 * A sample's pathway consistency (paper Sec. 4.2). Routing embedding e_ℓ = Σ_k ḡ_ℓ[k] · W_ℓ[k] with ḡ_ℓ the
 * token-averaged full router softmax and W_ℓ layer ℓ's router weight; c_ℓ = cos(e_ℓ, e_ℓ₊₁) for ℓ = 1..L-1.
 *
 * <p>Two numbers, because the paper contradicts itself on the direction (docs/metrics.md, "consistency"):
 * <ul>
 *   <li>{@code layerCosineMean} S = mean_ℓ c_ℓ: higher = smoother routing across layers.</li>
 *   <li>{@code consistencyV4} C = 1 − S / (max_ℓ c_ℓ + 1e-8), the formula printed in arXiv v4; by its own text
 *       higher = more erratic.</li>
 * </ul>
 *
 * @param layerCosineMean S; NaN when L = 1 or an embedding is the zero vector
 * @param consistencyV4   C; NaN when S is NaN or max_ℓ c_ℓ ≤ 0 (the ratio's sign would flip)
 * @param maxCosine       max_ℓ c_ℓ; NaN when L = 1
 * @param adjacentCosines (L - 1) c_ℓ per adjacent layer pair
 */
public record Consistency(double layerCosineMean, double consistencyV4, double maxCosine, double[] adjacentCosines) {
    /** The ϵ of the printed formula. */
    public static final double EPSILON = 1e-8;

    public Consistency {
        adjacentCosines = adjacentCosines.clone();
    }

    @Override
    public double[] adjacentCosines() {
        return adjacentCosines.clone();
    }

    /** @param probsMean (layers, experts) the sample's {@code router_probs_mean} */
    public static Consistency of(RouterGeometry geometry, float[][] probsMean) {
        int experts = geometry.experts();
        if (probsMean.length != geometry.layers()) {
            throw new BadInputException("router_probs_mean has " + probsMean.length + " layers, the router weights "
                    + geometry.layers());
        }
        float[] flat = new float[probsMean.length * experts];
        for (int l = 0; l < probsMean.length; l++) {
            if (probsMean[l].length != experts) {
                throw new BadInputException("router_probs_mean: layer " + l + " has " + probsMean[l].length
                        + " experts, the router weights " + experts);
            }
            System.arraycopy(probsMean[l], 0, flat, l * experts, experts);
        }
        return of(geometry, flat, 0);
    }

    /** Same, for one sample of a flat row-major {@code [N, L, E]} array starting at offset. */
    public static Consistency of(RouterGeometry geometry, float[] flat, int offset) {
        int layers = geometry.layers(), experts = geometry.experts();
        if (offset < 0 || offset + (long) layers * experts > flat.length) {
            throw new BadInputException("router_probs_mean: sample at offset " + offset + " runs past the array");
        }
        double[] norms = new double[layers];
        for (int l = 0; l < layers; l++) norms[l] = Math.sqrt(geometry.selfProduct(l, flat, offset + l * experts));
        double[] cosines = new double[Math.max(0, layers - 1)];
        double sum = 0, max = Double.NEGATIVE_INFINITY;
        for (int l = 0; l + 1 < layers; l++) {
            double dot = geometry.nextProduct(l, flat, offset + l * experts, flat, offset + (l + 1) * experts);
            double denominator = norms[l] * norms[l + 1];
            double c = denominator > 0 ? Math.max(-1, Math.min(1, dot / denominator)) : Double.NaN;
            cosines[l] = c;
            sum += c;
            max = Math.max(max, c); // Math.max propagates NaN
        }
        if (layers < 2) return new Consistency(Double.NaN, Double.NaN, Double.NaN, cosines);
        double s = sum / cosines.length;
        double c = Double.isNaN(s) || !(max > 0) ? Double.NaN : 1 - s / (max + EPSILON);
        return new Consistency(s, c, max, cosines);
    }

    /**
     * Mean of S and of C over a group's samples, each over the samples where it is defined.
     *
     * @param samples            samples in the group
     * @param definedCosineMean  samples with a defined S
     * @param definedConsistency samples with a defined C
     */
    public record GroupMean(int samples, int definedCosineMean, int definedConsistency, double layerCosineMean,
                            double consistencyV4) {}

    public static GroupMean groupMean(List<Consistency> values) {
        int ds = 0, dc = 0;
        double ss = 0, sc = 0;
        for (Consistency v : values) {
            if (!Double.isNaN(v.layerCosineMean)) {
                ds++;
                ss += v.layerCosineMean;
            }
            if (!Double.isNaN(v.consistencyV4)) {
                dc++;
                sc += v.consistencyV4;
            }
        }
        return new GroupMean(values.size(), ds, dc, ds == 0 ? Double.NaN : ss / ds, dc == 0 ? Double.NaN : sc / dc);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Consistency c && Double.compare(c.layerCosineMean, layerCosineMean) == 0
                && Double.compare(c.consistencyV4, consistencyV4) == 0 && Double.compare(c.maxCosine, maxCosine) == 0
                && java.util.Arrays.equals(c.adjacentCosines, adjacentCosines);
    }

    @Override
    public int hashCode() {
        return java.util.Objects.hash(layerCosineMean, consistencyV4, maxCosine, java.util.Arrays.hashCode(adjacentCosines));
    }

    @Override
    public String toString() {
        return "Consistency[layerCosineMean=" + layerCosineMean + ", consistencyV4=" + consistencyV4 + ", maxCosine="
                + maxCosine + ", adjacentCosines=" + java.util.Arrays.toString(adjacentCosines) + "]";
    }
}
