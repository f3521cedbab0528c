package org.moescope.pathways;

import org.moescope.errors.BadInputException;

import java.util.Arrays;

/**
 * A sample's routing pathway (paper Sec. 4.1): for every MoE layer, the experts kept by the cumulative-weight
 * threshold, in descending order of the sample's token-averaged router weight.
 *
 * <p>Text form: a layer is its expert ids in decimal joined by {@code ","}, layers are joined by {@code "-"}:
 * {@code "3,1,5-9,1"}. Ids are the model's 0-based expert indices. See docs/metrics.md.
 *
 * @param experts (layers, kept experts) expert ids per layer, highest weight first; every layer keeps at least one
 */
public record Pathway(int[][] experts) {
    /** The paper's main-analysis threshold. */
    public static final double DEFAULT_TAU = 0.7;

    public Pathway {
        if (experts.length == 0) throw new IllegalArgumentException("a pathway needs at least one layer");
        int[][] copy = new int[experts.length][];
        for (int l = 0; l < experts.length; l++) {
            if (experts[l].length == 0) throw new IllegalArgumentException("pathway layer " + l + " keeps no expert");
            for (int id : experts[l]) if (id < 0) throw new IllegalArgumentException("negative expert id " + id);
            copy[l] = experts[l].clone();
        }
        experts = copy;
    }

    /**
     * Builds the pathway from one sample's token-averaged full router softmax.
     *
     * @param probsMean (layers, experts) the sample's {@code router_probs_mean}
     * @param tau       cumulative-weight threshold in (0, 1]; experts are kept until the running sum exceeds it (strictly)
     */
    public static Pathway fromRouting(float[][] probsMean, double tau) {
        int layers = probsMean.length;
        if (layers == 0) throw new BadInputException("router_probs_mean has no layers");
        int numExperts = probsMean[0].length;
        float[] flat = new float[layers * numExperts];
        for (int l = 0; l < layers; l++) {
            if (probsMean[l].length != numExperts) {
                throw new BadInputException("router_probs_mean: layer " + l + " has " + probsMean[l].length
                        + " experts, layer 0 has " + numExperts);
            }
            System.arraycopy(probsMean[l], 0, flat, l * numExperts, numExperts);
        }
        return fromRouting(flat, 0, layers, numExperts, tau);
    }

    /**
     * Same as {@link #fromRouting(float[][], double)} for a flat row-major array: sample data at
     * {@code flat[offset + l * experts + k]}, i.e. one sample of a {@code [N, L, E]} tensor at offset {@code n * L * E}.
     */
    public static Pathway fromRouting(float[] flat, int offset, int layers, int numExperts, double tau) {
        checkTau(tau);
        if (layers <= 0 || numExperts <= 0) throw new BadInputException("router_probs_mean has an empty dimension");
        // The paper's reference is float32 torch code: cumsum accumulates wider, each partial sum is a float32,
        // and the comparison with the Python scalar tau happens in float32. Mirroring that makes a sum that equals
        // tau in float32 (0.5f + 0.2f == 0.7f) "not exceed" tau, as the definition says.
        float tauF = (float) tau;
        int[][] kept = new int[layers][];
        long[] keys = new long[numExperts];
        for (int l = 0; l < layers; l++) {
            int base = offset + l * numExperts;
            for (int k = 0; k < numExperts; k++) {
                float w = flat[base + k];
                if (!(w >= 0f) || w == Float.POSITIVE_INFINITY) {
                    throw new BadInputException("router_probs_mean: layer " + l + " expert " + k
                            + " has weight " + w + " (need a finite value >= 0)");
                }
                // Non-negative floats order like their bit patterns; +0.0f folds -0.0f into 0. The key sorts
                // ascending into (weight descending, id ascending), the tie rule of the definition.
                int bits = Float.floatToIntBits(w + 0.0f);
                keys[k] = ((long) (Integer.MAX_VALUE - bits) << 32) | k;
            }
            Arrays.sort(keys);
            double cumulative = 0;
            int count = numExperts; // when the total never exceeds tau, every expert is kept
            for (int r = 0; r < numExperts; r++) {
                cumulative += flat[base + (int) keys[r]];
                if ((float) cumulative > tauF) {
                    count = r + 1;
                    break;
                }
            }
            kept[l] = new int[count];
            for (int r = 0; r < count; r++) kept[l][r] = (int) keys[r];
        }
        return new Pathway(kept);
    }

