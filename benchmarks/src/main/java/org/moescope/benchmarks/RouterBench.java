package org.moescope.benchmarks;

import org.moescope.kernels.TopK;
import org.moescope.kernels.VectorKernels;
import org.openjdk.jmh.annotations.*;

import java.util.concurrent.TimeUnit;

/** The router's per-token work after its matmul: softmax over the experts, then top-8. Time per token. */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
@State(Scope.Thread)
public class RouterBench {
    @Param({"32", "64"})
    int experts;

    VectorKernels kernels = new VectorKernels();
    float[] logits, probs, weights = new float[8];
    int[] ids = new int[8];

    @Setup
    public void setup() {
        logits = BenchWeights.activations(experts, 5);
        probs = new float[experts];
    }

    @Benchmark
    public int[] softmaxTop8() {
        System.arraycopy(logits, 0, probs, 0, experts);
        kernels.softmax(probs, 0, experts);
        TopK.select(probs, 0, experts, 8, ids, weights, 0);
        return ids;
    }
}
