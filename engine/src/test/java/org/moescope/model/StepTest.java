package org.moescope.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.moescope.errors.BadInputException;
import org.moescope.kernels.Kernels;
import org.moescope.kernels.VectorKernels;
import org.moescope.safetensors.DType;
import org.moescope.weights.Init;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * MoeTransformer.step: several sequences of a shared cache in one forward pass. With batch-invariant kernels a
 * sequence's logits are bit-identical alone, batched with others, and with its prompt cut into chunks; and they
 * match the one-sequence forward pass up to float rounding.
 */
class StepTest {
    @TempDir
    static Path dir;
    static Path model;

    /** BF16 and wide enough (vocab 1,024, hidden 256) that the default kernels split rows into several jobs. */
    @BeforeAll
    static void makeModel() throws Exception {
        JsonNode json = new ObjectMapper().readTree("""
                {"model_type": "olmoe", "vocab_size": 1024, "hidden_size": 256, "intermediate_size": 128,
                 "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "num_experts": 8,
                 "num_experts_per_tok": 2, "max_position_embeddings": 64, "initializer_range": 0.1,
                 "tie_word_embeddings": false}""");
        Path cfg = dir.resolve("config.json");
        Files.writeString(cfg, json.toString());
        model = dir.resolve("model");
        Init.run(Architectures.initPlan(json, cfg), json, DType.BF16, 7, Long.MAX_VALUE, model, false, 2);
    }

    static final int[] A = {5, 900, 17, 33, 250, 3, 77, 512, 8, 1000, 64, 2};
    static final int[] B = {11, 12, 13};
    static final int[] C = {400, 401, 402, 403, 404, 405, 406};

    /** Greedy continuation of A by steps: the logits of every step, A's prompt in chunks of `chunk` tokens. */
    static List<float[]> runA(MoeTransformer m, int chunk, boolean withOthers) {
        MoeModel.Session cache = m.newSharedCache(3 * 32, 32);
        List<float[]> out = new ArrayList<>();
        int aBase = 32, bBase = 0, cBase = 64;
        int aDone = 0, bDone = 0, cDone = 0;
        int[] aNext = null, bNext = null, cNext = null;
        for (int step = 0; out.size() < 10; step++) {
            List<MoeTransformer.StepSlice> slices = new ArrayList<>();
            boolean bIn = withOthers && step >= 1 && bDone < 20; // B joins late, C from the start
            boolean cIn = withOthers && cDone < 25;
            if (cIn) {
                int[] toks = cNext != null ? cNext : C;
                slices.add(new MoeTransformer.StepSlice(cBase, cDone, toks, true));
            }
            int[] aToks = aNext != null ? aNext : Arrays.copyOfRange(A, aDone, Math.min(A.length, aDone + chunk));
            boolean aLast = aNext != null || aDone + aToks.length == A.length;
            slices.add(new MoeTransformer.StepSlice(aBase, aDone, aToks, aLast));
            if (bIn) slices.add(new MoeTransformer.StepSlice(bBase, bDone, bNext != null ? bNext : B, true));
            float[] logits = m.step(cache, slices, null);
            int V = m.config().vocabSize();
            int row = 0;
            if (cIn) {
                cDone += cNext != null ? 1 : C.length;
                cNext = new int[] {Generation.argmax(Arrays.copyOfRange(logits, row * V, (row + 1) * V))};
                row++;
            }
            aDone += aToks.length;
            if (aLast) {
                float[] l = Arrays.copyOfRange(logits, row * V, (row + 1) * V);
                out.add(l);
                aNext = new int[] {Generation.argmax(l)};
                row++;
            }
            if (bIn) {
                bDone += bNext != null ? 1 : B.length;
                bNext = new int[] {Generation.argmax(Arrays.copyOfRange(logits, row * V, (row + 1) * V))};
            }
        }
        return out;
    }

    /**
     * Runs the kernels until C2 has compiled them: the interpreter and C1 run the Vector API's Java fallbacks, whose
     * lane reductions and exp add in another order than C2's intrinsics, so the first calls of a JVM round differently
     * from later ones whatever the batch (seen here: without this, even two runs of A alone differ in the last bits).
     * The server does the same before it listens.
     */
    static void warmUp(MoeTransformer m) {
        for (int i = 0; i < 30; i++) runA(m, 1 + i % 5, true);
    }

    @Test
    void aloneBatchedAndChunkedGiveBitIdenticalLogits() {
        try (MoeTransformer m = MoeTransformer.load(model, VectorKernels.batchInvariant())) {
            warmUp(m);
            List<float[]> alone = runA(m, A.length, false);
            for (int chunk : new int[] {1, 5, A.length}) {
                List<float[]> batched = runA(m, chunk, true);
                for (int i = 0; i < alone.size(); i++) {
                    assertArrayEquals(alone.get(i), batched.get(i), "step " + i + ", chunks of " + chunk);
                }
            }
        }
    }

    @Test
    void stepMatchesTheOneSequenceForwardPass() {
        try (MoeTransformer m = MoeTransformer.load(model, VectorKernels.batchInvariant())) {
            List<float[]> steps = runA(m, 4, true);
            MoeModel.Session s = m.newSession(32);
            float[] logits = m.forward(s, A, MoeModel.Logits.LAST, null);
            for (float[] expected : steps) {
                float[] want = logits.clone();
                for (int i = 0; i < want.length; i++) assertEquals(want[i], expected[i], 2e-4f, "logit " + i);
                logits = m.forward(s, new int[] {Generation.argmax(want)}, MoeModel.Logits.LAST, null);
            }
        }
    }

    /** Why the server needs batch-invariant kernels: the default ones round differently once tokens share a call. */
    @Test
    void defaultKernelsDependOnTheBatch() {
        Kernels k = new VectorKernels();
        try (MoeTransformer m = MoeTransformer.load(model, k)) {
            warmUp(m);
            List<float[]> alone = runA(m, A.length, false);
            List<float[]> batched = runA(m, 5, true);
            boolean differ = false;
            for (int i = 0; i < alone.size(); i++) differ |= !Arrays.equals(alone.get(i), batched.get(i));
            assertTrue(differ, "default kernels happened to round identically; the invariance test shows nothing");
        }
    }

    @Test
    void sliceOutsideTheCacheIsBadInput() {
        try (MoeTransformer m = MoeTransformer.load(model, VectorKernels.batchInvariant())) {
            MoeModel.Session cache = m.newSharedCache(16, 16);
            assertThrows(BadInputException.class, () -> m.step(cache,
                    List.of(new MoeTransformer.StepSlice(10, 4, new int[] {1, 2, 3}, true)), null));
            assertThrows(BadInputException.class, () -> m.newSharedCache(16, 65));
        }
    }
}
