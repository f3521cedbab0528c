package org.moescope.benchmarks;

import org.moescope.kernels.VectorKernels;
import org.moescope.kernels.Weight;
import org.moescope.safetensors.DType;
import org.openjdk.jmh.annotations.*;

import java.lang.foreign.Arena;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * One MoE layer's experts (VectorKernels.moe: grouping, fused gate/up SwiGLU, down, weighted sum) in BF16, with
 * random top-k routing. tokens=512 is a prefill batch, tokens=1 a decode step. Secondary results: "flops" GFLOP/s of
 * expert matmuls (3 matmuls x 2 x hidden x intermediate per token-choice), "bytes" of expert weights read (GB/s).
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
@State(Scope.Benchmark)
public class ExpertsBench {
    /** experts x hidden x intermediate: the mini model; OLMoE-1B-7B. */
    @Param({"32x1024x512", "64x2048x1024"})
    String shape;

    @Param({"1", "512"})
    int tokens;

    int k = 8;
    Arena arena;
    Weight[] gate, up, down;
    float[] x, out, topkWeights;
    int[] topkIds;
    VectorKernels kernels;
    long flopsPerCall, bytesPerCall;

    @Setup
    public void setup() {
        String[] s = shape.split("x");
        int experts = Integer.parseInt(s[0]), hidden = Integer.parseInt(s[1]), inter = Integer.parseInt(s[2]);
        arena = Arena.ofShared();
        gate = new Weight[experts];
        up = new Weight[experts];
        down = new Weight[experts];
        for (int e = 0; e < experts; e++) {
            gate[e] = BenchWeights.weight(arena, DType.BF16, inter, hidden, 3L * e);
            up[e] = BenchWeights.weight(arena, DType.BF16, inter, hidden, 3L * e + 1);
            down[e] = BenchWeights.weight(arena, DType.BF16, hidden, inter, 3L * e + 2);
        }
        x = BenchWeights.activations(tokens * hidden, 7);
        out = new float[tokens * hidden];
        topkIds = new int[tokens * k];
        topkWeights = new float[tokens * k];
        SplittableRandom rnd = new SplittableRandom(11);
        java.util.Set<Integer> distinct = new java.util.HashSet<>();
        for (int t = 0; t < tokens; t++) {
            int[] chosen = rnd.ints(0, experts).distinct().limit(k).toArray();
            for (int j = 0; j < k; j++) {
                topkIds[t * k + j] = chosen[j];
                topkWeights[t * k + j] = 1f / k;
                distinct.add(chosen[j]);
            }
        }
        kernels = new VectorKernels();
        flopsPerCall = 3L * 2 * hidden * inter * tokens * k;
        bytesPerCall = 3L * 2 * hidden * inter * distinct.size();
    }

    @TearDown
    public void tearDown() {
        arena.close();
    }

    @AuxCounters(AuxCounters.Type.OPERATIONS)
    @State(Scope.Thread)
    public static class Work {
        public long flops;
        public long bytes;

        @Setup(Level.Iteration)
        public void reset() {
            flops = 0;
            bytes = 0;
        }
    }

    @Benchmark
    public float[] moe(Work work) {
        kernels.moe(out, x, tokens, topkIds, topkWeights, k, gate, up, down);
        work.flops += flopsPerCall;
        work.bytes += bytesPerCall;
        return out;
    }
}
