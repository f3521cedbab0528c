package org.moescope.benchmarks;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.openjdk.jmh.annotations.*;

import java.util.concurrent.TimeUnit;

/**
 * The machine's fp32 FMA throughput as the Vector API reaches it: 12 independent accumulator chains of FloatVector.fma
 * in registers, no memory traffic, at the preferred vector width (AVX2: 8 lanes, AVX-512: 16). Run with -t 2 for both
 * cores; the secondary result "flops" is GFLOP/s per thread (FLOPs per ns).
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
@State(Scope.Thread)
public class FmaPeakBench {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final int ITERATIONS = 1 << 16;
    /** FLOPs of one iteration of fma12 at the preferred vector width: 12 FMAs x lanes x 2 (AVX2 8 lanes, AVX-512 16). */
    static final int FLOPS_PER_ITERATION = 12 * F.length() * 2;

    float m = 0.999999f;
    float c = 1e-7f;

    /** FLOPs counted per call, since the vector width (and so FLOPs per call) is known only at run time. */
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    @State(Scope.Thread)
    public static class Work {
        public long flops;

        @Setup(Level.Iteration)
        public void reset() {
            flops = 0;
        }
    }

    @Benchmark
    public float fma12(Work work) {
        work.flops += (long) ITERATIONS * FLOPS_PER_ITERATION;
        return fma12(ITERATIONS, m, c);
    }

    /**
     * iterations x 12 independent FMA chains on registers: 12 chains cover the FMA latency of both pipes (4 cycles x
     * 2), so the loop runs at the FMA throughput. Shared with KernelEfficiency.
     */
    static float fma12(int iterations, float m, float c) {
        FloatVector mv = FloatVector.broadcast(F, m), cv = FloatVector.broadcast(F, c);
        FloatVector a0 = FloatVector.broadcast(F, 1f), a1 = a0.add(1f), a2 = a0.add(2f), a3 = a0.add(3f);
        FloatVector a4 = a0.add(4f), a5 = a0.add(5f), a6 = a0.add(6f), a7 = a0.add(7f);
        FloatVector a8 = a0.add(8f), a9 = a0.add(9f), a10 = a0.add(10f), a11 = a0.add(11f);
        for (int i = 0; i < iterations; i++) {
            a0 = a0.fma(mv, cv);
            a1 = a1.fma(mv, cv);
            a2 = a2.fma(mv, cv);
            a3 = a3.fma(mv, cv);
            a4 = a4.fma(mv, cv);
            a5 = a5.fma(mv, cv);
            a6 = a6.fma(mv, cv);
            a7 = a7.fma(mv, cv);
            a8 = a8.fma(mv, cv);
            a9 = a9.fma(mv, cv);
            a10 = a10.fma(mv, cv);
            a11 = a11.fma(mv, cv);
        }
        return a0.add(a1).add(a2).add(a3).add(a4).add(a5).add(a6).add(a7).add(a8).add(a9).add(a10).add(a11)
                .reduceLanes(VectorOperators.ADD);
    }
}
