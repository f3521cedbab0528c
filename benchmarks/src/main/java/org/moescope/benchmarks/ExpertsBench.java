package org.moescope.benchmarks;

import org.moescope.kernels.VectorKernels;
import org.openjdk.jmh.annotations.*;

import java.lang.foreign.Arena;
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

    Arena arena;
    ExpertsLayer layer;
    float[] out;
    VectorKernels kernels;

    @Setup
    public void setup() {
        arena = Arena.ofShared();
        layer = ExpertsLayer.create(arena, shape, tokens, 8);
        out = new float[tokens * layer.hidden()];
        kernels = new VectorKernels();
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
        ExpertsLayer l = layer;
        kernels.moe(out, l.x(), tokens, l.topkIds(), l.topkWeights(), l.k(), l.gate(), l.up(), l.down());
        work.flops += l.flopsPerCall();
        work.bytes += l.bytesPerCall();
        return out;
    }
}
