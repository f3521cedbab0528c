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
        assertRefused("normalizer type \"NFKC\" is not supported", r -> r.putObject("normalizer").put("type", "NFKC"));
        assertRefused("normalizer.normalizers is missing", r -> r.putObject("normalizer").put("type", "Sequence"));
        assertRefused("normalizer.normalizers[1] type \"Lowercase\"", r -> {
            ArrayNode list = r.putObject("normalizer").put("type", "Sequence").putArray("normalizers");
            list.addObject().put("type", "NFC");
            list.addObject().put("type", "Lowercase");
        });
        assertRefused("normalizer.normalizers[1]: NFC after another normalizer", r -> {
            ArrayNode list = r.putObject("normalizer").put("type", "Sequence").putArray("normalizers");
            list.addObject().put("type", "Prepend").put("prepend", "_");
            list.addObject().put("type", "NFC");
        });
        assertRefused("normalizer.pattern: a Replace with a Regex pattern", r -> {
            ObjectNode n = r.putObject("normalizer").put("type", "Replace").put("content", " ");
            n.putObject("pattern").put("Regex", " +");
        });
        assertRefused("pre_tokenizer type \"Whitespace\"", r -> r.putObject("pre_tokenizer").put("type", "Whitespace"));
        assertRefused("pre_tokenizer.add_prefix_space", r -> ((ObjectNode) r.get("pre_tokenizer"))
                .put("add_prefix_space", true));
        assertRefused("pre_tokenizer.pretokenizers[1]: Split after ByteLevel", r -> {
            ObjectNode byteLevel = (ObjectNode) r.get("pre_tokenizer");
            ArrayNode list = r.putObject("pre_tokenizer").put("type", "Sequence").putArray("pretokenizers");
            list.add(byteLevel);
            split(list.addObject(), "a", "Isolated");
        });
        assertRefused("pre_tokenizer.pretokenizers[0]: Metaspace together with other pre-tokenizers", r -> {
            ObjectNode byteLevel = (ObjectNode) r.get("pre_tokenizer");
            ArrayNode list = r.putObject("pre_tokenizer").put("type", "Sequence").putArray("pretokenizers");
            list.addObject().put("type", "Metaspace").put("replacement", "\u2581");
            list.add(byteLevel);
        });
        assertRefused("pre_tokenizer.behavior = \"Sideways\" is not one of", r -> split(r.putObject("pre_tokenizer"),
                "a", "Sideways"));
        // Regex constructs OnigRegex does not translate are named with their position (OnigRegexTest has the rest).
        assertRefused("pre_tokenizer.pattern.Regex \"a\\\\b\": the escape \\b at index 1 is not supported",
                r -> split(r.putObject("pre_tokenizer"), "a\\b", "Isolated"));
        assertRefused("the pattern can match the empty string", r -> split(r.putObject("pre_tokenizer"), "a*",
                "Isolated"));
        assertRefused("model type \"WordPiece\"", r -> model(r).put("type", "WordPiece"));
        assertRefused("model.type is missing", r -> model(r).remove("type"));
        assertRefused("model.dropout", r -> model(r).put("dropout", 0.1));
        assertRefused("model.continuing_subword_prefix", r -> model(r).put("continuing_subword_prefix", "##"));
        assertRefused("model.end_of_word_suffix", r -> model(r).put("end_of_word_suffix", "</w>"));
        assertRefused("model.unk_token \"<nope>\" is not in model.vocab", r -> {
            r.remove("pre_tokenizer");
            model(r).put("unk_token", "<nope>");
        });
        assertRefused("lstrip = true", r -> ((ObjectNode) r.get("added_tokens").get(0)).put("lstrip", true));
        assertRefused("rstrip = true", r -> ((ObjectNode) r.get("added_tokens").get(1)).put("rstrip", true));
        assertRefused("single_word = true", r -> ((ObjectNode) r.get("added_tokens").get(2)).put("single_word", true));
        assertRefused("post_processor type \"RobertaProcessing\"",
                r -> r.putObject("post_processor").put("type", "RobertaProcessing"));
        assertRefused("names the special token \"<bos>\", which post_processor.special_tokens does not define", r -> {
            ObjectNode pp = r.putObject("post_processor");
            pp.put("type", "TemplateProcessing");
            ArrayNode single = pp.putArray("single");
            single.addObject().putObject("SpecialToken").put("id", "<bos>");
            single.addObject().putObject("Sequence").put("id", "A");
        });
        assertRefused("post_processor.single has no sequence \"A\"", r -> {
            ObjectNode pp = r.putObject("post_processor");
            pp.put("type", "TemplateProcessing");
            pp.putArray("single");
        });
        assertRefused("decoder type \"WordPiece\"", r -> r.putObject("decoder").put("type", "WordPiece"));
        assertRefused("decoder.stop = 1 is not supported", r -> r.putObject("decoder").put("type", "Strip")
                .put("content", " ").put("start", 0).put("stop", 1));
        assertRefused("decoder.decoders[1] (Replace) after Fuse or ByteLevel is not supported", r -> {
            ArrayNode list = r.putObject("decoder").put("type", "Sequence").putArray("decoders");
            list.addObject().put("type", "Fuse");
            ObjectNode replace = list.addObject().put("type", "Replace").put("content", " ");
            replace.putObject("pattern").put("String", "_");
        });
        assertRefused("decoder.replacement = \"ab\" is not one character", r -> r.putObject("decoder")
                .put("type", "Metaspace").put("replacement", "ab"));
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
        // A TemplateProcessing that adds nothing is accepted (OLMoE's file has one), pairs are not read.
        ObjectNode ok = synthetic();
        ObjectNode pp = ok.putObject("post_processor");
        pp.put("type", "TemplateProcessing");
        pp.putArray("single").addObject().putObject("Sequence").put("id", "A");
        pp.putArray("pair").addObject().putObject("SpecialToken").put("id", "<unknown>");
        Tokenizer t = Tokenizer.fromJson(bytes(ok.toString()), "ok.json");
        assertArrayEquals(t.encodeIds("ab"), t.encodeIds("ab", true));
    }

    /** Llama 3's file adds BOS in its post-processor: encode adds it only when asked, as HF's add_special_tokens. */
    @Test
    void specialTokensOfThePostProcessor() {
        Tokenizer tok = Fixtures.tokenizer("synthetic-regex");
        int bos = tok.tokenToId("<|bos|>").orElseThrow();
        int eos = tok.tokenToId("<|eos|>").orElseThrow();
        int[] plain = tok.encodeIds("Hello");
        int[] special = tok.encodeIds("Hello", true);
        assertEquals(plain.length + 2, special.length);
        assertEquals(bos, special[0]);
        assertEquals(eos, special[special.length - 1]);
        Encoding e = tok.encode("Hello", true);
        assertEquals("<|bos|>", e.tokens().get(0));
        assertEquals(0, e.starts()[0]);
        assertEquals(0, e.ends()[e.size() - 1]);
        assertEquals("Hello", tok.decode(special, true));
        assertEquals("<|bos|>Hello<|eos|>", tok.decode(special, false));
    }

    private static void split(ObjectNode node, String regex, String behavior) {
        node.put("type", "Split").put("behavior", behavior).put("invert", false);
        node.putObject("pattern").put("Regex", regex);
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
