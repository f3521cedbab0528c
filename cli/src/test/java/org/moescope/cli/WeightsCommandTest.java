package org.moescope.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

import static org.moescope.cli.CliRun.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class WeightsCommandTest {
    @TempDir
    Path dir;


    private static void assertOneLineError(CliRun o, String fragment) {
        assertEquals(Main.EXIT_BAD_INPUT, o.status(), o.err());
        assertEquals(1, o.err().lines().count(), o.err());
        assertTrue(o.err().contains(fragment), "expected '" + fragment + "' in " + o.err());
    }

    private Path config() throws IOException {
        Path p = dir.resolve("config.json");
        Files.writeString(p, """
                {"model_type": "olmoe", "vocab_size": 40, "hidden_size": 16, "intermediate_size": 8,
                 "num_hidden_layers": 3, "num_attention_heads": 4, "num_key_value_heads": 4, "num_experts": 4,
                 "num_experts_per_tok": 2, "pad_token_id": 1, "torch_dtype": "bfloat16"}""");
        return p;
    }

    private Path init(String name, int seed, String dtype) throws IOException {
        Path out = dir.resolve(name);
        CliRun o = run("weights", "init", "--config", config().toString(), "--out", out.toString(), "--seed",
                Integer.toString(seed), "--dtype", dtype, "--max-shard-size", "8KB");
        assertEquals(0, o.status(), o.err());
        assertTrue(o.out().startsWith("wrote " + out), o.out());
        return out;
    }

    @Test
    void initInspectVerifyConvertRoundTrip() throws IOException {
        Path a = init("a", 1, "f32");
        CliRun inspect = run("weights", "inspect", a.toString());
        assertEquals(0, inspect.status(), inspect.err());
        assertTrue(inspect.out().contains("architecture  olmoe") && inspect.out().contains("active per token"),
                inspect.out());
        CliRun json = run("weights", "inspect", "--json", a.toString());
        JsonNode parsed = new ObjectMapper().readTree(json.out());
        assertTrue(parsed.get("parameters").get("active_per_token").longValue() < parsed.get("parameters").get("total").longValue());
        assertEquals(parsed.get("parameters").get("total"), parsed.get("parameters").get("expected_from_config"));

        CliRun verify = run("weights", "verify", "--write-manifest", a.toString());
        assertEquals(0, verify.status(), verify.out() + verify.err());
        assertTrue(verify.out().contains("shapes checked against config.json") && verify.out().endsWith("OK\n"),
                verify.out());
        assertTrue(Files.exists(a.resolve("SHA256SUMS")));
        CliRun again = run("weights", "verify", a.toString());
        assertTrue(again.out().contains("files checked"), again.out());

        Path b = dir.resolve("b");
        CliRun convert = run("weights", "convert", a.toString(), "--dtype", "bf16", "--out", b.toString());
        assertEquals(0, convert.status(), convert.err());
        assertTrue(convert.out().contains("converted to bfloat16"), convert.out());
        assertEquals(0, run("weights", "verify", b.toString()).status());
        assertOneLineError(run("weights", "convert", a.toString(), "--dtype", "f16", "--out", b.toString()),
                "use --force");
        assertEquals(0, run("weights", "convert", a.toString(), "--dtype", "f16", "--out", b.toString(), "--force").status());
    }

    @Test
    void verifyFailsWithExitTwoOnCorruptedBytesAndNaN() throws IOException {
        Path a = init("a", 1, "f32");
        assertEquals(0, run("weights", "verify", "--write-manifest", a.toString()).status());
        Path shard;
        try (var files = Files.list(a)) {
            shard = files.filter(p -> p.getFileName().toString().startsWith("model-00001-of-")).findFirst().orElseThrow();
        }
        try (FileChannel ch = FileChannel.open(shard, StandardOpenOption.WRITE)) {
            // the last 4 bytes of the shard are the last element of its last tensor: make it a NaN
            ch.write(java.nio.ByteBuffer.wrap(new byte[] {0, 0, (byte) 0xC0, 0x7F}), Files.size(shard) - 4);
        }
        CliRun o = run("weights", "verify", a.toString());
        assertOneLineError(o, "verification failed with 2 error(s)");
        assertTrue(o.out().contains("error [values]") && o.out().contains("1 NaN and 0 Inf"), o.out());
        assertTrue(o.out().contains("error [manifest] " + shard.getFileName()), o.out());
    }

    @Test
    void diffPairAndSeriesWriteTablesCsvAndCharts() throws IOException {
        Path a = init("step-1", 1, "f32");
        Path b = init("step-2", 2, "bf16");
        Path c = init("step-3", 3, "f32");
        Path report = dir.resolve("report");
        CliRun pair = run("weights", "diff", a.toString(), b.toString(), "--out", report.toString());
        assertEquals(0, pair.status(), pair.err());
        assertTrue(pair.out().contains("router") && pair.out().contains("by layer"), pair.out());
        for (String f : List.of("diff.csv", "diff-groups.csv", "diff.png")) {
            assertTrue(Files.size(report.resolve(f)) > 0, f);
        }
        CliRun series = run("weights", "diff", "--series", a.toString(), b.toString(), c.toString(), "--out",
                report.toString());
        assertEquals(0, series.status(), series.err());
        assertTrue(series.out().contains("parameter dynamics over 3 checkpoints"), series.out());
        assertTrue(Files.readString(report.resolve("table3.csv")).contains("experts,all,2,"));
        assertOneLineError(run("weights", "diff", a.toString()), "exactly two checkpoints");
        assertOneLineError(run("weights", "diff", "--series", a.toString()), "at least two checkpoints");
    }

    /** The checkpoints HF transformers wrote under fixtures/models (make_fixtures.py) pass verify and inspect. */
    @Test
    void hfWrittenFixturesVerifyAndInspect() throws IOException {
        List<Path> models;
        try (var s = Files.list(Path.of("..", "fixtures", "models"))) {
            models = s.filter(p -> Files.exists(p.resolve("config.json"))).sorted().toList();
        }
        assertTrue(models.size() >= 3, models.toString());
        for (Path m : models) {
            CliRun v = run("weights", "verify", m.toString());
            assertEquals(0, v.status(), m + ": " + v.out() + v.err());
            assertTrue(v.out().contains("shapes checked against config.json"), v.out());
            CliRun i = run("weights", "inspect", "--json", m.toString());
            JsonNode j = new ObjectMapper().readTree(i.out());
            // A multi-token-prediction layer (glm4-moe-bf16, deepseek-v3-bf16) is stored but not part of what
            // config.json's model runs.
            JsonNode p = j.get("parameters");
            long unused = p.has("not_used_by_inference") ? p.get("not_used_by_inference").asLong() : 0;
            assertEquals(m.toString().contains("glm4-moe-bf16") || m.toString().contains("deepseek-v3-bf16"), unused > 0,
                    m.toString());
            assertEquals(p.get("expected_from_config").asLong(), p.get("total").asLong() - unused, m.toString());
        }
    }

    @Test
    void badOptionsAreOneLineErrors() throws IOException {
        Path a = init("a", 1, "bf16");
        assertOneLineError(run("weights", "convert", a.toString(), "--dtype", "int8", "--out", dir.resolve("x").toString()),
                "--dtype int8");
        assertOneLineError(run("weights", "convert", a.toString(), "--dtype", "bf16", "--out", dir.resolve("x").toString(),
                "--max-shard-size", "lots"), "--max-shard-size lots");
        assertOneLineError(run("weights", "init", "--config", dir.resolve("nope.json").toString(), "--out",
                dir.resolve("y").toString(), "--seed", "1"), "nope.json: no such file");
        Files.writeString(dir.resolve("llama.json"), "{\"model_type\": \"llama\"}");
        assertOneLineError(run("weights", "init", "--config", dir.resolve("llama.json").toString(), "--out",
                dir.resolve("y").toString(), "--seed", "1"), "unsupported architecture llama");
        assertOneLineError(run("weights", "verify", a.resolve("model.safetensors").toString()),
                "not a checkpoint directory");
        assertOneLineError(run("weights", "inspect", dir.resolve("missing").toString()), "no such file");
        assertFalse(Files.exists(dir.resolve("x")) || Files.exists(dir.resolve("y")));
    }
}
