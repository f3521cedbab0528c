package org.moescope.tornado;

import org.moescope.backend.Backend;
import org.moescope.backend.CpuBackend;
import org.moescope.model.MoeModel;
import org.moescope.model.ModelConfig;
import org.moescope.model.RouteRecorder;
import org.moescope.safetensors.SafetensorsFile;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The TornadoVM backend against the CPU backend on one checkpoint: a prefill of each test sequence (the fixture's
 * golden input_ids, else seeded random ids), a batch prefill of them all, and a prompt followed by decode steps.
 * Prints one JSON object; exits 1 when a logit differs by more than the tolerance or a top-k choice differs, 2 when
 * TornadoVM is not loaded, 3 when the backend fails (start-up, compilation, a device error).
 *
 * <pre>tools/gpu/moescope-tornado --main org.moescope.tornado.ParityCheck MODEL_DIR [TOLERANCE]</pre>
 */
public final class ParityCheck {
    private ParityCheck() {
    }

    /** Every recorded (token, layer) top-k id row, in call order. */
    static final class Ids implements RouteRecorder {
        final List<int[]> rows = new ArrayList<>();
        final int k;

        Ids(int k) {
            this.k = k;
        }

        @Override
        public void onLayer(int layer, int tokens, float[] in, float[] logits, float[] probs, int[] ids, float[] w) {
            rows.add(Arrays.copyOf(ids, tokens * k)); // the arrays may hold more rows than the call's tokens
        }
    }

    record Diff(double maxLogitDiff, long topkMismatches, long topkCompared) {
        Diff plus(Diff o) {
            return new Diff(Math.max(maxLogitDiff, o.maxLogitDiff), topkMismatches + o.topkMismatches,
                    topkCompared + o.topkCompared);
        }
    }

    public static void main(String[] args) {
        try {
            check(args);
        } catch (Throwable e) {
            e.printStackTrace();
            System.out.println("{\"error\": \"" + TornadoBackend.oneLine(e).replace("\\", "/").replace("\"", "'")
                    + "\", \"pass\": false}");
            System.exit(3);
        }
    }

    private static void check(String[] args) {
        Path dir = Path.of(args[0]);
        double tol = args.length > 1 ? Double.parseDouble(args[1]) : 1e-3;
        long t0 = System.nanoTime();
        try (MoeModel cpu = new CpuBackend().load(dir)) {
            Backend tb = new TornadoBackend();
            String why = tb.unavailableReason();
            if (why != null) {
                System.err.println("parity: " + why);
                System.exit(2);
            }
            try (MoeModel gpu = tb.load(dir)) {
                double loadSeconds = (System.nanoTime() - t0) / 1e9;
                int[][] seqs = sequences(dir, cpu.config());
                int k = cpu.config().numExpertsPerTok();
                long t1 = System.nanoTime();
                Diff prefill = new Diff(0, 0, 0);
                for (int[] seq : seqs) {
                    Ids ic = new Ids(k), ig = new Ids(k);
                    float[] lc = cpu.forward(cpu.newSession(seq.length), seq, MoeModel.Logits.ALL, ic);
                    float[] lg = gpu.forward(gpu.newSession(seq.length), seq, MoeModel.Logits.ALL, ig);
                    prefill = prefill.plus(compare(lc, lg, ic, ig));
                }
                int total = Arrays.stream(seqs).mapToInt(a -> a.length).sum();
                int[] rows = new int[total];
                for (int i = 0; i < total; i++) rows[i] = i;
                Ids bc = new Ids(k), bg = new Ids(k);
                Diff batch = compare(cpu.prefillBatch(seqs, rows, bc), gpu.prefillBatch(seqs, rows, bg), bc, bg);
                int[] seq = seqs[0];
                int prompt = Math.max(1, seq.length / 2);
                MoeModel.Session sc = cpu.newSession(seq.length), sg = gpu.newSession(seq.length);
                int[] head = Arrays.copyOf(seq, prompt);
                Diff decode = compare(cpu.forward(sc, head, MoeModel.Logits.LAST, null),
                        gpu.forward(sg, head, MoeModel.Logits.LAST, null), null, null);
                for (int t = prompt; t < seq.length; t++) {
                    Ids dc = new Ids(k), dg = new Ids(k);
                    int[] one = {seq[t]};
                    decode = decode.plus(compare(cpu.forward(sc, one, MoeModel.Logits.LAST, dc),
                            gpu.forward(sg, one, MoeModel.Logits.LAST, dg), dc, dg));
                }
                double checkSeconds = (System.nanoTime() - t1) / 1e9;
                Diff all = prefill.plus(batch).plus(decode);
                boolean ok = all.maxLogitDiff <= tol && all.topkMismatches == 0;
                System.out.printf("{\"model\": \"%s\", \"sequences\": %d, \"tokens\": %d, \"tolerance\": %g,%n"
                                + "  \"prefill\": %s,%n  \"prefill_batch\": %s,%n  \"decode\": %s,%n"
                                + "  \"tornado_load_seconds\": %.2f, \"check_seconds\": %.2f, \"pass\": %b}%n",
                        dir, seqs.length, total, tol, json(prefill), json(batch), json(decode), loadSeconds,
                        checkSeconds, ok);
                System.exit(ok ? 0 : 1);
            }
        }
    }

    private static String json(Diff d) {
        return String.format("{\"max_abs_logit_diff\": %.3g, \"topk_mismatches\": %d, \"topk_rows\": %d}",
                d.maxLogitDiff, d.topkMismatches, d.topkCompared);
    }

    private static Diff compare(float[] a, float[] b, Ids ia, Ids ib) {
        double worst = 0;
        for (int i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
        long bad = 0, n = 0;
        if (ia != null) {
            for (int l = 0; l < ia.rows.size(); l++) {
                int[] x = ia.rows.get(l), y = ib.rows.get(l);
                for (int r = 0; r + ia.k <= x.length; r += ia.k) {
                    n++;
                    if (!Arrays.equals(x, r, r + ia.k, y, r, r + ia.k)) bad++;
                }
            }
        }
        return new Diff(worst, bad, n);
    }

    private static int[][] sequences(Path dir, ModelConfig c) {
        Path golden = dir.resolve("golden.safetensors");
        if (Files.exists(golden)) {
            try (SafetensorsFile g = SafetensorsFile.open(golden)) {
                long[] shape = g.info("input_ids").shape();
                int B = (int) shape[0], S = (int) shape[1];
                int[] ids = g.readInts("input_ids");
                int[][] out = new int[B][];
                for (int b = 0; b < B; b++) out[b] = Arrays.copyOfRange(ids, b * S, (b + 1) * S);
                return out;
            }
        }
        SplittableRandom rnd = new SplittableRandom(7);
        int len = Math.min(48, c.maxPositionEmbeddings());
        return new int[][] {rnd.ints(len, 0, c.vocabSize()).toArray(), rnd.ints(len / 2, 0, c.vocabSize()).toArray()};
    }
}
