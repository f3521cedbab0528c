package org.moescope.model;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.moescope.kernels.Kernels;
import org.moescope.kernels.ScalarKernels;
import org.moescope.kernels.VectorKernels;
import org.moescope.safetensors.SafetensorsFile;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The engine against HF transformers' own outputs on every fixture directory with a golden.safetensors: the OLMoE ones
 * (tools/reference/make_fixtures.py) and one f32 and one bf16 per other family (make_family_fixtures.py).
 */
class GoldenTest {
    /** Every fixture directory with goldens, in name order. */
    static List<String> fixtures() {
        try (Stream<Path> dirs = Files.list(Fixtures.root().resolve("models"))) {
            return dirs.filter(d -> Files.exists(d.resolve("golden.safetensors")))
                    .map(d -> d.getFileName().toString()).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Every fixture on the reference kernels, the default vector kernels and the server's batch-invariant ones. */
    static Stream<Arguments> cases() {
        return fixtures().stream().flatMap(name -> Stream.of(Arguments.of(name, new ScalarKernels()),
                Arguments.of(name, new VectorKernels()), Arguments.of(name, VectorKernels.batchInvariant())));
    }

    static Stream<String> bf16Fixtures() {
        return fixtures().stream().filter(name -> {
            try (SafetensorsFile golden = SafetensorsFile.open(Fixtures.model(name).resolve("golden.safetensors"))) {
                return golden.contains("logits_bf16");
            }
        });
    }

    @org.junit.jupiter.api.Test
    void everyFamilyHasFixtures() {
        java.util.Set<String> families = new java.util.TreeSet<>();
        for (String name : fixtures()) {
            try (MoeTransformer model = MoeTransformer.load(Fixtures.model(name), new ScalarKernels())) {
                families.add(model.config().modelType());
            }
        }
        java.util.Set<String> all = new java.util.TreeSet<>();
        org.moescope.model.family.Families.ALL.forEach(f -> all.add(f.modelType()));
        assertEquals(all, families, "families with golden fixtures");
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void prefillMatchesHfLogitsRoutesAndHiddenStates(String name, Kernels kernels) {
        try (MoeTransformer model = MoeTransformer.load(Fixtures.model(name), kernels);
             SafetensorsFile golden = SafetensorsFile.open(Fixtures.model(name).resolve("golden.safetensors"))) {
            ModelConfig c = model.config();
            long[] shape = golden.info("input_ids").shape();
            int B = (int) shape[0], S = (int) shape[1], V = c.vocabSize();
            int[] ids = golden.readInts("input_ids");
            float[] logits = golden.readFloats("logits");
            float[] routerLogits = golden.readFloats("router_logits");
            int[] topk = golden.readInts("topk_ids");
            float[] topkWeights = golden.readFloats("topk_weights");
            float[] hidden = golden.readFloats("hidden_in_moe");
            for (int b = 0; b < B; b++) {
                int[] seq = Arrays.copyOfRange(ids, b * S, (b + 1) * S);
                RouteCapture cap = new RouteCapture(S, c);
                float[] out = model.forward(model.newSession(S), seq, MoeTransformer.Logits.ALL, cap);
                assertClose(Arrays.copyOfRange(logits, b * S * V, (b + 1) * S * V), out, 1e-4f, name + " logits seq " + b);
                int rl = c.numMoeLayers() * c.numExperts();
                assertClose(Arrays.copyOfRange(routerLogits, b * S * rl, (b + 1) * S * rl), cap.routerLogits, 1e-4f,
                        name + " router logits");
                int tk = c.numMoeLayers() * c.numExpertsPerTok();
                assertArrayEquals(Arrays.copyOfRange(topk, b * S * tk, (b + 1) * S * tk), cap.topkIds, name + " top-k ids");
                // 1e-5 of the router's probabilities, which routed_scaling_factor (16 in DeepSeek-V2) multiplies
                float weightTol = 1e-5f * Math.max(1f, c.routedScalingFactor());
                assertClose(Arrays.copyOfRange(topkWeights, b * S * tk, (b + 1) * S * tk), cap.topkWeights, weightTol,
                        name + " top-k weights");
                int hl = c.numMoeLayers() * c.hiddenSize();
                assertClose(Arrays.copyOfRange(hidden, b * S * hl, (b + 1) * S * hl), cap.moeInput, 1e-4f, name + " hidden");
                assertEquals(c.hasSharedExpertGate(), golden.contains("shared_gate"), name + ": shared_gate golden");
                if (c.hasSharedExpertGate()) {
                    int L = c.numMoeLayers();
                    assertClose(Arrays.copyOfRange(golden.readFloats("shared_gate"), b * S * L, (b + 1) * S * L),
                            cap.sharedGate, 1e-5f, name + " shared expert gate");
                }
            }
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void greedyContinuationMatchesHfGenerate(String name, Kernels kernels) {
        try (MoeTransformer model = MoeTransformer.load(Fixtures.model(name), kernels);
             SafetensorsFile golden = SafetensorsFile.open(Fixtures.model(name).resolve("golden.safetensors"))) {
            long[] shape = golden.info("input_ids").shape();
            int S = (int) shape[1];
            int[] ids = golden.readInts("input_ids");
            int[] expected = golden.readInts("greedy_ids");
            int G = (int) golden.info("greedy_ids").shape()[1];
            for (int b = 0; b < shape[0]; b++) {
                int[] prompt = Arrays.copyOfRange(ids, b * S, b * S + 8);
                int[] got = Generation.greedy(model, prompt, G, null);
                assertArrayEquals(Arrays.copyOfRange(expected, b * G, (b + 1) * G), got, name + " greedy seq " + b);
            }
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void decodingTokenByTokenEqualsOnePrefill(String name, Kernels kernels) {
        try (MoeTransformer model = MoeTransformer.load(Fixtures.model(name), kernels);
             SafetensorsFile golden = SafetensorsFile.open(Fixtures.model(name).resolve("golden.safetensors"))) {
            int S = (int) golden.info("input_ids").shape()[1];
            int V = model.config().vocabSize();
            int[] seq = Arrays.copyOf(golden.readInts("input_ids"), S);
            float[] full = model.forward(model.newSession(S), seq, MoeTransformer.Logits.ALL, null);
            MoeTransformer.Session s = model.newSession(S);
            model.forward(s, Arrays.copyOf(seq, 5), MoeTransformer.Logits.NONE, null);
            for (int t = 5; t < S; t++) {
                float[] step = model.forward(s, new int[] {seq[t]}, MoeTransformer.Logits.LAST, null);
                assertClose(Arrays.copyOfRange(full, t * V, (t + 1) * V), step, 1e-4f, name + " position " + t);
            }
        }
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void batchedPrefillOfSeveralSequencesEqualsSeparateRuns(String name, Kernels kernels) {
        try (MoeTransformer model = MoeTransformer.load(Fixtures.model(name), kernels);
             SafetensorsFile golden = SafetensorsFile.open(Fixtures.model(name).resolve("golden.safetensors"))) {
            int S = (int) golden.info("input_ids").shape()[1];
            int V = model.config().vocabSize();
            int[] ids = golden.readInts("input_ids");
            int[][] seqs = {Arrays.copyOfRange(ids, 0, 5), Arrays.copyOfRange(ids, S, 2 * S), Arrays.copyOfRange(ids, 3, 12)};
            int total = 5 + S + 9;
            float[] batched = model.prefillBatch(seqs, java.util.stream.IntStream.range(0, total).toArray(), null);
            int row = 0;
            for (int[] seq : seqs) {
                float[] alone = model.forward(model.newSession(seq.length), seq, MoeTransformer.Logits.ALL, null);
                assertClose(alone, Arrays.copyOfRange(batched, row * V, (row + seq.length) * V), 1e-4f, name + " batched");
                row += seq.length;
            }
        }
    }

    /**
     * The server's continuous batching on every family: two golden sequences share steps of one cache, the first fed
     * in chunks of 3 tokens (a prompt prefilled in chunks), the second token by token and joining one step late (at
     * another offset of the cache); every logit row they return matches HF's.
     */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void continuousBatchingStepsMatchHfLogits(String name, Kernels kernels) {
        try (MoeTransformer model = MoeTransformer.load(Fixtures.model(name), kernels);
             SafetensorsFile golden = SafetensorsFile.open(Fixtures.model(name).resolve("golden.safetensors"))) {
            int S = (int) golden.info("input_ids").shape()[1];
            int V = model.config().vocabSize();
            int[] ids = golden.readInts("input_ids");
            float[] logits = golden.readFloats("logits");
            MoeModel.Session cache = model.newSharedCache(2 * S + 3, S);
            int[] done = {0, 0};
            int[] base = {S + 3, 0};
            for (int step = 0; done[0] < S || done[1] < S; step++) {
                List<MoeTransformer.StepSlice> slices = new java.util.ArrayList<>();
                List<Integer> owners = new java.util.ArrayList<>();
                if (done[0] < S) {
                    int n = Math.min(3, S - done[0]);
                    slices.add(new MoeTransformer.StepSlice(base[0], done[0],
                            Arrays.copyOfRange(ids, done[0], done[0] + n), true));
                    owners.add(0);
                }
                if (step >= 1 && done[1] < S) {
                    slices.add(new MoeTransformer.StepSlice(base[1], done[1], new int[] {ids[S + done[1]]}, true));
                    owners.add(1);
                }
                float[] out = model.step(cache, slices, null);
                for (int i = 0; i < slices.size(); i++) {
                    int b = owners.get(i);
                    done[b] += slices.get(i).tokens().length;
                    int pos = done[b] - 1;
                    assertClose(Arrays.copyOfRange(logits, (b * S + pos) * V, (b * S + pos + 1) * V),
                            Arrays.copyOfRange(out, i * V, (i + 1) * V), 1e-4f, name + " seq " + b + " position " + pos);
                }
            }
        }
    }

    /** prefillBatch keeps its KV cache and work arrays between calls; what a previous, larger batch left must not leak. */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("cases")
    void aBatchAfterALargerOneEqualsItOnAFreshModel(String name, Kernels kernels) {
        try (MoeTransformer used = MoeTransformer.load(Fixtures.model(name), kernels);
             MoeTransformer fresh = MoeTransformer.load(Fixtures.model(name), kernels);
             SafetensorsFile golden = SafetensorsFile.open(Fixtures.model(name).resolve("golden.safetensors"))) {
            int S = (int) golden.info("input_ids").shape()[1];
            int[] ids = golden.readInts("input_ids");
            int[][] large = {Arrays.copyOfRange(ids, 0, S), Arrays.copyOfRange(ids, S, 2 * S), Arrays.copyOfRange(ids, 2, 9)};
            used.prefillBatch(large, java.util.stream.IntStream.range(0, 2 * S + 7).toArray(), null);
            int[][] small = {Arrays.copyOfRange(ids, S + 1, S + 6), Arrays.copyOfRange(ids, 4, 7)};
            int[] rows = {0, 2, 4, 5, 7};
            RouteCapture usedRoutes = new RouteCapture(8, used.config()), freshRoutes = new RouteCapture(8, fresh.config());
            float[] buffer = new float[(rows.length + 3) * used.config().vocabSize()]; // a previous batch's, larger
            float[] again = used.prefillBatch(small, rows, buffer, usedRoutes);
            assertSame(buffer, again, "logits go to the array passed in when it is large enough");
            again = Arrays.copyOf(again, rows.length * used.config().vocabSize());
            float[] first = fresh.prefillBatch(small, rows, new float[1], freshRoutes);
            // Equal up to float rounding, not bit for bit: the Vector API's lane reductions may sum in another order
            // before and after C2 compiles a kernel, and the JIT can finish between the two calls.
            assertClose(first, again, 1e-5f, name + ": logits");
            assertClose(freshRoutes.moeInput, usedRoutes.moeInput, 1e-5f, name + ": MoE inputs");
            assertArrayEquals(freshRoutes.topkIds, usedRoutes.topkIds, name + ": routes");
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("bf16Fixtures")
    void bf16WeightsStayWithinAHundredthOfHfFullBf16(String name) {
        // HF in full bf16 rounds activations too; the engine widens bf16 weights and computes in fp32. The issue asks for
        // logits within 1e-2 of HF's fp32-compute reference and the same experts on >= 99% of slots.
        try (MoeTransformer model = MoeTransformer.load(Fixtures.model(name), new VectorKernels());
             SafetensorsFile golden = SafetensorsFile.open(Fixtures.model(name).resolve("golden.safetensors"))) {
            ModelConfig c = model.config();
            int S = (int) golden.info("input_ids").shape()[1];
            int[] seq = Arrays.copyOf(golden.readInts("input_ids"), S);
            RouteCapture cap = new RouteCapture(S, c);
            float[] out = model.forward(model.newSession(S), seq, MoeTransformer.Logits.ALL, cap);
            assertClose(Arrays.copyOf(golden.readFloats("logits"), out.length), out, 1e-2f, "bf16 logits");
            int[] hfTopk = golden.readInts("topk_ids");
            int k = c.numExpertsPerTok();
            int same = 0, slots = S * c.numMoeLayers();
            for (int slot = 0; slot < slots; slot++) {
                int[] a = Arrays.copyOfRange(hfTopk, slot * k, slot * k + k);
                int[] g = Arrays.copyOfRange(cap.topkIds, slot * k, slot * k + k);
                Arrays.sort(a);
                Arrays.sort(g);
                if (Arrays.equals(a, g)) same++;
            }
            assertTrue(same >= 0.99 * slots, same + " of " + slots + " slots agree");
        }
    }

    static void assertClose(float[] expected, float[] actual, float tol, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        float worst = 0;
        int at = -1;
        for (int i = 0; i < expected.length; i++) {
            float d = Math.abs(expected[i] - actual[i]);
            if (!(d <= worst)) {
                worst = d;
                at = i;
            }
        }
        if (!(worst <= tol)) {
            fail(what + ": max |diff| " + worst + " at " + at + " (expected " + expected[at] + ", got " + actual[at] + ")");
        }
    }
}
