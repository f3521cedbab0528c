package org.moescope.benchmarks;

import org.moescope.kernels.VectorKernels;
import org.openjdk.jmh.annotations.*;

import java.util.concurrent.TimeUnit;

/**
 * Causal attention over the KV cache (16 heads of 64): a decode step attending to `context` cached rows, and a
 * prefill of 4 sequences of 128 tokens packed in one call (as the tracer batches them). Time per call.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
@State(Scope.Benchmark)
public class AttentionBench {
    static final int HEADS = 16, HEAD_DIM = 64, DIM = HEADS * HEAD_DIM;

    @Param({"128", "2048"})
    int context;

    VectorKernels kernels = new VectorKernels();
    float[] keys, values, q1, out1, qPrefill, outPrefill;
    int[] decodeRow, decodeFrom, prefillRow, prefillFrom;

    @Setup
    public void setup() {
        keys = BenchWeights.activations(context * DIM, 1);
        values = BenchWeights.activations(context * DIM, 2);
        q1 = BenchWeights.activations(DIM, 3);
        out1 = new float[DIM];
        decodeRow = new int[] {context - 1};
        decodeFrom = new int[] {0};
        int T = 512;
        qPrefill = BenchWeights.activations(T * DIM, 4);
        outPrefill = new float[T * DIM];
        prefillRow = new int[T];
        prefillFrom = new int[T];
        for (int t = 0; t < T; t++) {
            prefillRow[t] = t % context;
            prefillFrom[t] = t % context / 128 * 128;
        }
    }

    @Benchmark
    public float[] decodeStep() {
        kernels.attention(out1, q1, 1, keys, values, decodeRow, decodeFrom, HEADS, HEADS, HEAD_DIM, (float) (1 / Math.sqrt(HEAD_DIM)));
        return out1;
    }

    @Benchmark
    public float[] prefill4x128() {
        kernels.attention(outPrefill, qPrefill, 512, keys, values, prefillRow, prefillFrom, HEADS, HEADS, HEAD_DIM, (float) (1 / Math.sqrt(HEAD_DIM)));
        return outPrefill;
    }
}
