package org.moescope.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.moescope.routing.RouteFile;
import org.moescope.safetensors.SafetensorsFile;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;
import static org.moescope.e2e.CliTraceGenerateTest.fixtures;
import static org.moescope.e2e.CliTraceGenerateTest.run;

/**
 * Every command a user runs on a checkpoint, on one fixture of each family (f32, HF-made; see GoldenTest for the
 * numbers): trace → pathways and bound on its route file, generate, bench, the weights tools, and monitor over a
 * series that weights init makes from the family's config.json.
 */
class FamiliesEndToEndTest {
    @TempDir
    Path dir;

    static final ObjectMapper JSON = new ObjectMapper();

    @ParameterizedTest
    @ValueSource(strings = {"tiny-gqa-f32", "flex-olmo-f32", "qwen2-moe-f32", "qwen3-moe-f32", "mixtral-f32",
            "granitemoe-f32", "phimoe-f32", "glm4-moe-f32", "deepseek-v2-f32", "deepseek-v3-f32", "gpt-oss-f32",
            "gpt-oss-mxfp4", "qwen3-moe-yarn-f32"})
    void everyCommandRunsOnEveryFamily(String fixture) throws Exception {
        Path model = fixtures().resolve("models").resolve(fixture);
        JsonNode config = JSON.readTree(model.resolve("config.json").toFile());
        JsonNode golden = JSON.readTree(model.resolve("golden.json").toFile());
        int vocab = config.get("vocab_size").asInt();
        Path data = samples(vocab);

        // trace: one row per MoE layer, the family's router and MoE layers in the metadata
        Path routes = dir.resolve("routes.safetensors");
        var trace = run("trace", "--model", model.toString(), "--data", data.toString(), "--out", routes.toString(),
                "--save-hidden", "--save-router-logits");
        assertEquals(0, trace.status(), trace.err());
        int moeLayers;
        try (RouteFile f = RouteFile.open(routes)) {
            moeLayers = f.numLayers();
            String moe = f.metadata().get("moe_layers");
            JsonNode expected = golden.get("moe_layers"); // the OLMoE fixtures predate it: every layer is MoE there
            String every = Arrays.toString(java.util.stream.IntStream.range(0, config.get("num_hidden_layers").asInt())
                    .toArray());
            assertEquals((expected == null ? every : expected.toString()).replace(" ", ""), moe, fixture);
            assertEquals(JSON.readTree(moe).size(), moeLayers);
            assertNotNull(f.metadata().get("router_kind"));
            assertEquals(fixture.startsWith("qwen2-moe"), f.has(RouteFile.Field.SHARED_EXPERT_GATE), "shared gate");
            if (f.has(RouteFile.Field.SHARED_EXPERT_GATE)) {
                for (float g : f.sharedExpertGate(0)) assertTrue(g > 0 && g < 1, "a sigmoid gate: " + g);
            }
        }

        var pathways = run("pathways", "--routes", routes.toString(), "--model", model.toString(), "--out",
                dir.resolve("pathways.json").toString());
        assertEquals(0, pathways.status(), pathways.err());
        assertEquals(8, JSON.readTree(dir.resolve("pathways.json").toFile()).get("samples").size(), pathways.out());

        var bound = run("bound", "--routes", routes.toString(), "--layer", Integer.toString(moeLayers - 1),
                "--lambda-relative", "--json");
        assertEquals(0, bound.status(), bound.err());
        assertEquals(8, JSON.readTree(bound.out()).get("n").asInt());

        // generate: HF's greedy continuation
        int[] ids, greedy;
        try (SafetensorsFile g = SafetensorsFile.open(model.resolve("golden.safetensors"))) {
            ids = Arrays.copyOf(g.readInts("input_ids"), 8);
            greedy = Arrays.copyOf(g.readInts("greedy_ids"), 10);
        }
        var generate = run("generate", "--model", model.toString(), "--tokens",
                String.join(",", Arrays.stream(ids).mapToObj(Integer::toString).toList()), "--max-new-tokens", "10");
        assertEquals(0, generate.status(), generate.err());
        assertEquals(Arrays.toString(greedy).replace(" ", ""), generate.out().strip());

        var bench = run("bench", "--model", model.toString(), "--samples", "2", "--sample-tokens", "8",
                "--decode-tokens", "4", "--warmup", "0");
        assertEquals(0, bench.status(), bench.err());

        // weights: inspect, verify, convert, diff, init (from the family's config.json) and verify what init wrote
        var inspect = run("weights", "inspect", model.toString());
        assertEquals(0, inspect.status(), inspect.err());
        assertTrue(inspect.out().contains("architecture  " + config.get("model_type").asText()), inspect.out());
        assertFalse(inspect.out().contains("no parameter counts"), inspect.out());
        assertEquals(0, run("weights", "verify", model.toString()).status());
        Path bf16 = dir.resolve("bf16");
        assertEquals(0, run("weights", "convert", model.toString(), "--dtype", "bf16", "--out", bf16.toString()).status());
        assertEquals(0, run("weights", "verify", bf16.toString()).status());
        var diff = run("weights", "diff", model.toString(), bf16.toString(), "--out", dir.resolve("diff").toString());
        assertEquals(0, diff.status(), diff.err());

        // monitor over three checkpoints that weights init makes from this config
        Path series = Files.createDirectory(dir.resolve("series"));
        for (int i = 1; i <= 3; i++) {
            var init = run("weights", "init", "--config", model.resolve("config.json").toString(), "--out",
                    series.resolve(String.format("step-%04d", 100 * i)).toString(), "--seed", Integer.toString(i),
                    "--dtype", "f32");
            assertEquals(0, init.status(), init.err());
        }
        assertEquals(0, run("weights", "verify", series.resolve("step-0100").toString()).status());
        var monitor = run("monitor", "--checkpoints", series.toString(), "--data", data.toString(), "--out",
                dir.resolve("report").toString(), "--max-pairs", "20000", "--epsilon", "5");
        assertEquals(0, monitor.status(), monitor.err());
        assertTrue(Files.exists(dir.resolve("report/report.html")));
    }

    /** Eight samples of random ids below the vocabulary, two groups. */
    private Path samples(int vocab) throws Exception {
        SplittableRandom r = new SplittableRandom(7);
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            int[] ids = r.ints(5 + r.nextInt(8), 0, vocab).toArray();
            lines.add("{\"id\":\"s" + i + "\",\"group\":\"" + (i < 4 ? "a" : "b") + "\",\"ids\":" + Arrays.toString(ids) + "}");
        }
        return Files.write(dir.resolve("samples.jsonl"), lines);
    }
}
