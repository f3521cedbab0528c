package org.moescope.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Test data: committed resources under tokenizer/, and OLMoE's tokenizer.json from ../shared when present. */
final class Fixtures {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static Tokenizer synthetic;
    private static Tokenizer olmoe;

    private Fixtures() {
    }

    /** OLMoE's tokenizer.json; the calling test is skipped when the shared fixtures are absent. */
    static Path olmoePath() {
        // Tests run in the module directory (engine/); the shared folder sits next to the repository root.
        Path path = Path.of("..", "..", "shared", "fixtures", "olmoe-1b-7b-0924-tokenizer.json").toAbsolutePath()
                .normalize();
        assumeTrue(Files.isRegularFile(path), "skipped: OLMoE tokenizer.json not found at " + path
                + " (it lives in the shared fixtures, not in the repository)");
        return path;
    }

    static synchronized Tokenizer olmoe() {
        Path path = olmoePath();
        if (olmoe == null) {
            olmoe = Tokenizer.load(path);
        }
        return olmoe;
    }

    static synchronized Tokenizer synthetic() {
        if (synthetic == null) {
            synthetic = Tokenizer.fromJson(resourceBytes("synthetic-tokenizer.json"), "synthetic-tokenizer.json");
        }
        return synthetic;
    }

    static byte[] resourceBytes(String name) {
        try (InputStream in = Fixtures.class.getResourceAsStream("/tokenizer/" + name)) {
            if (in == null) {
                throw new IllegalStateException("test resource tokenizer/" + name + " is missing");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static List<JsonNode> jsonLines(String name) {
        List<JsonNode> out = new ArrayList<>();
        try (InputStream in = Fixtures.class.getResourceAsStream("/tokenizer/" + name)) {
            if (in == null) {
                throw new IllegalStateException("test resource tokenizer/" + name + " is missing");
            }
            BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
            for (String line; (line = reader.readLine()) != null; ) {
                if (!line.isBlank()) {
                    out.add(JSON.readTree(line));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    /** The hand-written test strings (strings.jsonl). */
    static List<String> strings() {
        return jsonLines("strings.jsonl").stream().map(n -> n.get("text").asText()).toList();
    }

    static int[] ints(JsonNode array) {
        int[] out = new int[array.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = array.get(i).asInt();
        }
        return out;
    }
}
