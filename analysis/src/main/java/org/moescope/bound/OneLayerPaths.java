package org.moescope.bound;

import java.util.Arrays;

/**
 * One-layer routing pathways and their mean pairwise edit distance (paper Sec. 4.1, App. C.4), for the synthetic
 * sweep. A local plain version: the multi-layer, float32-faithful one is org.moescope.pathways, which had not landed
 * when this was written.
 */
public final class OneLayerPaths {
    private OneLayerPaths() {
    }

    /**
     * The experts by descending gate (ties to the lower id) until the running sum exceeds threshold, ids joined by
     * commas, e.g. "3,11". All experts when the sum never exceeds it.
     */
    public static String pathway(double[] gates, double threshold) {
        Integer[] order = new Integer[gates.length];
        for (int k = 0; k < gates.length; k++) {
            order[k] = k;
        }
        Arrays.sort(order, (a, b) -> gates[a] != gates[b] ? Double.compare(gates[b], gates[a]) : Integer.compare(a, b));
        StringBuilder sb = new StringBuilder();
        double cumulative = 0;
        for (Integer k : order) {
            if (!sb.isEmpty()) {
                sb.append(',');
            }
            sb.append(k);
            cumulative += gates[k];
            if (cumulative > threshold) {
                break;
            }
        }
        return sb.toString();
    }

    /** Character-level Levenshtein distance (unit costs), two-row dynamic programme. */
    public static int levenshtein(String a, String b) {
        int[] previous = new int[b.length() + 1];
        int[] current = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            previous[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            current[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int substitution = previous[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
                current[j] = Math.min(substitution, Math.min(previous[j], current[j - 1]) + 1);
            }
            int[] t = previous;
            previous = current;
            current = t;
        }
        return previous[b.length()];
    }

    /** Levenshtein distance divided by the longer length; 0 for two empty strings. */
    public static double normalisedDistance(String a, String b) {
        int longer = Math.max(a.length(), b.length());
        return longer == 0 ? 0.0 : (double) levenshtein(a, b) / longer;
    }

    /** Mean normalised distance over all unordered pairs i < j; 0 for fewer than two paths. */
    public static double meanPairwiseDistance(String[] paths) {
        int n = paths.length;
        if (n < 2) {
            return 0.0;
        }
        double sum = 0;
        for (int i = 0; i < n; i++) {
            for (int j = i + 1; j < n; j++) {
                sum += paths[i].equals(paths[j]) ? 0.0 : normalisedDistance(paths[i], paths[j]);
            }
        }
        return sum / ((double) n * (n - 1) / 2);
    }
}
