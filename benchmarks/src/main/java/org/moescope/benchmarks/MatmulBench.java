package org.moescope.benchmarks;

import org.moescope.kernels.VectorKernels;
import org.moescope.kernels.Weight;
import org.moescope.safetensors.DType;
import org.openjdk.jmh.annotations.*;

import java.lang.foreign.Arena;
import java.util.concurrent.TimeUnit;

/**
 * out (T, rows) = x (T, cols) · Wᵀ through VectorKernels (all cores), weights in native memory in their stored dtype.
 * Secondary results: "flops" in GFLOP/s (ops/ns) and "bytes" of weights read per ns (GB/s), the figure that matters
 * for one token. The 8192 x 2048 matrix (32 MB in BF16) is larger than the 32 MB L3 with everything else, so
 * tokens=1 on it reads from DRAM.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
@State(Scope.Benchmark)
public class MatmulBench {
    @Param({"BF16", "F16", "F32", "I8"})
    DType dtype;

    @Param({"1", "128", "512"})
    int tokens;

    /** rows x cols: an expert's up projection of the mini model; OLMoE-1B-7B's q projection; a DRAM-sized one. */
    @Param({"512x1024", "2048x2048", "8192x2048"})
    String shape;

    Arena arena;
    Weight w;
    float[] x;
    float[] out;
    VectorKernels kernels;
    long flopsPerCall;
    long bytesPerCall;

    @Setup
    public void setup() {
        String[] rc = shape.split("x");
        int rows = Integer.parseInt(rc[0]), cols = Integer.parseInt(rc[1]);
        arena = Arena.ofShared();
        w = BenchWeights.weight(arena, dtype, rows, cols, 1);
        x = BenchWeights.activations(tokens * cols, 2);
        out = new float[tokens * rows];
        kernels = new VectorKernels();
        flopsPerCall = 2L * rows * cols * tokens;
        bytesPerCall = (long) rows * cols * dtype.byteSize();
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
    public float[] matmul(Work work) {
        kernels.matmul(out, x, tokens, w);
        work.flops += flopsPerCall;
        work.bytes += bytesPerCall;
        return out;
    }
}
