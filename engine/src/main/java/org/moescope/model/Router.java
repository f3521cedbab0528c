package org.moescope.model;

import org.moescope.kernels.TopK;

/**
 * How a router turns one token's logits into its k experts and their weights. Every rule also leaves the softmax over
 * all experts in {@code probs}, which is what route files average (router_probs_mean), whatever the rule chose with.
 */
public enum Router {
    /**
     * Softmax over all experts, the k largest probabilities, renormalised to sum to one when norm_topk_prob
     * (OLMoE, FlexOlmo, Qwen2/3-MoE; Mixtral always renormalises), times routed_scaling_factor (DeepSeek-V2's
     * topk_method greedy; 1 elsewhere).
     */
    SOFTMAX_TOPK("softmax_topk"),
    /**
     * DeepSeek-V2's topk_method group_limited_greedy: softmax over all experts; the topk_group of n_group expert groups
     * whose best probability is highest are kept; the k largest probabilities within them, not renormalised, times
     * routed_scaling_factor.
     */
    SOFTMAX_GROUPED("softmax_grouped_topk"),
    /** The k largest logits, then a softmax over those k only (GraniteMoE). Chooses as SOFTMAX_TOPK with renormalising. */
    TOPK_SOFTMAX("topk_softmax"),
    /**
     * PhiMoE's sparsemixer at inference, always top-2: the best expert, weighted by its softmax over the experts whose
     * logit is within 2·jitter (relative) of the best; then the best of the rest, weighted the same way among the rest.
     */
    SPARSEMIXER("sparsemixer"),
    /**
     * DeepSeek-V3's router (GLM-4.5 too): scores s = sigmoid(logits); the choice ranks s + e_score_correction_bias,
     * first keeping the topk_group of n_group expert groups whose two best biased scores sum highest, then the k best
     * experts in those groups; the weights are the unbiased s at the chosen experts, renormalised to sum to one when
     * norm_topk_prob, times routed_scaling_factor.
     */
    SIGMOID_GROUPED("sigmoid_grouped_topk");

    /** The name route files record (metadata router_kind). */
    public final String label;

    Router(String label) {
        this.label = label;
    }

    /**
     * @param logits (E) at off, the router's logits of one token
     * @param probs  (E) at off, already the softmax of the logits
     * @param bias   (E) the choice-only bias of SIGMOID_GROUPED routers, else null
     * @param ids    the k chosen experts at out, in the order the weights are listed
     * @param weight the k weights applied to them at out
     */
    public void select(ModelConfig c, float[] logits, float[] probs, int off, float[] bias, int[] ids, float[] weight,
                       int out) {
        int E = c.numExperts();
        int K = c.numExpertsPerTok();
        switch (this) {
            case SOFTMAX_TOPK -> {
                TopK.select(probs, off, E, K, ids, weight, out);
                if (c.normTopkProb()) {
                    float sum = 0f;
                    for (int j = 0; j < K; j++) sum += weight[out + j];
                    for (int j = 0; j < K; j++) weight[out + j] /= sum;
                }
                scaleWeights(c, weight, out);
            }
            case SOFTMAX_GROUPED -> {
                float[] kept = keptGroupsOnly(c, probs, off);
                TopK.select(kept, 0, E, K, ids, weight, out);
                scaleWeights(c, weight, out);
            }
            case TOPK_SOFTMAX -> {
                TopK.select(logits, off, E, K, ids, weight, out);
                float max = weight[out];
                float sum = 0f;
                for (int j = 0; j < K; j++) {
                    weight[out + j] = (float) Math.exp(weight[out + j] - max);
                    sum += weight[out + j];
                }
                for (int j = 0; j < K; j++) weight[out + j] /= sum;
            }
            case SIGMOID_GROUPED -> selectGrouped(c, logits, off, bias, ids, weight, out);
            case SPARSEMIXER -> {
                float threshold = (float) (2 * c.routerJitter());
                int first = argmax(logits, off, E, -1);
                ids[out] = first;
                weight[out] = maskedSoftmaxAt(logits, off, E, first, -1, threshold);
                int second = argmax(logits, off, E, first);
                ids[out + 1] = second;
                weight[out + 1] = maskedSoftmaxAt(logits, off, E, second, first, threshold);
            }
        }
    }

