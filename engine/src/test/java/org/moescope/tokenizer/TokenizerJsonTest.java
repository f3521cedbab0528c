package org.moescope.tokenizer;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.moescope.errors.BadInputException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Loading: the synthetic file's API, and a clear one-line error for every unsupported or broken feature. */
class TokenizerJsonTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void syntheticApi() {
        Tokenizer tok = Fixtures.synthetic();
        assertEquals(343, tok.vocabSize());
        int eos = tok.eosTokenId().orElseThrow();
        assertEquals("<|endoftext|>", tok.idToToken(eos));
        assertTrue(tok.isSpecial(eos));
        int x = tok.tokenToId("|||X|||").orElseThrow();
        assertFalse(tok.isSpecial(x));
        assertEquals("Ġt", tok.idToToken(tok.tokenToId("Ġt").orElseThrow()));
        assertEquals(null, tok.idToToken(343));
        assertEquals(8, tok.addedTokens().size());
        // The normalized added token "e\u0301!" is matched (and reported) in NFC form.
        int accent = tok.tokenToId("e\u0301!").orElseThrow();
        assertEquals("\u00e9!", tok.idToToken(accent));
        assertArrayEquals(new int[] {accent}, tok.encodeIds("e\u0301!"));
        assertArrayEquals(new int[] {accent}, tok.encodeIds("\u00e9!"));
        assertArrayEquals(new int[0], tok.encodeIds(""));
    }

    @Test
    void unpairedSurrogateIsBadInput() {
        BadInputException e = assertThrows(BadInputException.class, () -> Fixtures.synthetic().encodeIds("a\uD800b"));
        assertTrue(e.getMessage().contains("surrogate"), e.getMessage());
    }

    @Test
    void brokenFiles(@TempDir Path dir) throws IOException {
        assertBad("no such file", () -> Tokenizer.load(dir.resolve("missing.json")));
        assertBad("no such file", () -> Tokenizer.forModelDirectory(dir));
        assertBad("not valid JSON at line 1", () -> Tokenizer.fromJson(bytes("{\"model\": "), "t.json"));
        assertBad("top level is not a JSON object", () -> Tokenizer.fromJson(bytes("[1, 2]"), "t.json"));
        assertBad("no \"model\" section", () -> Tokenizer.fromJson(bytes("{\"version\": \"1.0\"}"), "t.json"));
        Path file = dir.resolve("tokenizer.json");
        Files.write(file, Fixtures.resourceBytes("synthetic-tokenizer.json"));
        assertEquals(343, Tokenizer.forModelDirectory(dir).vocabSize());
    }

    @Test
    void unsupportedFeaturesAreNamed() {
        assertRefused("normalizer type \"NFKC\"", r -> r.putObject("normalizer").put("type", "NFKC"));
        assertRefused("normalizer type \"Sequence\"", r -> r.putObject("normalizer").put("type", "Sequence"));
        assertRefused("pre_tokenizer type \"Metaspace\"", r -> r.putObject("pre_tokenizer").put("type", "Metaspace"));
        assertRefused("pre_tokenizer.add_prefix_space", r -> ((ObjectNode) r.get("pre_tokenizer"))
                .put("add_prefix_space", true));
        assertRefused("pre_tokenizer.use_regex", r -> ((ObjectNode) r.get("pre_tokenizer")).put("use_regex", false));
        assertRefused("model type \"WordPiece\"", r -> model(r).put("type", "WordPiece"));
        assertRefused("model.type is missing", r -> model(r).remove("type"));
        assertRefused("model.byte_fallback", r -> model(r).put("byte_fallback", true));
        assertRefused("model.dropout", r -> model(r).put("dropout", 0.1));
        assertRefused("model.continuing_subword_prefix", r -> model(r).put("continuing_subword_prefix", "##"));
        assertRefused("model.end_of_word_suffix", r -> model(r).put("end_of_word_suffix", "</w>"));
        assertRefused("model.ignore_merges", r -> model(r).put("ignore_merges", true));
        assertRefused("lstrip = true", r -> ((ObjectNode) r.get("added_tokens").get(0)).put("lstrip", true));
        assertRefused("rstrip = true", r -> ((ObjectNode) r.get("added_tokens").get(1)).put("rstrip", true));
        assertRefused("single_word = true", r -> ((ObjectNode) r.get("added_tokens").get(2)).put("single_word", true));
        assertRefused("post_processor type \"RobertaProcessing\"",
                r -> r.putObject("post_processor").put("type", "RobertaProcessing"));
        assertRefused("adds the special token", r -> {
            ObjectNode pp = r.putObject("post_processor");
            pp.put("type", "TemplateProcessing");
            ArrayNode single = pp.putArray("single");
            single.addObject().putObject("SpecialToken").put("id", "<|endoftext|>");
            single.addObject().putObject("Sequence").put("id", "A");
        });
        assertRefused("decoder type \"WordPiece\"", r -> r.putObject("decoder").put("type", "WordPiece"));
        assertRefused("\"padding\" is set", r -> r.putObject("padding").put("strategy", "BatchLongest"));
        assertRefused("\"truncation\" is set", r -> r.putObject("truncation").put("max_length", 8));
        assertRefused("model.merges[0]", r -> ((ArrayNode) model(r).get("merges")).insert(0, "Ġ q z"));
        assertRefused("is not in model.vocab", r -> ((ArrayNode) model(r).get("merges")).insert(0, "Ġ zzz"));
        assertRefused("no symbol for byte 0x41", r -> ((ObjectNode) model(r).get("vocab")).remove("A"));
        assertRefused("model.vocab gives id 0 to both", r -> ((ObjectNode) model(r).get("vocab")).put("new", 0));
        assertRefused("added_tokens[0] (\"<|endoftext|>\") has id 401 but model.vocab gives it id 400",
                r -> {
                    ((ObjectNode) model(r).get("vocab")).put("<|endoftext|>", 400);
                    ((ObjectNode) r.get("added_tokens").get(0)).put("id", 401);
                });
        // A TemplateProcessing that adds nothing is accepted (OLMoE's file has one).
        ObjectNode ok = synthetic();
        ObjectNode pp = ok.putObject("post_processor");
        pp.put("type", "TemplateProcessing");
        pp.putArray("single").addObject().putObject("Sequence").put("id", "A");
        ArrayNode pair = pp.putArray("pair");
        pair.addObject().putObject("Sequence").put("id", "A");
        pair.addObject().putObject("Sequence").put("id", "B");
        assertEquals(343, Tokenizer.fromJson(bytes(ok.toString()), "ok.json").vocabSize());
    }

    private static ObjectNode model(ObjectNode root) {
        return (ObjectNode) root.get("model");
    }

    private static ObjectNode synthetic() {
        try {
            return (ObjectNode) JSON.readTree(Fixtures.resourceBytes("synthetic-tokenizer.json"));
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    private static void assertRefused(String expected, Consumer<ObjectNode> edit) {
        ObjectNode root = synthetic();
        edit.accept(root);
        assertBad(expected, () -> Tokenizer.fromJson(bytes(root.toString()), "edited.json"));
    }

    private static void assertBad(String expected, Runnable load) {
        BadInputException e = assertThrows(BadInputException.class, load::run);
        assertTrue(e.getMessage().contains(expected), () -> "message \"" + e.getMessage() + "\" lacks " + expected);
        assertFalse(e.getMessage().contains("\n"), "one-line message: " + e.getMessage());
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
