package org.moescope.e2e;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.moescope.cli.Main;
import org.moescope.routing.RouteFile;
import org.moescope.safetensors.SafetensorsFile;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** trace and generate through the CLI entry point, on the committed fixtures, including every kind of bad input. */
class CliTraceGenerateTest {
    @TempDir
    Path dir;

    record Run(int status, String out, String err) {
    }

    static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int status = Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Run(status, out.toString(), err.toString());
    }

    static Path fixtures() {
        Path p = Path.of("").toAbsolutePath();
        while (!Files.isDirectory(p.resolve("fixtures/models"))) p = p.getParent();
        return p.resolve("fixtures");
    }

    @Test
    void traceWritesARouteFileForTheBundledSamples() {
        Path out = dir.resolve("routes.safetensors");
        Run r = run("trace", "--model", fixtures().resolve("models/tiny-f32").toString(),
                "--data", fixtures().resolve("samples/tiny.jsonl").toString(), "--out", out.toString(), "--save-router-logits");
        assertEquals(0, r.status(), r.err());
        assertEquals(out.toString(), r.out().strip());
        try (RouteFile f = RouteFile.open(out)) {
            assertEquals(6, f.numSamples());
            assertEquals(List.of("a", "a", "a", "b", "b", "b"), f.sampleGroups());
            assertTrue(f.has(RouteFile.Field.ROUTER_LOGITS));
            assertEquals("moescope-routes", f.metadata().get("format"));
        }
    }

    @Test
    void outputPathsOfTheWrongKindAreOneLineOfBadInput() throws Exception {
        Path routesDir = Files.createDirectory(dir.resolve("routes"));
        Run trace = run("trace", "--model", fixtures().resolve("models/tiny-f32").toString(),
                "--data", fixtures().resolve("samples/tiny.jsonl").toString(), "--out", routesDir.toString());
        assertEquals(2, trace.status(), trace.err());
        assertTrue(trace.err().strip().endsWith("is a directory; give the route file's path"), trace.err());
        Path file = Files.writeString(dir.resolve("report"), "x");
        Run monitor = run("monitor", "--out", file.toString());
        assertEquals(2, monitor.status(), monitor.err());
        assertTrue(monitor.err().strip().endsWith("is a file; monitor writes a directory"), monitor.err());
    }

    @Test
    void generateContinuesLikeHf() {
        Path model = fixtures().resolve("models/tiny-gqa-f32");
        int[] ids;
        int[] greedy;
        try (SafetensorsFile g = SafetensorsFile.open(model.resolve("golden.safetensors"))) {
            ids = Arrays.copyOf(g.readInts("input_ids"), 8);
            greedy = Arrays.copyOf(g.readInts("greedy_ids"), 10);
        }
        String prompt = String.join(",", Arrays.stream(ids).mapToObj(Integer::toString).toList());
        Run r = run("generate", "--model", model.toString(), "--tokens", prompt, "--max-new-tokens", "10");
        assertEquals(0, r.status(), r.err());
        assertEquals(Arrays.toString(greedy).replace(" ", ""), r.out().strip());
        assertTrue(r.err().contains("tok/s"), r.err());
    }

    @Test
    void badInputGivesOneLineAndStatusTwoAndNoOutput() throws Exception {
        Path good = fixtures().resolve("models/tiny-f32");
        Path out = dir.resolve("never.safetensors");
        String config = Files.readString(good.resolve("config.json"));

        expectBad(run("trace", "--model", copyWith(good, "llama4", config.replace("\"olmoe\"", "\"llama4_text\"")).toString(),
                "--tokens", "1,2", "--out", out.toString()), "unsupported architecture llama4_text; supported: olmoe, "
                + "flex_olmo, qwen2_moe, qwen3_moe, mixtral, granitemoe, phimoe, glm4_moe, deepseek_v2, deepseek_v3", out);
        // a family's config with the tensors of another: the first tensor the family does not expect is named
        expectBad(run("trace", "--model", copyWith(good, "mixtral", config.replace("\"olmoe\"", "\"mixtral\"")).toString(),
                "--tokens", "1,2", "--out", out.toString()), "unexpected tensor 'model.layers.0.mlp.experts.0.down_proj.weight' "
                + "for a mixtral config.json", out);
        expectBad(run("trace", "--model", copyWith(good, "layers", config.replaceFirst("\"num_hidden_layers\": 3",
                "\"num_hidden_layers\": 4")).toString(), "--tokens", "1,2", "--out", out.toString()),
                "missing tensor 'model.layers.3.input_layernorm.weight'", out);
        expectBad(run("trace", "--model", copyWith(good, "shape", config.replaceFirst("\"intermediate_size\": 32",
                "\"intermediate_size\": 16")).toString(), "--tokens", "1,2", "--out", out.toString()),
                "has shape [32, 64], config.json implies [16, 64]", out);
        expectBad(run("trace", "--model", copyWith(good, "nofield", config.replaceFirst("\"hidden_size\": 64,", "")).toString(),
                "--tokens", "1,2", "--out", out.toString()), "missing field \"hidden_size\"", out);
        expectBad(run("trace", "--model", good.toString(), "--tokens", "1,192", "--out", out.toString()),
                "token id 192 is out of range [0, 192)", out);
        Path jsonl = dir.resolve("bad.jsonl");
        Files.writeString(jsonl, "{\"ids\": [1, 2]}\n{\"ids\": [3,\n");
        expectBad(run("trace", "--model", good.toString(), "--data", jsonl.toString(), "--out", out.toString()),
                jsonl + ":2: not valid JSON", out);
        Files.writeString(jsonl, "{\"ids\": []}\n");
        expectBad(run("trace", "--model", good.toString(), "--data", jsonl.toString(), "--out", out.toString()),
                jsonl + ":1: empty sample", out);
        expectBad(run("generate", "--model", good.toString(), "--tokens", "1,x"), "--tokens: \"x\" is not a token id", null);
        expectBad(run("generate", "--model", good.toString(), "--prompt", "hello"), "needs a tokenizer", null);
        expectBad(run("trace", "--model", good.toString()), "Missing required", null);
    }

    private Path copyWith(Path src, String name, String config) throws Exception {
        Path d = dir.resolve(name);
        Files.createDirectories(d);
        Files.copy(src.resolve("model.safetensors"), d.resolve("model.safetensors"));
        Files.writeString(d.resolve("config.json"), config);
        return d;
    }

    private static void expectBad(Run r, String expected, Path out) {
        assertEquals(2, r.status(), r.err());
        assertTrue(r.err().contains(expected), r.err());
        assertFalse(r.err().contains("\tat "), "no stack trace: " + r.err());
        String first = r.err().lines().findFirst().orElse("");
        assertTrue(first.startsWith("moescope: "), r.err());
        if (out != null) {
            assertFalse(Files.exists(out), "no output file on failure");
        }
    }
}
