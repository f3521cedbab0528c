package org.moescope.tokenizer;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.moescope.errors.BadInputException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads HF tokenizer.json into a {@link Tokenizer}. Everything that would change the ids and is not implemented
 * (other normalizers, pre-tokenizers or models, byte fallback, dropout, subword prefixes, lstrip/rstrip/single-word
 * added tokens, post-processors that add tokens, padding, truncation) is refused with a one-line
 * BadInputException naming the file and the field.
 */
final class TokenizerJson {
    /** Ids beyond this are taken for a corrupt file rather than a vocabulary (the arrays are sized by max id). */
    private static final int MAX_ID = 16_000_000;

    private static final ObjectMapper MAPPER = new ObjectMapper();

    private final String source;
    /** model.vocab, token → id; null when the file has none. */
    private Map<String, Integer> vocab;
    /** model.merges in rank order: a String ("a b") or a JsonNode (["a", "b"], or anything malformed). */
    private List<Object> merges;

    private TokenizerJson(String source) {
        this.source = source;
    }

    static Tokenizer load(Path file) {
        byte[] json;
        try {
            json = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new BadInputException(file + ": no such file");
        } catch (IOException e) {
            throw new BadInputException(file + ": cannot read (" + e.getMessage() + ")", e);
        }
        return parse(json, file.toString());
    }

