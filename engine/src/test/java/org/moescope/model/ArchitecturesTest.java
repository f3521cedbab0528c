package org.moescope.model;

import org.moescope.model.family.Families;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.moescope.errors.BadInputException;
import org.moescope.kernels.VectorKernels;
import org.moescope.safetensors.DType;
import org.moescope.weights.ArchitectureSummary;
import org.moescope.weights.CheckpointWriter;
import org.moescope.weights.Init;
import org.moescope.weights.Verify;
import org.moescope.weights.WeightSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ArchitecturesTest {
    @TempDir
    Path dir;

    static JsonNode config(boolean tie) throws Exception {
        return new ObjectMapper().readTree("""
                {"model_type": "olmoe", "vocab_size": 50, "hidden_size": 16, "intermediate_size": 8,
                 "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "num_experts": 4,
                 "num_experts_per_tok": 2, "pad_token_id": 1, "initializer_range": 0.05,
                 "tie_word_embeddings": %s, "dtype": "float32"}""".formatted(tie));
    }

    @Test
    void initialisedCheckpointPassesVerifyAndRunsInTheEngine() throws Exception {
        for (boolean tie : List.of(false, true)) {
            JsonNode json = config(tie);
            Path ckpt = dir.resolve("tie-" + tie);
            Path cfg = dir.resolve("config-" + tie + ".json");
            Files.writeString(cfg, json.toString());
            Init.run(Architectures.initPlan(json, cfg), json, DType.BF16, 4, 5_000, ckpt, false, 2);
            try (WeightSource src = WeightSource.open(ckpt)) {
                Verify.Report r = Verify.run(src, Architectures.expectedTensors(src.config(), src.configPath()).shapes(), null);
                assertTrue(r.ok(), r.findings().toString());
                assertTrue(r.files() > 1, "sharded at 5 KB");
            }
            try (MoeTransformer m = MoeTransformer.load(ckpt, new VectorKernels())) {
                float[] logits = m.forward(m.newSession(8), new int[] {2, 7, 1, 49}, MoeTransformer.Logits.ALL, null);
                assertEquals(4 * 50, logits.length);
                double spread = 0;
                for (float x : logits) {
                    assertTrue(Float.isFinite(x));
                    spread += Math.abs(x - logits[0]);
                }
                assertTrue(spread > 0, "random weights give varied logits");
                float[] emb = m.checkpoint().readFloats("model.embed_tokens.weight");
                for (int i = 0; i < 16; i++) assertEquals(0f, emb[16 + i], "pad row zeroed like HF");
                double s2 = 0;
                for (float x : emb) s2 += x * x;
                assertEquals(0.05, Math.sqrt(s2 / (emb.length - 16)), 0.006);
            }
        }
    }

    @Test
    void describesTheArchitectureWithActiveParameters() throws Exception {
        JsonNode json = config(false);
        ArchitectureSummary a = Architectures.describe(json, Path.of("config.json"));
        assertNull(a.problem());
        long total = Families.parse(json, Path.of("c")).expectedTensors().values().stream()
                .mapToLong(s -> { long n = 1; for (long d : s) n *= d; return n; }).sum();
        assertEquals(total, a.expectedParameters());
        // per layer: 2 norms 32 + q,o 512 + k,v 256 + q_norm 16 + k_norm 8 + router 64 + 2 experts x 3 x 8 x 16 = 1656
        assertEquals(16 + 2 * 1656 + 16 + 50 * 16, a.activeParametersPerToken());
        assertEquals(2, a.facts().get("layers"));
        ArchitectureSummary other = Architectures.describe(new ObjectMapper().readTree("{\"model_type\":\"llama\"}"),
                Path.of("c"));
        assertTrue(other.problem().contains("supports model_type olmoe, flex_olmo, qwen2_moe"), other.problem());
        ArchitectureSummary broken = Architectures.describe(new ObjectMapper().readTree("{\"model_type\":\"olmoe\"}"),
                Path.of("c"));
        assertTrue(broken.problem().contains("missing field"), broken.problem());
    }

    @Test
    void readsConfigFilesAsBadInputWhenBroken() throws Exception {
        Path p = dir.resolve("c.json");
        Files.writeString(p, "{\"model_type\": ");
        assertTrue(assertThrows(BadInputException.class, () -> Architectures.readConfig(p)).getMessage()
                .contains("not valid JSON"));
        assertThrows(BadInputException.class, () -> Architectures.readConfig(dir.resolve("none.json")));
        Files.writeString(p, "{\"model_type\":\"olmoe\",\"initializer_range\":\"big\"}");
        JsonNode bad = Architectures.readConfig(p);
        assertThrows(BadInputException.class, () -> Architectures.initializerRange(bad, p));
        assertEquals(CheckpointWriter.DEFAULT_MAX_SHARD, 5_000_000_000L);
    }
}
