package org.moescope.benchmarks;

import org.moescope.kernels.VectorKernels;
import org.moescope.model.MoeModel;
import org.moescope.model.MoeTransformer;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Multi-head latent attention's two ways of applying kv_b_proj ({@link MoeTransformer.MlaPath} EXPANDED and ABSORBED),
 * timed in alternation on one model: a prefill of P tokens, then D decode steps after it, per round and per path.
 * Prints per round and path the prefill seconds and the decode tokens per second, and the medians.
 *
 * <p>Usage: java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp benchmarks.jar
 * org.moescope.benchmarks.MlaPathBench MODEL_DIR PREFILL DECODE ROUNDS
 */
public final class MlaPathBench {
    private MlaPathBench() {
    }

    public static void main(String[] args) {
        Path dir = Path.of(args[0]);
        int prefill = Integer.parseInt(args[1]);
        int decode = Integer.parseInt(args[2]);
        int rounds = Integer.parseInt(args[3]);
        MoeTransformer.MlaPath[] paths = {MoeTransformer.MlaPath.EXPANDED, MoeTransformer.MlaPath.ABSORBED};
        try (MoeTransformer model = MoeTransformer.load(dir, new VectorKernels())) {
            SplittableRandom r = new SplittableRandom(1);
            int[] prompt = r.ints(prefill, 0, model.config().vocabSize()).toArray();
            int[] next = r.ints(decode, 0, model.config().vocabSize()).toArray();
            List<List<double[]>> results = new ArrayList<>();
            for (int p = 0; p < paths.length; p++) results.add(new ArrayList<>());
            for (int round = -1; round < rounds; round++) { // round -1 warms both paths up
                for (int p = 0; p < paths.length; p++) {
                    model.mlaPath(paths[p]);
                    MoeModel.Session s = model.newSession(prefill + decode);
                    long t0 = System.nanoTime();
                    model.forward(s, prompt, MoeModel.Logits.LAST, null);
                    long t1 = System.nanoTime();
                    for (int id : next) model.forward(s, new int[] {id}, MoeModel.Logits.LAST, null);
                    long t2 = System.nanoTime();
                    double pre = (t1 - t0) / 1e9, tps = decode / ((t2 - t1) / 1e9);
                    if (round >= 0) results.get(p).add(new double[] {pre, tps});
                    System.out.printf(Locale.ROOT, "round %d %s: prefill %d tokens %.3f s, decode %d tokens at %d..%d: %.2f tok/s%n",
                            round, paths[p], prefill, pre, decode, prefill, prefill + decode, tps);
                }
            }
            for (int p = 0; p < paths.length; p++) {
                System.out.printf(Locale.ROOT, "median %s: prefill %.3f s, decode %.2f tok/s%n", paths[p],
                        median(results.get(p), 0), median(results.get(p), 1));
            }
        }
    }

    private static double median(List<double[]> rows, int column) {
        double[] v = rows.stream().mapToDouble(x -> x[column]).sorted().toArray();
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }
}