    static Tokenizer parse(byte[] json, String source) {
        TokenizerJson reader = new TokenizerJson(source);
        // The vocabulary and merges (100k entries for OLMoE) are streamed; the small rest is read as a tree.
        ObjectNode root = MAPPER.createObjectNode();
        try (JsonParser p = MAPPER.createParser(json)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw reader.bad("not a tokenizer.json (the top level is not a JSON object)");
            }
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                JsonToken value = p.nextToken();
                if (field.equals("model") && value == JsonToken.START_OBJECT) {
                    root.set(field, reader.readModel(p));
                } else {
                    root.set(field, p.readValueAsTree());
                }
            }
        } catch (JsonProcessingException e) {
            JsonLocation at = e.getLocation();
            String where = at == null ? "" : " at line " + at.getLineNr() + ", column " + at.getColumnNr();
            throw new BadInputException(source + ": not valid JSON" + where + " ("
                    + oneLine(e.getOriginalMessage()) + ")");
        } catch (IOException e) {
            throw new BadInputException(source + ": cannot read (" + e.getMessage() + ")", e);
        }
        return reader.build(root);
    }

    /** Reads the model object: vocab and merges into fields of this reader, the other settings into a tree. */
    private ObjectNode readModel(JsonParser p) throws IOException {
        ObjectNode model = MAPPER.createObjectNode();
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String field = p.currentName();
            JsonToken value = p.nextToken();
            if (field.equals("vocab") && value == JsonToken.START_OBJECT) {
                vocab = new HashMap<>();
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    String token = p.currentName();
                    JsonToken idToken = p.nextToken();
                    if (idToken != JsonToken.VALUE_NUMBER_INT || p.getNumberType() != JsonParser.NumberType.INT
                            || p.getIntValue() < 0 || p.getIntValue() > MAX_ID) {
                        throw bad("model.vocab[" + quote(token) + "] = " + p.readValueAsTree() + " is not a token id");
                    }
                    vocab.put(token, p.getIntValue());
                }
                model.put(field, "(streamed)");
            } else if (field.equals("merges") && value == JsonToken.START_ARRAY) {
                merges = new ArrayList<>();
                while (p.nextToken() != JsonToken.END_ARRAY) {
                    merges.add(p.currentToken() == JsonToken.VALUE_STRING ? p.getText() : p.readValueAsTree());
                }
                model.put(field, "(streamed)");
            } else {
                model.set(field, p.readValueAsTree());
            }
        }
        return model;
    }

    private Tokenizer build(JsonNode root) {
        if (root == null || !root.isObject()) {
            throw bad("not a tokenizer.json (the top level is not a JSON object)");
        }
        JsonNode model = root.get("model");
        if (model == null || !model.isObject()) {
            throw bad("no \"model\" section; not a tokenizer.json");
        }
        requireNull(root, "truncation");
        requireNull(root, "padding");
        boolean nfc = readNormalizer(root.get("normalizer"));
        readPreTokenizer(root.get("pre_tokenizer"));
        readDecoder(root.get("decoder"));
        Tokenizer.TrimOffsets trim = readPostProcessor(root.get("post_processor"));

        checkModelOptions(model);
        if (vocab == null) {
            throw bad("model.vocab is missing or not an object");
        }
        String[] byId = new String[vocabSize(vocab)];
        vocab.forEach((token, id) -> {
            if (byId[id] != null) {
                String first = byId[id].compareTo(token) < 0 ? byId[id] : token;
                String second = first.equals(token) ? byId[id] : token;
                throw bad("model.vocab gives id " + id + " to both " + quote(first) + " and " + quote(second));
            }
            byId[id] = token;
        });
        List<AddedToken> added = readAddedTokens(root.get("added_tokens"), vocab);
        int size = byId.length;
        for (AddedToken t : added) {
            size = Math.max(size, t.id() + 1);
        }
        String[] tokens = java.util.Arrays.copyOf(byId, size);

        int[] byteIds = new int[256];
        for (int b = 0; b < 256; b++) {
            Integer id = vocab.get(String.valueOf(ByteLevel.charOf(b)));
            boolean inUtf8 = b < 0xC0 || (b >= 0xC2 && b <= 0xF4);
            if (id == null && inUtf8) {
                throw bad(String.format("model.vocab has no symbol for byte 0x%02X (\"%c\"); a byte-level BPE "
                        + "vocabulary needs all of them", b, ByteLevel.charOf(b)));
            }
            byteIds[b] = id == null ? -1 : id;
        }
        if (merges == null) {
            throw bad("model.merges is missing or not an array");
        }
        BpeModel.MergeTable mergeTable = new BpeModel.MergeTable(merges.size());
        int[] mergeResult = new int[merges.size()];
        for (int rank = 0; rank < merges.size(); rank++) {
            String[] pair = mergePair(merges.get(rank), rank);
            Integer left = vocab.get(pair[0]);
            Integer right = vocab.get(pair[1]);
            Integer result = vocab.get(pair[0] + pair[1]);
            if (left == null || right == null || result == null) {
                String missing = left == null ? pair[0] : right == null ? pair[1] : pair[0] + pair[1];
                throw bad("model.merges[" + rank + "]: token " + quote(missing) + " is not in model.vocab");
            }
            mergeTable.put(left, right, rank);
            mergeResult[rank] = result;
        }
        return new Tokenizer(source, tokens, vocab, new BpeModel(byteIds, mergeTable, mergeResult), nfc, added, trim);
    }

    private boolean readNormalizer(JsonNode node) {
        if (isNull(node)) {
            return false;
        }
        String type = type(node, "normalizer");
        if (!type.equals("NFC")) {
            throw bad("normalizer type \"" + type + "\" is not supported (only NFC or none)");
        }
        return true;
    }

    private void readPreTokenizer(JsonNode node) {
        if (isNull(node)) {
            throw bad("pre_tokenizer is missing; only ByteLevel is supported");
        }
        String type = type(node, "pre_tokenizer");
        if (!type.equals("ByteLevel")) {
            throw bad("pre_tokenizer type \"" + type + "\" is not supported (only ByteLevel)");
        }
        if (flag(node, "add_prefix_space", true)) {
            throw bad("pre_tokenizer.add_prefix_space = true is not supported");
        }
        if (!flag(node, "use_regex", true)) {
            throw bad("pre_tokenizer.use_regex = false is not supported");
        }
    }

    private void readDecoder(JsonNode node) {
        if (isNull(node)) {
            throw bad("decoder is missing; only ByteLevel is supported");
        }
        String type = type(node, "decoder");
        if (!type.equals("ByteLevel")) {
            throw bad("decoder type \"" + type + "\" is not supported (only ByteLevel)");
        }
    }

    private Tokenizer.TrimOffsets readPostProcessor(JsonNode node) {
        if (isNull(node)) {
            return null;
        }
        String type = type(node, "post_processor");
        switch (type) {
            case "ByteLevel" -> {
                return flag(node, "trim_offsets", true)
                        ? new Tokenizer.TrimOffsets(flag(node, "add_prefix_space", true)) : null;
            }
            case "TemplateProcessing" -> {
                checkTemplate(node.get("single"), "single", List.of("A"));
                checkTemplate(node.get("pair"), "pair", List.of("A", "B"));
                return null;
            }
            default -> throw bad("post_processor type \"" + type + "\" is not supported (it adds tokens; only "
                    + "ByteLevel or a TemplateProcessing that adds nothing)");
        }
    }

    /** Accepts a template that is exactly the given sequences: it adds no tokens. */
    private void checkTemplate(JsonNode template, String field, List<String> sequences) {
        if (isNull(template) && field.equals("pair")) {
            return;
        }
        String where = "post_processor.TemplateProcessing." + field;
        if (template == null || !template.isArray()) {
            throw bad(where + " is missing or not an array");
        }
        List<String> found = new ArrayList<>();
        for (JsonNode piece : template) {
            if (piece.has("SpecialToken")) {
                throw bad(where + " adds the special token " + piece.get("SpecialToken").path("id")
                        + "; post-processors that add tokens are not supported");
            }
            if (!piece.has("Sequence")) {
                throw bad(where + " has an entry that is neither Sequence nor SpecialToken");
            }
            found.add(piece.get("Sequence").path("id").asText());
        }
        if (!found.equals(sequences)) {
            throw bad(where + " is " + found + ", expected " + sequences);
        }
    }

    private void checkModelOptions(JsonNode model) {
        JsonNode typeNode = model.get("type");
        if (typeNode == null || !typeNode.isTextual()) {
            throw bad("model.type is missing; only BPE is supported");
        }
        if (!typeNode.asText().equals("BPE")) {
            throw bad("model type \"" + typeNode.asText() + "\" is not supported (only BPE)");
        }
        JsonNode dropout = model.get("dropout");
        if (!isNull(dropout) && !(dropout.isNumber() && dropout.asDouble() == 0.0)) {
            throw bad("model.dropout = " + dropout + " is not supported (BPE dropout is random)");
        }
        if (flag(model, "byte_fallback", false)) {
            throw bad("model.byte_fallback = true is not supported");
        }
        if (flag(model, "ignore_merges", false)) {
            throw bad("model.ignore_merges = true is not supported");
        }
        for (String field : List.of("continuing_subword_prefix", "end_of_word_suffix")) {
            JsonNode v = model.get(field);
            if (!isNull(v) && !(v.isTextual() && v.asText().isEmpty())) {
                throw bad("model." + field + " = " + v + " is not supported");
            }
        }
    }

    private static int vocabSize(Map<String, Integer> vocab) {
        int size = 0;
        for (int id : vocab.values()) {
            size = Math.max(size, id + 1);
        }
        return size;
    }

    private String[] mergePair(Object merge, int rank) {
        String where = "model.merges[" + rank + "]";
        if (merge instanceof String text) {
            int space = text.indexOf(' ');
            if (space < 0 || text.indexOf(' ', space + 1) >= 0) {
                throw bad(where + " = " + quote(text) + " is not two tokens separated by one space");
            }
            return new String[] {text.substring(0, space), text.substring(space + 1)};
        }
        JsonNode m = (JsonNode) merge;
        if (m.isArray() && m.size() == 2 && m.get(0).isTextual() && m.get(1).isTextual()) {
            return new String[] {m.get(0).asText(), m.get(1).asText()};
        }
        throw bad(where + " = " + m + " is neither \"a b\" nor [\"a\", \"b\"]");
    }

    private List<AddedToken> readAddedTokens(JsonNode node, Map<String, Integer> vocab) {
        List<AddedToken> added = new ArrayList<>();
        if (isNull(node)) {
            return added;
        }
        if (!node.isArray()) {
            throw bad("added_tokens is not an array");
        }
        Map<String, Integer> seen = new HashMap<>();
        for (int i = 0; i < node.size(); i++) {
            JsonNode t = node.get(i);
            String where = "added_tokens[" + i + "]";
            JsonNode idNode = t.get("id");
            JsonNode contentNode = t.get("content");
            if (idNode == null || !idNode.isIntegralNumber() || idNode.asInt() < 0 || idNode.asInt() > MAX_ID) {
                throw bad(where + ".id is missing or not a token id");
            }
            if (contentNode == null || !contentNode.isTextual()) {
                throw bad(where + ".content is missing or not a string");
            }
            String content = contentNode.asText();
            for (String option : List.of("lstrip", "rstrip", "single_word")) {
                if (flag(t, option, false)) {
                    throw bad(where + " (" + contentNode + ") has " + option + " = true, which is not supported");
                }
            }
            if (content.isEmpty()) {
                continue; // HF ignores empty added tokens
            }
            int id = idNode.asInt();
            Integer inVocab = vocab.get(content);
            if (inVocab != null && inVocab != id) {
                throw bad(where + " (" + contentNode + ") has id " + id + " but model.vocab gives it id " + inVocab);
            }
            if (seen.put(content, id) != null) {
                throw bad(where + " (" + contentNode + ") appears twice");
            }
            boolean special = flag(t, "special", false);
            added.add(new AddedToken(id, content, special, flag(t, "normalized", !special)));
        }
        return added;
    }

    private void requireNull(JsonNode root, String field) {
        if (!isNull(root.get(field))) {
            throw bad("\"" + field + "\" is set; " + field + " is not supported (it must be null)");
        }
    }

    private String type(JsonNode node, String field) {
        JsonNode type = node.get("type");
        if (type == null || !type.isTextual()) {
            throw bad(field + ".type is missing");
        }
        return type.asText();
    }

    private boolean flag(JsonNode node, String field, boolean absent) {
        JsonNode v = node.get(field);
        if (isNull(v)) {
            return absent;
        }
        if (!v.isBoolean()) {
            throw bad(field + " = " + v + " is not true or false");
        }
        return v.asBoolean();
    }

    /** A string as a JSON literal: quoted, and escaped so that a message stays on one line. */
    private static String quote(String s) {
        return MAPPER.getNodeFactory().textNode(s).toString();
    }

    private static boolean isNull(JsonNode node) {
        return node == null || node.isNull();
    }

    private BadInputException bad(String message) {
        return new BadInputException(source + ": " + message);
    }

    private static String oneLine(String s) {
        return s == null ? "" : s.replaceAll("\\s*\\R\\s*", " ").trim();
    }
}
