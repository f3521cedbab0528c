package org.moescope.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.moescope.errors.BadInputException;
import org.moescope.gguf.GgmlType;
import org.moescope.gguf.GgufFile;
import org.moescope.gguf.GgufTokenizer;
import org.moescope.gguf.GgufValue;
import org.moescope.gguf.GgufWriter;
import org.moescope.weights.GgufConvert;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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
        assertNull(GgufTokenizer.fromTokenizerJson(gptOss, "gpt-oss/tokenizer.json", 1 << 20, why));
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

    /**
     * What llama.cpp needs of a converted file's vocabulary: as many tokens as the embedding has rows (convert_hf_to_gguf
     * pads with UNUSED "[PADn]" tokens), and without a tokenizer.json the model "none" (it refuses a file without
     * tokenizer.ggml.model) with {@code <arch>.vocab_size}; ours reads such a file as one without a tokenizer.
     */
    @Test
    void convertPadsTheVocabularyToTheEmbeddingRowsAndWritesNoneWithoutATokenizer() throws IOException {
        Path tiny = org.moescope.model.Fixtures.model("tiny-f32"); // OLMoE, 192 embedding rows
        Path bare = dir.resolve("bare.gguf");
        GgufConvert.toGguf(tiny, bare, "f32", false);
        try (GgufFile f = GgufFile.open(bare)) {
            assertEquals("none", f.string("tokenizer.ggml.model"));
            assertEquals(192, f.count("olmoe.vocab_size"));
        }
        assertFalse(Tokenizer.inModel(bare));
        BadInputException e = assertThrows(BadInputException.class, () -> Tokenizer.load(bare));
        assertTrue(e.getMessage().contains("has no tokenizer"), e.getMessage());

        // A byte-level BPE (GPT-2 family): the 256 byte symbols and one merge, as our reader turns GGUF keys into
        // tokenizer.json; written for a model of 300 embedding rows.
        Path small = dir.resolve("small.gguf");
        List<String> vocab = new java.util.ArrayList<>();
        for (int b = 0, n = 0; b < 256; b++) { // GPT-2's bytes_to_unicode: id b is byte b
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
            vocab.add(Character.toString(printable ? b : 256 + n++));
        }
        vocab.add("ab");
        gguf(Map.of("tokenizer.ggml.model", GgufValue.of("gpt2"), "tokenizer.ggml.pre", GgufValue.of("gpt-2"),
                "tokenizer.ggml.tokens", GgufValue.array(GgufValue.Type.STRING, vocab),
                "tokenizer.ggml.merges", GgufValue.array(GgufValue.Type.STRING, List.of("a b"))), small);
        JsonNode tj;
        try (GgufFile f = GgufFile.open(small)) {
            tj = GgufTokenizer.toTokenizerJson(f);
        }
        StringBuilder why = new StringBuilder();
        Map<String, GgufValue> keys = GgufTokenizer.fromTokenizerJson(tj, "small", 300, why);
        assertTrue(keys != null, why::toString);
        @SuppressWarnings("unchecked")
        List<String> tokens = (List<String>) keys.get("tokenizer.ggml.tokens").value();
        assertEquals(300, tokens.size());
        assertEquals(List.of("ab", "[PAD257]"), tokens.subList(256, 258));
        assertEquals(List.of(1L, 5L), ((List<?>) keys.get("tokenizer.ggml.token_type").value()).subList(256, 258));
        Path padded = dir.resolve("padded.gguf");
        gguf(keys, padded);
        Tokenizer t = Tokenizer.load(padded);
        assertEquals(257, t.vocabSize(), "the padding is no token, as in the tokenizer.json");
        assertArrayEquals(new int[] {256, 256, 'a' - 0}, t.encode("ababa").ids());

        why.setLength(0);
        keys = GgufTokenizer.fromTokenizerJson(tj, "small", 200, why);
        assertTrue(keys != null, why::toString);
        assertEquals(257, ((List<?>) keys.get("tokenizer.ggml.tokens").value()).size(), "257 ids, 200 rows: whole");
        // A conversion whose tokenizer.json has more ids than the embedding (tiny-f32: 192 rows) writes it whole, for
        // moescope, and says that llama.cpp will refuse the file.
        Path withTokenizer = dir.resolve("tiny-with-tokenizer");
        Files.createDirectories(withTokenizer);
        for (String name : new String[] {"config.json", "model.safetensors"}) {
            Files.copy(tiny.resolve(name), withTokenizer.resolve(name));
        }
        JSON.writeValue(withTokenizer.resolve("tokenizer.json").toFile(), tj);
        Path notFitting = dir.resolve("not-fitting.gguf");
        String said = GgufConvert.toGguf(withTokenizer, notFitting, "f32", false).tokenizer();
        assertTrue(said.contains("257 token ids for 192 embedding rows: llama.cpp will refuse this file"), said);
        assertEquals(257, Tokenizer.load(notFitting).vocabSize());
    }

    private Path writeGguf(Path tokenizerJson, String name) throws IOException {
        StringBuilder why = new StringBuilder();
        Map<String, GgufValue> keys = GgufTokenizer.fromTokenizerJson(JSON.readTree(tokenizerJson.toFile()),
                tokenizerJson.toString(), Tokenizer.load(tokenizerJson).vocabSize(), why);
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
