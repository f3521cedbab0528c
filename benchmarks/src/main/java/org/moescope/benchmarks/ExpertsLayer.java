package org.moescope.benchmarks;

import org.moescope.kernels.Weight;
import org.moescope.safetensors.DType;

import java.lang.foreign.Arena;
import java.util.HashSet;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * One MoE layer's experts in BF16 with random top-k routing of `tokens` tokens (each token picks k distinct experts,
 * weight 1/k), the input of VectorKernels.moe in ExpertsBench and KernelEfficiency.
 */
record ExpertsLayer(Weight[] gate, Weight[] up, Weight[] down, float[] x, int tokens, int[] topkIds,
                    float[] topkWeights, int k, long flopsPerCall, long bytesPerCall) {

    /** shape "experts x hidden x intermediate", e.g. 32x1024x512. */
    static ExpertsLayer create(Arena arena, String shape, int tokens, int k) {
        String[] s = shape.split("x");
        int experts = Integer.parseInt(s[0]), hidden = Integer.parseInt(s[1]), inter = Integer.parseInt(s[2]);
        Weight[] gate = new Weight[experts], up = new Weight[experts], down = new Weight[experts];
        for (int e = 0; e < experts; e++) {
            gate[e] = BenchWeights.weight(arena, DType.BF16, inter, hidden, 3L * e);
            up[e] = BenchWeights.weight(arena, DType.BF16, inter, hidden, 3L * e + 1);
            down[e] = BenchWeights.weight(arena, DType.BF16, hidden, inter, 3L * e + 2);
        }
        int[] topkIds = new int[tokens * k];
        float[] topkWeights = new float[tokens * k];
        SplittableRandom rnd = new SplittableRandom(11);
        Set<Integer> distinct = new HashSet<>();
        for (int t = 0; t < tokens; t++) {
            int[] chosen = rnd.ints(0, experts).distinct().limit(k).toArray();
            for (int j = 0; j < k; j++) {
                topkIds[t * k + j] = chosen[j];
                topkWeights[t * k + j] = 1f / k;
                distinct.add(chosen[j]);
            }
        }
        return new ExpertsLayer(gate, up, down, BenchWeights.activations(tokens * hidden, 7), tokens, topkIds,
                topkWeights, k, 3L * 2 * hidden * inter * tokens * k, 3L * 2 * hidden * inter * distinct.size());
    }

    int hidden() {
        return down[0].rows();
    }
}
