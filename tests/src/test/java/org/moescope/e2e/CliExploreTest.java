package org.moescope.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.moescope.routing.RouteFile;
import org.moescope.tokenizer.Tokenizer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;
import static org.moescope.e2e.CliTraceGenerateTest.fixtures;
import static org.moescope.e2e.CliTraceGenerateTest.run;

/** `explore` through the CLI entry point: a traced text file with its tokenizer, and every kind of bad input. */
class CliExploreTest {
    @TempDir
    Path dir;

    private static JsonNode data(Path html) throws Exception {
        String page = Files.readString(html);
        int at = page.indexOf("id=\"moe-data\">") + "id=\"moe-data\">".length();
        return new ObjectMapper().readTree(page.substring(at, page.indexOf("</script>", at)));
    }

    @Test
    void aTraceOfTextSamplesIsExploredWithItsTokensDecoded() throws Exception {
        Path tokenizer = fixtures().getParent().resolve("engine/src/test/resources/tokenizer/synthetic-tokenizer.json");
        Path config = dir.resolve("config.json");
        Files.writeString(config, """
                {"model_type": "olmoe", "vocab_size": 384, "hidden_size": 32, "intermediate_size": 16,
                 "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "num_experts": 4,
                 "num_experts_per_tok": 2, "max_position_embeddings": 64, "initializer_range": 0.5,
                 "eos_token_id": 335, "tie_word_embeddings": false}
                """);
        Path model = dir.resolve("model");
        assertEquals(0, run("weights", "init", "--config", config.toString(), "--out", model.toString(), "--seed", "3",
                "--dtype", "f32").status());
        Path samples = Files.writeString(dir.resolve("s.jsonl"), """
                {"id": "cat", "group": "animals", "text": "the cat sat on the mat"}
                {"id": "dog", "group": "animals", "text": "hello world, said the dog"}
                {"id": "sum", "group": "maths", "text": "one plus one is two"}
                """);
        Path routes = dir.resolve("r.safetensors");
        var t = run("trace", "--model", model.toString(), "--tokenizer", tokenizer.toString(), "--data", samples.toString(),
                "--out", routes.toString());
        assertEquals(0, t.status(), t.err());
        var e = run("explore", "--routes", routes.toString(), "--tokenizer", tokenizer.toString(), "--out",
                dir.resolve("x").toString());
        assertEquals(0, e.status(), e.err());
        Path html = dir.resolve("x/explorer.html");
        assertEquals(html.toString(), e.out().strip(), "the last line is the page");
        JsonNode d = data(html);
        assertEquals(3, d.get("samples").asInt());
        assertEquals(3, d.at("/detail/index").size(), "all samples have detail");
        assertEquals(List.of("all", "animals", "maths"), List.of(d.at("/groups/0/name").asText(), d.at("/groups/1/name").asText(),
                d.at("/groups/2/name").asText()));
        Tokenizer tok = Tokenizer.load(tokenizer);
        try (RouteFile f = RouteFile.open(routes)) {
            StringBuilder text = new StringBuilder();
            for (int id : f.inputIds(0)) text.append(d.at("/vocab/" + id).asText());
            assertEquals(tok.decode(f.inputIds(0), false), text.toString(), "token texts concatenate to the sample's text");
            assertTrue(text.toString().contains("the cat sat"), text.toString());
        }
        assertTrue(e.err().contains("per-sample detail for 3 samples"), e.err());
    }

    @Test
    void badInputIsOneLineAndExitTwo() throws Exception {
        Path a = dir.resolve("a.safetensors"), b = dir.resolve("b.safetensors");
        assertEquals(0, run("trace", "--model", fixtures().resolve("models/tiny-f32").toString(), "--tokens", "1,2,3",
                "--out", a.toString()).status());
        assertEquals(0, run("trace", "--model", fixtures().resolve("models/tiny-f32").toString(), "--data",
                fixtures().resolve("samples/tiny.jsonl").toString(), "--out", b.toString()).status());
        Path file = Files.writeString(dir.resolve("file"), "x");
        List<List<String>> cases = List.of(
                List.of("explore", "--routes", dir.resolve("missing.safetensors").toString()),
                List.of("explore", "--routes", a.toString(), b.toString(), "--out", dir.resolve("o").toString()),
                List.of("explore", "--routes", a.toString(), "--out", file.toString()),
                List.of("explore", "--routes", a.toString(), "--detail-mb", "-1"),
                List.of("explore", "--routes", a.toString(), "--tau", "0"),
                List.of("explore", "--routes", file.toString()),
                List.of("explore", "--routes", a.toString(), "--model", dir.resolve("nomodel").toString()));
        List<String> expected = List.of(
                "moescope: --routes " + dir.resolve("missing.safetensors") + ": no such file or directory",
                "moescope: " + b + ": has 6 samples of ",
                "moescope: --out " + file + ": is a file; explore writes a directory",
                "moescope: --detail-mb must be in [0, 1024]",
                "moescope: --tau must be in (0, 1], got 0.0",
                "moescope: " + file,
                "moescope: " + dir.resolve("nomodel") + ": no such file or directory");
        for (int i = 0; i < cases.size(); i++) {
            var r = run(cases.get(i).toArray(String[]::new));
            assertEquals(2, r.status(), cases.get(i) + ": " + r.err());
            assertEquals(1, r.err().strip().lines().count(), "one line: " + r.err());
            assertTrue(r.err().startsWith(expected.get(i)), cases.get(i) + " gave " + r.err());
        }
    }
}
