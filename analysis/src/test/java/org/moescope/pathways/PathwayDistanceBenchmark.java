package org.moescope.pathways;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Timing of the all-pairs character-level group distance (not a test; run by hand):
 * <pre>
 * ./mvnw -q -o -pl analysis -am test-compile
 * java --add-modules jdk.incubator.vector -cp analysis/target/classes:analysis/target/test-classes:weights-tools/target/classes \
 *     org.moescope.pathways.PathwayDistanceBenchmark [samples=10000] [threads=2] [repeats=2] [scalar]
 * </pre>
 * Synthetic pathways: 16 layers of 64 experts, each sample's router mean = softmax(shared logits + sample noise),
 * threshold 0.7, which gives texts of about 500 characters.
 */
public final class PathwayDistanceBenchmark {
    public static void main(String[] args) {
        int samples = args.length > 0 ? Integer.parseInt(args[0]) : 10_000;
        int threads = args.length > 1 ? Integer.parseInt(args[1]) : 2;
        int repeats = args.length > 2 ? Integer.parseInt(args[2]) : 2;
        boolean vector = !(args.length > 3 && args[3].equals("scalar"));
        List<Pathway> pathways = synthetic(samples, 16, 64, 42L);
        double meanLength = pathways.stream().mapToInt(p -> p.text().length()).average().orElse(0);
        System.out.printf("samples=%d threads=%d kernel=%s meanTextLength=%.1f%n", samples, threads,
                vector && PairKernel.vectorAvailable() ? "vector x" + VectorPairKernel.preferredLanes() : "scalar",
                meanLength);
        GroupDistances.Options options = GroupDistances.Options.defaults().withMaxPairs(Long.MAX_VALUE)
                .withThreads(threads).withVector(vector);
        for (int r = 0; r < repeats; r++) {
            long c0 = processCpuNanos();
            long t0 = System.nanoTime();
            GroupDistances.Result result = GroupDistances.within(pathways, DistanceKind.CHARACTER, options);
            double seconds = (System.nanoTime() - t0) / 1e9;
            double cpu = (processCpuNanos() - c0) / 1e9;
            System.out.printf("run %d: %d pairs, mean %s = %.4f (sd %.3f), wall %.2f s, process cpu %.2f s, %.3f Mpairs/s%n",
                    r, result.pairsUsed(), result.kind().id(), result.mean(), result.standardDeviation(), seconds, cpu,
                    result.pairsUsed() / seconds / 1e6);
        }
    }

    /** CPU time of the whole JVM: with another job on the machine, wall time alone says little. */
    private static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory
                .getOperatingSystemMXBean()).getProcessCpuTime();
    }

    static List<Pathway> synthetic(int samples, int layers, int experts, long seed) {
        Random rng = new Random(seed);
        double[][] shared = new double[layers][experts]; // (layers, experts) logits every sample shares
        for (double[] row : shared) for (int k = 0; k < experts; k++) row[k] = rng.nextGaussian() * 1.5;
        List<Pathway> out = new ArrayList<>(samples);
        float[][] probs = new float[layers][experts];
        for (int s = 0; s < samples; s++) {
            for (int l = 0; l < layers; l++) {
                double max = Double.NEGATIVE_INFINITY;
                double[] z = new double[experts];
                for (int k = 0; k < experts; k++) {
                    z[k] = shared[l][k] + rng.nextGaussian() * 0.8;
                    max = Math.max(max, z[k]);
                }
                double total = 0;
                for (int k = 0; k < experts; k++) total += z[k] = Math.exp(z[k] - max);
                for (int k = 0; k < experts; k++) probs[l][k] = (float) (z[k] / total);
            }
            out.add(Pathway.fromRouting(probs, Pathway.DEFAULT_TAU));
        }
        return out;
    }
}
