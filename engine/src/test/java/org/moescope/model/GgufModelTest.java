package org.moescope.model;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.moescope.errors.BadInputException;
import org.moescope.kernels.VectorKernels;
import org.moescope.safetensors.DType;
import org.moescope.safetensors.SafetensorsFile;
import org.moescope.weights.GgufConvert;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** GGUF files (written by weights convert --to gguf) through the forward pass, against the safetensors models. */
class GgufModelTest {
    @TempDir
    Path dir;

    private static float[] logits(Path model, int[] ids) {
        try (MoeTransformer m = MoeTransformer.load(model, new VectorKernels())) {
            return m.forward(m.newSession(ids.length), ids, MoeModel.Logits.ALL, null);
        }
    }

    private static int[] ids(Path fixture) {
        try (SafetensorsFile golden = SafetensorsFile.open(fixture.resolve("golden.safetensors"))) {
            return golden.readInts("input_ids");
        }
    }

    /** F32/BF16 GGUF: the same values in the same kernels, so the same logits up to float ulps (Mixtral: q/k un-permuted). */
    @ParameterizedTest
    @ValueSource(strings = {"tiny-f32", "qwen3-moe-f32", "mixtral-f32", "tiny-bf16"})
    void f32AndBf16GgufGiveTheSafetensorsLogits(String fixture) throws Exception {
        Path source = Fixtures.model(fixture);
        if (fixture.startsWith("mixtral")) {
            source = withoutSlidingWindow(source); // llama.cpp's llama architecture has no sliding window
        }
        Path gguf = dir.resolve(fixture + ".gguf");
        GgufConvert.toGguf(source, gguf, fixture.endsWith("bf16") ? "bf16" : "f32", false);
        int[] ids = ids(source);
        float[] expected = logits(source, ids), got = logits(gguf, ids);
        // The same values through the same kernels, bit for bit: every lane sum has one order (VectorKernels.sumLanes)
        // and every exp is one fixed polynomial (kernels/Exp), so how much of each run met JIT-compiled kernels no
        // longer moves the last bits (it did, by up to 4e-6 under load, with reduceLanes(ADD) and the Vector API's EXP).
        assertArrayEquals(expected, got, fixture);
    }

    /**
     * A quantised GGUF computes what its dequantised copy (GGUF → F32 safetensors, through gguf-py-exact decoders)
     * computes: the kernels read the blocks directly, so only the order of float additions may differ (1e-4).
     */
    @ParameterizedTest
    @ValueSource(strings = {"q8_0", "q4_0", "q4_k_m"})
    void quantisedGgufComputesAsItsDequantisedWeights(String type) {
        Path source = Fixtures.model("qwen3-moe-f32");
        Path gguf = dir.resolve(type + ".gguf");
        GgufConvert.toGguf(source, gguf, type, false);
        Path back = dir.resolve(type + "-f32");
        GgufConvert.fromGguf(gguf, back, DType.F32, 1L << 30, false);
        int[] ids = ids(source);
        float[] q = logits(gguf, ids), f = logits(back, ids);
        for (int i = 0; i < q.length; i++) {
            assertEquals(f[i], q[i], 1e-4f * (1 + Math.abs(f[i])), type + " logit " + i);
        }
        // What bench reports as the model's dtype: the experts' storage, most bytes first, not the float type they came
        // from. The fixture's expert matrices are not all whole Q4_K blocks (256 columns) nor Q8_0 blocks (32), so
        // GgufConvert's fallbacks (Q8_0, then F16) show in the mix.
        String expected = switch (type) {
            case "q8_0" -> "q8_0+float16";
            case "q4_0" -> "float16+q4_0";
            default -> "q8_0+float16";
        };
        assertEquals(expected, storage(gguf));
        assertEquals("float32", storage(back));
    }

    private static String storage(Path model) {
        try (MoeTransformer m = MoeTransformer.load(model, new VectorKernels())) {
            return m.weightStorage();
        }
    }

    /**
     * llama.cpp's olmoe loader requires output.weight (no fallback to token_embd), so a tied checkpoint (tiny-gqa-f32)
     * gets the embedding's copy as its lm_head: the same logits, read back as an untied model.
     */
    @Test
    void tiedEmbeddingsAreWrittenAsOutputWeightForLlamaCpp() {
        Path source = Fixtures.model("tiny-gqa-f32");
        Path gguf = dir.resolve("tied.gguf");
        GgufConvert.toGguf(source, gguf, "f32", false);
        try (org.moescope.gguf.GgufFile f = org.moescope.gguf.GgufFile.open(gguf)) {
            assertTrue(f.contains("output.weight"));
            assertEquals(-1L, f.segment("output.weight").mismatch(f.segment("token_embd.weight")));
        }
        int[] ids = ids(source);
        float[] expected = logits(source, ids), got = logits(gguf, ids);
        for (int i = 0; i < got.length; i++) {
            assertEquals(expected[i], got[i], 1e-5f * (1 + Math.abs(expected[i])), "logit " + i);
        }
    }

    private Path withoutSlidingWindow(Path source) throws java.io.IOException {
        Path copy = dir.resolve("no-window");
        java.nio.file.Files.createDirectories(copy);
        for (String f : new String[] {"model.safetensors", "golden.safetensors"}) {
            java.nio.file.Files.copy(source.resolve(f), copy.resolve(f));
        }
        var c = (com.fasterxml.jackson.databind.node.ObjectNode) new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(source.resolve("config.json").toFile());
        c.putNull("sliding_window");
        java.nio.file.Files.writeString(copy.resolve("config.json"), c.toString());
        return copy;
    }

    @Test
    void anUnsupportedArchitectureIsOneLine() throws Exception {
        Path gguf = dir.resolve("x.gguf");
        new org.moescope.gguf.GgufWriter().put("general.architecture", org.moescope.gguf.GgufValue.of("gpt2")).write(gguf);
        BadInputException e = assertThrows(BadInputException.class, () -> MoeTransformer.load(gguf, new VectorKernels()));
        assertTrue(e.getMessage().startsWith(gguf + ": metadata 'general.architecture' = gpt2"), e.getMessage());
    }
}
