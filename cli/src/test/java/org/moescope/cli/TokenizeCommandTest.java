package org.moescope.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.moescope.cli.CliRun.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class TokenizeCommandTest {
    /** The synthetic tokenizer committed with the engine's tests (the CLI tests run in cli/). */
    private static final Path SYNTHETIC = Path.of("..", "engine", "src", "test", "resources", "tokenizer",
            "synthetic-tokenizer.json").toAbsolutePath().normalize();

    @TempDir
    Path dir;


    @Test
    void encodesEachTextOnItsOwnLine() {
        // Expected ids and tokens: HF tokenizers on the same file (synthetic-golden.jsonl).
        CliRun o = run("tokenize", "--tokenizer", SYNTHETIC.toString(), "Hello world", "Hi  Hello");
        assertEquals(0, o.status(), o.err());
        assertEquals("[39,68,320,78,265,272,75,67]\n[39,72,338,39,68,320,78]\n", o.out());
        CliRun t = run("tokenize", "--tokenizer", SYNTHETIC.toString(), "--tokens", "Hello world");
        assertEquals(0, t.status(), t.err());
        assertEquals("[\"H\",\"e\",\"ll\",\"o\",\"Ġw\",\"or\",\"l\",\"d\"]\n", t.out());
    }

    @Test
    void decodesIdArrays() {
        CliRun o = run("tokenize", "--tokenizer", SYNTHETIC.toString(), "--decode", "[39,68,320,78,265,272,75,67]",
                "[]", "[335, 39]");
        assertEquals(0, o.status(), o.err());
        assertEquals("Hello world\n\n<|endoftext|>H\n", o.out());
        CliRun skip = run("tokenize", "--tokenizer", SYNTHETIC.toString(), "--decode", "--skip-special", "[335,39]");
        assertEquals("H\n", skip.out());
    }

    @Test
    void modelDirectoryAndFiles() throws Exception {
        Files.copy(SYNTHETIC, dir.resolve("tokenizer.json"));
        Path text = dir.resolve("text.txt");
        Files.writeString(text, "Hello world", StandardCharsets.UTF_8);
        CliRun o = run("tokenize", "--model", dir.toString(), "--file", text.toString());
        assertEquals(0, o.status(), o.err());
        assertEquals("[39,68,320,78,265,272,75,67]\n", o.out());
    }

    @Test
    void olmoe() {
        Path olmoe = Path.of("..", "..", "shared", "fixtures", "olmoe-1b-7b-0924-tokenizer.json").toAbsolutePath()
                .normalize();
        assumeTrue(Files.isRegularFile(olmoe), "skipped: " + olmoe + " not found (shared fixtures)");
        CliRun o = run("tokenize", "--tokenizer", olmoe.toString(), "A sample test", "Hi  Hello");
        assertEquals(0, o.status(), o.err());
        assertEquals("[34,3410,1071]\n[12764,50276,12092]\n", o.out());
    }

    /** Every real family's tokenizer.json in a model directory: the ids HF gives (engine's golden files). */
    @Test
    void realFamiliesFromModelDirectories() throws Exception {
        Path shared = Path.of("..", "..", "shared", "fixtures", "tokenizers").toAbsolutePath().normalize();
        assumeTrue(Files.isDirectory(shared), "skipped: " + shared + " not found (shared fixtures)");
        for (String name : java.util.List.of("qwen3", "deepseek-v3", "llama3.1", "gpt-oss", "llama2-spm")) {
            Path model = Files.createDirectories(dir.resolve(name));
            Files.createSymbolicLink(model.resolve("tokenizer.json"), shared.resolve(name).resolve("tokenizer.json"));
            Path golden = SYNTHETIC.resolveSibling(name + "-golden.jsonl");
            var json = new com.fasterxml.jackson.databind.ObjectMapper();
            // Line 5 of every golden file is "A sample test" (strings.jsonl).
            var g = json.readTree(Files.readAllLines(golden, StandardCharsets.UTF_8).get(4));
            CliRun o = run("tokenize", "--model", model.toString(), g.get("text").asText());
            assertEquals(0, o.status(), o.err());
            assertEquals(g.get("ids").toString() + "\n", o.out(), name);
        }
    }

    @Test
    void badInputIsOneLineAndExit2() throws Exception {
        Path notJson = Files.writeString(dir.resolve("bad.json"), "{ not json");
        Path noModel = Files.writeString(dir.resolve("nomodel.json"), "{\"version\": \"1.0\"}");
        Path latin1 = dir.resolve("latin1.txt");
        Files.write(latin1, new byte[] {'c', 'a', 'f', (byte) 0xE9});
        String tok = SYNTHETIC.toString();
        assertBad("not valid JSON", "tokenize", "--tokenizer", notJson.toString(), "x");
        assertBad("no \"model\" section", "tokenize", "--tokenizer", noModel.toString(), "x");
        assertBad("no such file", "tokenize", "--tokenizer", dir.resolve("missing.json").toString(), "x");
        assertBad("no such file", "tokenize", "--model", dir.resolve("nowhere").toString(), "x");
        assertBad("invalid UTF-8 at byte 3", "tokenize", "--tokenizer", tok, "--file", latin1.toString());
        assertBad("no such file", "tokenize", "--tokenizer", tok, "--file", dir.resolve("gone.txt").toString());
        assertBad("not in the vocabulary", "tokenize", "--tokenizer", tok, "--decode", "[1, 100000]");
        assertBad("not a JSON array", "tokenize", "--tokenizer", tok, "--decode", "1, 2");
        assertBad("element 1", "tokenize", "--tokenizer", tok, "--decode", "[1, \"a\"]");
        assertBad("nothing to do", "tokenize", "--tokenizer", tok);
        assertBad("do not go together", "tokenize", "--tokenizer", tok, "--decode", "--tokens", "[1]");
        CliRun both = run("tokenize", "--tokenizer", tok, "--model", dir.toString(), "x");
        assertEquals(2, both.status());
    }

    private static void assertBad(String expected, String... args) {
        CliRun o = run(args);
        assertEquals(2, o.status(), () -> String.join(" ", args) + " -> " + o.err());
        assertEquals("", o.out());
        assertTrue(o.err().startsWith("moescope: ") && o.err().contains(expected), o.err());
        assertEquals(1, o.err().strip().lines().count(), o.err());
    }
}
