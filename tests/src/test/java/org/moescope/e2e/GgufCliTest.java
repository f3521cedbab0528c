package org.moescope.e2e;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.moescope.routing.RouteFile;
import org.moescope.tokenizer.Tokenizer;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;
import static org.moescope.e2e.CliTraceGenerateTest.run;

/**
 * `weights convert --to gguf` (f32, q8_0, q4_k_m) of a checkpoint with a tokenizer.json, back to safetensors, and
 * `generate --prompt` / `trace` on the .gguf with the tokenizer the file carries; a truncated file is one line of bad
 * input.
 */
class GgufCliTest {
    @TempDir
    static Path dir;
    static Path model;
    static Path tokenizer;

    @BeforeAll
    static void makeModel() throws Exception {
        tokenizer = CliGenerateTextTest.syntheticTokenizer();
        model = CliGenerateTextTest.syntheticTextModel(dir, 64);
        Files.copy(tokenizer, model.resolve("tokenizer.json"));
    }

    private static String generate(Path m, String... tokenizerArgs) {
        String[] base = {"generate", "--model", m.toString(), "--prompt", "the cat sat", "--max-new-tokens", "12"};
        String[] args = java.util.stream.Stream.concat(java.util.Arrays.stream(base),
                java.util.Arrays.stream(tokenizerArgs)).toArray(String[]::new);
        var r = run(args);
        assertEquals(0, r.status(), r.err());
        return r.out();
    }

    @ParameterizedTest
    @ValueSource(strings = {"f32", "q8_0", "q4_k_m"})
    void convertRunAndConvertBack(String dtype) throws Exception {
        Path gguf = dir.resolve("model-" + dtype + ".gguf");
        var c = run("weights", "convert", model.toString(), "--to", "gguf", "--dtype", dtype, "--out", gguf.toString());
        assertEquals(0, c.status(), c.err());
        assertTrue(c.out().contains("tokenizer: olmo"), c.out());

        // The .gguf carries its tokenizer: --prompt works without --tokenizer, and gives what the source's does.
        String fromGguf = generate(gguf);
        String viaJson = generate(gguf, "--tokenizer", tokenizer.toString());
        assertEquals(viaJson, fromGguf);
        if (dtype.equals("f32")) {
            assertEquals(generate(model), fromGguf, "an F32 GGUF generates as its source");
        }

        Path back = dir.resolve("back-" + dtype);
        var b = run("weights", "convert", gguf.toString(), "--dtype", "f32", "--out", back.toString());
        assertEquals(0, b.status(), b.err());
        // Back in safetensors: the dequantised weights generate as the GGUF file does.
        assertEquals(fromGguf, generate(back, "--tokenizer", tokenizer.toString()));

        Path data = dir.resolve("text-" + dtype + ".jsonl");
        Files.writeString(data, "{\"id\": \"t\", \"text\": \"hello world\"}\n");
        Path routes = dir.resolve("routes-" + dtype + ".safetensors");
        var t = run("trace", "--model", gguf.toString(), "--data", data.toString(), "--out", routes.toString());
        assertEquals(0, t.status(), t.err());
        try (RouteFile rf = RouteFile.open(routes)) {
            assertArrayEquals(Tokenizer.load(tokenizer).encodeIds("hello world"), rf.inputIds(0));
        }
    }

    @Test
    void truncatedGgufIsOneLineOfBadInput() throws Exception {
        Path gguf = dir.resolve("whole.gguf");
        assertEquals(0, run("weights", "convert", model.toString(), "--to", "gguf", "--dtype", "q8_0", "--out",
                gguf.toString()).status());
        byte[] all = Files.readAllBytes(gguf);
        for (int keep : new int[] {all.length / 2, 100}) {
            Path cut = dir.resolve("cut-" + keep + ".gguf");
            Files.write(cut, java.util.Arrays.copyOf(all, keep));
            for (String[] args : new String[][] {
                    {"generate", "--model", cut.toString(), "--prompt", "the cat", "--max-new-tokens", "2"},
                    {"weights", "convert", cut.toString(), "--dtype", "f32", "--out", dir.resolve("x" + keep).toString()}}) {
                var r = run(args);
                assertEquals(2, r.status(), r.err());
                assertEquals(1, r.err().strip().lines().count(), r.err());
                assertTrue(r.err().startsWith("moescope: ") && r.err().contains(cut.toString()), r.err());
                assertFalse(Files.exists(dir.resolve("x" + keep)), "no half-written output");
            }
        }
    }

    /**
     * `weights init --to gguf` writes what `weights init --dtype f32` followed by `weights convert --to gguf` writes,
     * byte for byte (the same values, quantised the same way, in the same order), without the float checkpoint; the
     * file runs; an unknown type is one line of bad input with no file left.
     */
    @Test
    void initToGgufIsInitThenConvert() throws Exception {
        Path config = dir.resolve("qwen3-moe-init.json");
        Files.writeString(config, """
                {"architectures": ["Qwen3MoeForCausalLM"], "model_type": "qwen3_moe", "hidden_size": 256,
                 "intermediate_size": 512, "moe_intermediate_size": 256, "num_hidden_layers": 2,
                 "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 64, "num_experts": 4,
                 "num_experts_per_tok": 2, "norm_topk_prob": true, "vocab_size": 300, "max_position_embeddings": 128,
                 "rms_norm_eps": 1e-06, "rope_theta": 1000000.0, "tie_word_embeddings": false, "mlp_only_layers": [],
                 "decoder_sparse_step": 1, "initializer_range": 0.02}
                """);
        Path f32 = dir.resolve("init-f32");
        var i = run("weights", "init", "--config", config.toString(), "--out", f32.toString(), "--dtype", "f32",
                "--seed", "7");
        assertEquals(0, i.status(), i.err());
        Path converted = dir.resolve("init-converted.gguf");
        var c = run("weights", "convert", f32.toString(), "--to", "gguf", "--dtype", "q4_k_m", "--out",
                converted.toString());
        assertEquals(0, c.status(), c.err());
        Path direct = dir.resolve("init-direct.gguf");
        var d = run("weights", "init", "--config", config.toString(), "--to", "gguf", "--dtype", "q4_k_m", "--seed",
                "7", "--threads", "3", "--out", direct.toString());
        assertEquals(0, d.status(), d.err());
        assertArrayEquals(Files.readAllBytes(converted), Files.readAllBytes(direct));
        var g = run("generate", "--model", direct.toString(), "--tokens", "1,2,3", "--max-new-tokens", "4");
        assertEquals(0, g.status(), g.err());

        Path bad = dir.resolve("init-bad.gguf");
        var b = run("weights", "init", "--config", config.toString(), "--to", "gguf", "--dtype", "q9_9", "--seed", "7",
                "--out", bad.toString());
        assertEquals(2, b.status(), b.err());
        assertEquals(1, b.err().strip().lines().count(), b.err());
        assertTrue(b.err().contains("--dtype q9_9"), b.err());
        assertFalse(Files.exists(bad));
    }
}