    /** Parses the text form, e.g. {@code "3,1,5-9,1"}. */
    public static Pathway parse(String text) {
        String[] layerTexts = text.split("-", -1);
        int[][] experts = new int[layerTexts.length][];
        for (int l = 0; l < layerTexts.length; l++) {
            String[] ids = layerTexts[l].split(",", -1);
            experts[l] = new int[ids.length];
            for (int r = 0; r < ids.length; r++) {
                String id = ids[r];
                if (id.isEmpty() || id.length() > 9 || !id.chars().allMatch(c -> c >= '0' && c <= '9')) {
                    throw new BadInputException("pathway \"" + text + "\": layer " + l + " has a bad expert id \""
                            + id + "\"");
                }
                experts[l][r] = Integer.parseInt(id);
            }
        }
        return new Pathway(experts);
    }

    static void checkTau(double tau) {
        if (!(tau > 0 && tau <= 1)) throw new BadInputException("tau must be in (0, 1], got " + tau);
    }

    public int layers() {
        return experts.length;
    }

    /** Experts kept at layer {@code l}, highest weight first (a copy). */
    public int[] layer(int l) {
        return experts[l].clone();
    }

    /** A one-layer pathway holding only layer {@code l}: for the layer-wise distance of paper Fig. 5. */
    public Pathway onlyLayer(int l) {
        return new Pathway(new int[][]{experts[l]});
    }

    /** Mean number of experts kept per layer (the pathway-length control). */
    public double meanExpertsPerLayer() {
        long total = 0;
        for (int[] layer : experts) total += layer.length;
        return (double) total / experts.length;
    }

    /** The text form, e.g. {@code "3,1,5-9,1"}. */
    public String text() {
        StringBuilder sb = new StringBuilder();
        for (int l = 0; l < experts.length; l++) {
            if (l > 0) sb.append('-');
            for (int r = 0; r < experts[l].length; r++) {
                if (r > 0) sb.append(',');
                sb.append(experts[l][r]);
            }
        }
        return sb.toString();
    }

    @Override
    public String toString() {
        return text();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Pathway p && Arrays.deepEquals(experts, p.experts);
    }

    @Override
    public int hashCode() {
        return Arrays.deepHashCode(experts);
    }

    @Override
    public int[][] experts() {
        int[][] copy = new int[experts.length][];
        for (int l = 0; l < experts.length; l++) copy[l] = experts[l].clone();
        return copy;
    }

    /**
     * Symbol sequence for the distance at the given unit. Character unit: '0'..'9' are 0..9, ',' is 10, '-' is 11.
     * Expert unit: the separator is 0 and expert id k is k + 1 (ids within a layer need no separator of their own).
     */
    int[] symbols(DistanceKind.Unit unit) {
        return switch (unit) {
            case CHARACTER -> {
                String t = text();
                int[] s = new int[t.length()];
                for (int i = 0; i < s.length; i++) {
                    char c = t.charAt(i);
                    s[i] = c == ',' ? 10 : c == '-' ? 11 : c - '0';
                }
                yield s;
            }
            case EXPERT -> {
                int n = experts.length - 1;
                for (int[] layer : experts) n += layer.length;
                int[] s = new int[n];
                int i = 0;
                for (int l = 0; l < experts.length; l++) {
                    if (l > 0) s[i++] = 0;
                    for (int id : experts[l]) s[i++] = id + 1;
                }
                yield s;
            }
        };
    }
}
