package org.moescope.trace;

import org.moescope.model.family.Families;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.moescope.errors.BadInputException;
import org.moescope.kernels.VectorKernels;
import org.moescope.model.Fixtures;
import org.moescope.model.MoeModel;
import org.moescope.model.ModelConfig;
import org.moescope.model.MoeTransformer;
import org.moescope.model.RouteCapture;
import org.moescope.routing.RouteFile;
import org.moescope.safetensors.SafetensorsFile;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class TracerTest {
    @TempDir
    Path dir;

    @Test
    void routeFileHoldsHfRoutesAndSelfConsistentMeansAndLosses() throws Exception {
        Path model = Fixtures.model("tiny-f32");
        try (MoeTransformer m = MoeTransformer.load(model, new VectorKernels());
             SafetensorsFile golden = SafetensorsFile.open(model.resolve("golden.safetensors"))) {
            int S = (int) golden.info("input_ids").shape()[1];
            int[] ids = golden.readInts("input_ids");
            List<Sample> samples = List.of(
                    new Sample("first", "g", Arrays.copyOfRange(ids, 0, S), 1),
                    new Sample("one", null, new int[] {5}, 1),
                    new Sample("second", "g", Arrays.copyOfRange(ids, S, 2 * S), 1));
            Path out = dir.resolve("routes.safetensors");
            // batchTokens 7 forces samples to be split over several forward calls.
            Tracer.trace(m, samples, out, Map.of("model_path", model.toString()), new Tracer.Options(true, true, true, 7), null);
            try (RouteFile r = RouteFile.open(out)) {
                var c = m.config();
                int L = c.numHiddenLayers(), E = c.numExperts(), K = c.numExpertsPerTok(), V = c.vocabSize();
                assertEquals(3, r.numSamples());
                assertEquals(Arrays.asList("first", "one", "second"), r.sampleIds());
                assertEquals(Arrays.asList("g", null, "g"), r.sampleGroups());
                assertArrayEquals(new long[] {0, S, S + 1, 2L * S + 1}, r.sampleOffsets());
                // Routes equal HF's.
                int[] hfTopk = golden.readInts("topk_ids");
                assertArrayEquals(Arrays.copyOfRange(hfTopk, 0, S * L * K), r.topkIds(0));
                assertArrayEquals(Arrays.copyOfRange(hfTopk, S * L * K, 2 * S * L * K), r.topkIds(2));
                // router_probs_mean = mean over tokens of softmax(router_logits).
                float[] probsMean = r.routerProbsMean();
                float[] loss = r.loss();
                float[] hfLoss = golden.readFloats("loss");
                assertEquals(hfLoss[0], loss[0], 1e-5);
                assertEquals(hfLoss[1], loss[2], 1e-5);
                assertTrue(Float.isNaN(loss[1]), "a one-token sample has no next token to score");
                for (int s = 0; s < 3; s++) {
                    int n = r.sampleLength(s);
                    float[] rl = r.routerLogits(s);
                    double[] mean = new double[L * E];
                    for (int t = 0; t < n; t++) {
                        for (int l = 0; l < L; l++) {
                            double max = Double.NEGATIVE_INFINITY, sum = 0;
                            for (int e = 0; e < E; e++) max = Math.max(max, rl[(t * L + l) * E + e]);
                            for (int e = 0; e < E; e++) sum += Math.exp(rl[(t * L + l) * E + e] - max);
                            for (int e = 0; e < E; e++) mean[l * E + e] += Math.exp(rl[(t * L + l) * E + e] - max) / sum / n;
                        }
                    }
                    for (int j = 0; j < L * E; j++) {
                        assertEquals(mean[j], probsMean[s * L * E + j], 1e-6, "sample " + s + " probs mean " + j);
                    }
                    // loss = NLL recomputed from the saved logits.
                    if (n > 1) {
                        float[] lg = r.logits(s);
                        int[] in = r.inputIds(s);
                        double nll = 0;
                        for (int p = 0; p < n - 1; p++) {
                            nll += logSumExp(lg, p * V, V) - lg[p * V + in[p + 1]];
                        }
                        assertEquals(nll / (n - 1), loss[s], 1e-5);
                    }
                }
                // Logits saved for sample 0 equal HF's.
                float[] hfLogits = golden.readFloats("logits");
                float[] lg0 = r.logits(0);
                for (int i = 0; i < lg0.length; i++) assertEquals(hfLogits[i], lg0[i], 1e-4);
                assertEquals(m.checkpoint().configSha256(), r.metadata().get("config_sha256"));
                assertEquals(3 * L * c.hiddenSize(), r.hiddenMean().length);
            }
        }
    }

    @Test
    void lossStartScoresOnlyTheAnswer() {
        try (MoeTransformer m = MoeTransformer.load(Fixtures.model("tiny-f32"), new VectorKernels())) {
            int[] seq = {3, 17, 40, 99, 120};
            var all = Tracer.trace(m, List.of(new Sample(null, null, seq, 1)), null, Map.of(), Tracer.Options.defaults(), null);
            var last = Tracer.trace(m, List.of(new Sample(null, null, seq, 4)), null, Map.of(), Tracer.Options.defaults(), null);
            float[] logits = m.forward(m.newSession(5), seq, MoeTransformer.Logits.ALL, null);
            int V = m.config().vocabSize();
            double expected = logSumExp(logits, 3 * V, V) - logits[3 * V + 120];
            assertEquals(expected, last.loss()[0], 1e-5);
            assertNotEquals(all.loss()[0], last.loss()[0]);
            assertEquals(argmax(logits, 3 * V, V) == 120, last.correct()[0]);
        }
    }

    @Test
    void jsonlErrorsNameTheLine() throws Exception {
        Path f = dir.resolve("s.jsonl");
        Files.writeString(f, "{\"ids\": [1,2]}\n\n{\"ids\": [1, 999]}\n");
        var e = assertThrows(BadInputException.class, () -> SampleReader.read(f, 192, null));
        assertEquals(f + ":3: token id 999 is out of range [0, 192)", e.getMessage());
        Files.writeString(f, "{\"ids\": []}\n");
        assertTrue(assertThrows(BadInputException.class, () -> SampleReader.read(f, 192, null)).getMessage().endsWith(":1: empty sample"));
        Files.writeString(f, "{\"ids\": [1]}\n{oops\n");
        assertTrue(assertThrows(BadInputException.class, () -> SampleReader.read(f, 192, null)).getMessage().endsWith(":2: not valid JSON"));
        Files.writeString(f, "{\"text\": \"hi\"}\n");
        assertTrue(assertThrows(BadInputException.class, () -> SampleReader.read(f, 192, null)).getMessage().contains("needs a tokenizer"));
        Files.write(f, new byte[] {'{', (byte) 0xC3, '}', '\n'});
        assertTrue(assertThrows(BadInputException.class, () -> SampleReader.read(f, 192, null)).getMessage().endsWith("not valid UTF-8"));
    }

    /** Reference next-token loss in double, independent of the kernels. */
    private static double logSumExp(float[] a, int off, int n) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) max = Math.max(max, a[off + i]);
        double sum = 0;
        for (int i = 0; i < n; i++) sum += Math.exp(a[off + i] - max);
        return max + Math.log(sum);
    }

    private static int argmax(float[] a, int off, int n) {
        int best = 0;
        for (int i = 1; i < n; i++) {
            if (a[off + i] > a[off + best]) best = i;
        }
        return best;
    }

    @Test
    void defaultBatchGivesEachExpertAbout128TokensAndAtLeast512() throws Exception {
        ObjectNode tiny = (ObjectNode) new ObjectMapper().readTree(Fixtures.model("tiny-f32").resolve("config.json").toFile());
        int[][] expertsTopKBatch = {{32, 8, 512}, {64, 8, 1024}, {64, 4, 2048}, {4, 2, 512}};
        for (int[] c : expertsTopKBatch) {
            ObjectNode json = tiny.deepCopy().put("num_experts", c[0]).put("num_experts_per_tok", c[1]);
            assertEquals(c[2], Tracer.batchTokensFor(Families.parse(json, Path.of("config.json"))),
                    c[0] + " experts, top-" + c[1]);
        }
    }

    @Test
    void aBatchOfOnlyOneTokenSamplesStillRecordsItsRoutes() throws Exception {
        // Such a batch has no next token to score; it used to skip the forward pass and write zero routes.
        Path model = Fixtures.model("tiny-f32");
        try (MoeTransformer m = MoeTransformer.load(model, new VectorKernels())) {
            List<Sample> samples = List.of(new Sample("a", null, new int[] {5}, 1), new Sample("b", null, new int[] {7}, 1));
            Path out = dir.resolve("one.safetensors");
            Tracer.Result r = Tracer.trace(m, samples, out, Map.of(), Tracer.Options.defaults(), null);
            assertTrue(Float.isNaN(r.loss()[0]) && Float.isNaN(r.loss()[1]));
            try (RouteFile f = RouteFile.open(out)) {
                for (int s = 0; s < 2; s++) {
                    RouteCapture rec = new RouteCapture(1, m.config());
                    m.forward(m.newSession(1), samples.get(s).ids(), MoeModel.Logits.NONE, rec);
                    assertArrayEquals(rec.topkIds, f.topkIds(s), "routes of sample " + s);
                    assertArrayEquals(rec.probs, Arrays.copyOfRange(f.routerProbsMean(), s * rec.probs.length,
                            (s + 1) * rec.probs.length), 1e-6f);
                }
            }
        }
    }
}
