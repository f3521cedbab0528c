package org.moescope.model;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Picks the next token from logits. Order: mask padded vocabulary rows → repeat penalty → temperature 0 is greedy;
 * otherwise top-k → softmax at the temperature → top-p (smallest set reaching p) → min-p (drop tokens below
 * min_p × the best probability) → renormalise → draw with a seeded generator, so a seed gives the same text.
 *
 * @param validVocab tokens at or above this id (padding rows of the embedding) are never chosen
 */
public record Sampler(float temperature, int topK, float topP, float minP, float repeatPenalty, int validVocab,
                      SplittableRandom random) {

    public static Sampler greedy(int validVocab) {
        return new Sampler(0f, 0, 1f, 0f, 1f, validVocab, new SplittableRandom(0));
    }

    /** Chooses a token; {@code history} holds the ids so far (for the repeat penalty). Modifies {@code logits}. */
    public int next(float[] logits, int[] history, int historyLength) {
        int n = Math.min(validVocab, logits.length);
        if (repeatPenalty != 1f) {
            boolean[] seen = new boolean[n];
            for (int i = 0; i < historyLength; i++) {
                int id = history[i];
                if (id < n && !seen[id]) {
                    seen[id] = true;
                    logits[id] = logits[id] > 0 ? logits[id] / repeatPenalty : logits[id] * repeatPenalty;
                }
            }
        }
        if (temperature <= 0f) {
            int best = 0;
            for (int i = 1; i < n; i++) if (logits[i] > logits[best]) best = i;
            return best;
        }
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) order[i] = i;
        Arrays.sort(order, (a, b) -> logits[b] != logits[a] ? Float.compare(logits[b], logits[a]) : Integer.compare(a, b));
        int keep = topK > 0 ? Math.min(topK, n) : n;
        double[] p = new double[keep];
        double max = logits[order[0]];
        double sum = 0;
        for (int i = 0; i < keep; i++) {
            p[i] = Math.exp((logits[order[i]] - max) / temperature);
            sum += p[i];
        }
        for (int i = 0; i < keep; i++) p[i] /= sum;
        if (topP < 1f) {
            double cum = 0;
            int cut = keep;
            for (int i = 0; i < keep; i++) {
                cum += p[i];
                if (cum >= topP) {
                    cut = i + 1;
                    break;
                }
            }
            keep = cut;
        }
        if (minP > 0f) {
            int cut = 1;
            while (cut < keep && p[cut] >= minP * p[0]) cut++;
            keep = cut;
        }
        double total = 0;
        for (int i = 0; i < keep; i++) total += p[i];
        double u = random.nextDouble() * total;
        for (int i = 0; i < keep; i++) {
            u -= p[i];
            if (u < 0) return order[i];
        }
        return order[keep - 1];
    }
}