    private static void scaleWeights(ModelConfig c, float[] weight, int out) {
        float f = c.routedScalingFactor();
        if (f == 1f) return;
        for (int j = 0; j < c.numExpertsPerTok(); j++) weight[out + j] *= f;
    }

    /** probs (E) at off with the experts outside the topk_group groups of highest best probability set to -inf. */
    private static float[] keptGroupsOnly(ModelConfig c, float[] probs, int off) {
        int E = c.numExperts();
        int groups = c.nGroup();
        int perGroup = E / groups;
        float[] best = new float[groups];
        java.util.Arrays.fill(best, Float.NEGATIVE_INFINITY);
        for (int e = 0; e < E; e++) best[e / perGroup] = Math.max(best[e / perGroup], probs[off + e]);
        int[] keptGroups = new int[c.topkGroup()];
        TopK.select(best, 0, groups, c.topkGroup(), keptGroups, new float[c.topkGroup()], 0);
        boolean[] kept = new boolean[groups];
        for (int g : keptGroups) kept[g] = true;
        float[] out = new float[E];
        for (int e = 0; e < E; e++) out[e] = kept[e / perGroup] ? probs[off + e] : Float.NEGATIVE_INFINITY;
        return out;
    }

    private static void selectGrouped(ModelConfig c, float[] logits, int off, float[] bias, int[] ids, float[] weight,
                                      int out) {
        int E = c.numExperts();
        int K = c.numExpertsPerTok();
        int groups = c.nGroup();
        int perGroup = E / groups;
        float[] score = new float[E];
        float[] choice = new float[E];
        for (int e = 0; e < E; e++) {
            score[e] = (float) (1.0 / (1.0 + Math.exp(-logits[off + e])));
            choice[e] = score[e] + (bias == null ? 0f : bias[e]);
        }
        if (groups > 1) {
            // A group's rank: the sum of its two best choice scores; experts outside the kept groups cannot be chosen.
            float[] groupScore = new float[groups];
            for (int g = 0; g < groups; g++) {
                float best = Float.NEGATIVE_INFINITY, second = Float.NEGATIVE_INFINITY;
                for (int e = g * perGroup; e < (g + 1) * perGroup; e++) {
                    if (choice[e] > best) {
                        second = best;
                        best = choice[e];
                    } else if (choice[e] > second) {
                        second = choice[e];
                    }
                }
                groupScore[g] = perGroup > 1 ? best + second : best;
            }
            int[] keptGroups = new int[c.topkGroup()];
            TopK.select(groupScore, 0, groups, c.topkGroup(), keptGroups, new float[c.topkGroup()], 0);
            boolean[] kept = new boolean[groups];
            for (int g : keptGroups) kept[g] = true;
            for (int e = 0; e < E; e++) {
                if (!kept[e / perGroup]) choice[e] = Float.NEGATIVE_INFINITY;
            }
        }
        TopK.select(choice, 0, E, K, ids, weight, out);
        double sum = 0;
        for (int j = 0; j < K; j++) {
            weight[out + j] = score[ids[out + j]];
            sum += weight[out + j];
        }
        float denominator = (float) (sum + 1e-20);
        for (int j = 0; j < K; j++) {
            float w = c.normTopkProb() ? weight[out + j] / denominator : weight[out + j];
            weight[out + j] = w * c.routedScalingFactor();
        }
    }

    /** The first index of the largest logit, skipping {@code skip}. */
    private static int argmax(float[] s, int off, int n, int skip) {
        int best = -1;
        for (int e = 0; e < n; e++) {
            if (e != skip && (best < 0 || s[off + e] > s[off + best])) best = e;
        }
        return best;
    }

    /**
     * The softmax weight of expert {@code at} among the experts other than {@code skip} whose logit s passes
     * sparsemixer's mask: (s_at − s) / max(|s|, s_at) ≤ threshold; computed in float as torch does.
     */
    private static float maskedSoftmaxAt(float[] s, int off, int n, int at, int skip, float threshold) {
        float top = s[off + at];
        double sum = 0;
        for (int e = 0; e < n; e++) {
            if (e == skip) continue;
            float v = s[off + e];
            float factor = Math.max(Math.abs(v), top);
            if ((top - v) / factor > threshold) continue;
            sum += Math.exp(v - top);
        }
        return (float) (1.0 / sum);
    }
}
