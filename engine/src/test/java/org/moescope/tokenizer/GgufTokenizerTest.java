package org.moescope.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.moescope.errors.BadInputException;
import org.moescope.gguf.GgmlType;
import org.moescope.gguf.GgufTokenizer;
import org.moescope.gguf.GgufValue;
import org.moescope.gguf.GgufWriter;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A tokenizer.json written as GGUF's tokenizer.ggml.* keys and read back encodes and decodes the goldens as the
 * tokenizer.json itself does (OLMoE's and the byte-level real families; skipped when ../shared is absent).
 */
class GgufTokenizerTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"olmoe", "qwen3", "deepseek-v3", "llama3.1"})
    void roundTripEncodesAndDecodesAsTokenizerJson(String name) throws IOException {
        Path json = name.equals("olmoe") ? Fixtures.olmoePath() : Fixtures.realPath(name, "tokenizer.json");
        Tokenizer original = Fixtures.tokenizer(name);
        Tokenizer fromGguf = Tokenizer.load(writeGguf(json, name));
        assertEquals(original.vocabSize(), fromGguf.vocabSize());
        int checked = 0;
        for (JsonNode g : Fixtures.jsonLines(name + "-golden.jsonl")) {
            String text = g.get("text").asText();
            Encoding want = original.encode(text);
            Encoding got = fromGguf.encode(text);
            assertArrayEquals(Fixtures.ints(g.get("ids")), got.ids(), () -> name + ": ids of " + text);
            assertEquals(want.tokens(), got.tokens(), () -> name + ": tokens of " + text);
            assertArrayEquals(want.starts(), got.starts(), () -> name + ": offsets of " + text);
            assertArrayEquals(want.ends(), got.ends(), () -> name + ": offsets of " + text);
            assertArrayEquals(original.encodeIds(text, true), fromGguf.encodeIds(text, true), () -> name + ": " + text);
            checked++;
        }
        for (JsonNode g : Fixtures.jsonLines(name + "-decode-golden.jsonl")) {
            int[] ids = Fixtures.ints(g.get("ids"));
            boolean skip = g.get("skip_special").asBoolean();
            assertEquals(g.get("text").asText(), fromGguf.decode(ids, skip), () -> name + ": " + Arrays.toString(ids));
        }
        assertTrue(checked > 100, name + ": goldens checked " + checked);
    }

    @Test
    void otherFamiliesAreNotWrittenAndUnknownOnesAreRefusedByName() throws IOException {
        JsonNode gptOss = JSON.readTree(Fixtures.realPath("gpt-oss", "tokenizer.json").toFile());
        StringBuilder why = new StringBuilder();
        assertNull(GgufTokenizer.fromTokenizerJson(gptOss, "gpt-oss/tokenizer.json", why));
        assertTrue(why.toString().contains("match no tokenizer.ggml.pre family"), why.toString());

        Path file = dir.resolve("odd.gguf");
        gguf(Map.of("tokenizer.ggml.model", GgufValue.of("gpt2"), "tokenizer.ggml.pre", GgufValue.of("falcon")), file);
        BadInputException e = assertThrows(BadInputException.class, () -> Tokenizer.load(file));
        assertEquals(file + ": tokenizer.ggml.pre \"falcon\" is not supported (supported: gpt-2, olmo, qwen2, "
                + "llama-bpe, deepseek-v3)", e.getMessage());
        Path spm = dir.resolve("spm.gguf");
        gguf(Map.of("tokenizer.ggml.model", GgufValue.of("llama")), spm);
        e = assertThrows(BadInputException.class, () -> Tokenizer.load(spm));
        assertTrue(e.getMessage().contains("tokenizer.ggml.model \"llama\" is not supported"), e.getMessage());
        Path none = dir.resolve("none.gguf");
        gguf(Map.of(), none);
        assertTrue(!Tokenizer.inModel(none));
        e = assertThrows(BadInputException.class, () -> Tokenizer.load(none));
        assertTrue(e.getMessage().contains("has no tokenizer"), e.getMessage());
    }

    private Path writeGguf(Path tokenizerJson, String name) throws IOException {
        StringBuilder why = new StringBuilder();
        Map<String, GgufValue> keys = GgufTokenizer.fromTokenizerJson(JSON.readTree(tokenizerJson.toFile()),
                tokenizerJson.toString(), why);
        assertTrue(keys != null, why::toString);
        Path file = dir.resolve(name + ".gguf");
        gguf(keys, file);
        return file;
    }

    private static void gguf(Map<String, GgufValue> keys, Path file) {
        GgufWriter w = new GgufWriter();
        w.put("general.architecture", GgufValue.of("olmoe"));
        keys.forEach(w::put);
        w.tensor("token_embd.weight", GgmlType.F32, new long[] {1, 32}, GgufWriter.Body.of(new byte[32 * 4]));
        w.write(file);
    }
}
