package org.moescope.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Test data: committed resources under tokenizer/ (the synthetic tokenizers and all goldens), and the real
 * tokenizer files from ../shared when present (tests that need them are skipped otherwise).
 */
final class Fixtures {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** The real tokenizers in ../shared/fixtures/tokenizers/NAME/ that have committed goldens. */
    static final List<String> REAL = List.of("qwen3", "deepseek-v3", "llama3.1", "gpt-oss", "llama2-spm");
    /** The committed synthetic tokenizers: tokenizer/NAME-tokenizer.json. */
    static final List<String> SYNTHETIC = List.of("synthetic", "synthetic-regex", "synthetic-spm",
            "synthetic-metaspace", "synthetic-metaspace-always", "synthetic-split");
    private static final Map<String, Tokenizer> LOADED = new HashMap<>();

    private Fixtures() {
    }

    /** OLMoE's tokenizer.json; the calling test is skipped when the shared fixtures are absent. */
    static Path olmoePath() {
        return org.moescope.model.Fixtures.shared("fixtures/olmoe-1b-7b-0924-tokenizer.json");
    }

    static Tokenizer olmoe() {
        return tokenizer("olmoe");
    }

    static Tokenizer synthetic() {
        return tokenizer("synthetic");
    }

    /**
     * A tokenizer by golden name: "olmoe", a {@link #REAL} one (both skip the test when ../shared is absent), or a
     * {@link #SYNTHETIC} one. Loaded once per test run.
     */
    static synchronized Tokenizer tokenizer(String name) {
        Tokenizer t = LOADED.get(name);
        if (t == null) {
            if (name.equals("olmoe")) {
                t = Tokenizer.load(olmoePath());
            } else if (REAL.contains(name)) {
                t = Tokenizer.load(realPath(name, "tokenizer.json"));
            } else {
                t = Tokenizer.fromJson(resourceBytes(name + "-tokenizer.json"), name + "-tokenizer.json");
            }
            LOADED.put(name, t);
        }
        return t;
    }

    /** A file of a real tokenizer's folder in ../shared; skips the test when absent. */
    static Path realPath(String name, String file) {
        return org.moescope.model.Fixtures.shared("fixtures/tokenizers/" + name + "/" + file);
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
