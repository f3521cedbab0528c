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
 * Reads HF tokenizer.json into a {@link Tokenizer}. Everything that would change the ids or the decoded text and
 * is not implemented (other normalizers, pre-tokenizers, models, decoders or post-processors, regex constructs
 * {@link OnigRegex} does not translate, dropout, subword prefixes, lstrip/rstrip/single-word added tokens, padding,
 * truncation) is refused with a one-line BadInputException naming the file and the field.
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
        TextNormalizer normalizer = readNormalizer(root.get("normalizer"));
        PreTokenizer preTokenizer = readPreTokenizer(root.get("pre_tokenizer"));
        TokenDecoder decoder = readDecoder(root.get("decoder"));

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
        Tokenizer.PostProcessor post = readPostProcessor(root.get("post_processor"), size);

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
        boolean ignoreMerges = flag(model, "ignore_merges", false);
        BpeModel bpe;
        if (preTokenizer.byteLevel()) {
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
            bpe = BpeModel.byteLevel(byteIds, vocab, ignoreMerges, mergeTable, mergeResult);
        } else {
            int[] fallback = null;
            if (flag(model, "byte_fallback", false)) {
                fallback = new int[256];
                for (int b = 0; b < 256; b++) {
                    fallback[b] = vocab.getOrDefault(String.format("<0x%02X>", b), -1);
                }
            }
            int unk = -1;
            JsonNode unkNode = model.get("unk_token");
            if (!isNull(unkNode)) {
                if (!unkNode.isTextual()) {
                    throw bad("model.unk_token = " + unkNode + " is not a string");
                }
                Integer id = vocab.get(unkNode.asText());
                if (id == null) {
                    throw bad("model.unk_token " + unkNode + " is not in model.vocab");
                }
                unk = id;
            }
            bpe = BpeModel.charLevel(vocab, fallback, unk, flag(model, "fuse_unk", false), ignoreMerges, mergeTable,
                    mergeResult, byId);
        }
        return new Tokenizer(source, tokens, vocab, bpe, normalizer, preTokenizer, decoder, post, added);
    }

    /** The normalizer: NFC (first only), Prepend, Replace with a literal pattern, or a Sequence of them. */
    private TextNormalizer readNormalizer(JsonNode node) {
        if (isNull(node)) {
            return TextNormalizer.NONE;
        }
        List<TextNormalizer.Step> steps = new ArrayList<>();
        addNormalizer(node, "normalizer", steps);
        return new TextNormalizer(steps);
    }

    private void addNormalizer(JsonNode node, String where, List<TextNormalizer.Step> steps) {
        String type = type(node, where);
        switch (type) {
            case "Sequence" -> {
                JsonNode list = array(node, "normalizers", where);
                for (int i = 0; i < list.size(); i++) {
                    addNormalizer(list.get(i), where + ".normalizers[" + i + "]", steps);
                }
            }
            case "NFC" -> {
                if (!steps.isEmpty()) {
                    throw bad(where + ": NFC after another normalizer is not supported (only as the first)");
                }
                steps.add(new TextNormalizer.NfcStep());
            }
            case "Prepend" -> {
                String prepend = text(node, "prepend", where);
                if (prepend.isEmpty()) {
                    throw bad(where + ".prepend is empty");
                }
                steps.add(new TextNormalizer.Prepend(prepend));
            }
            case "Replace" -> steps.add(new TextNormalizer.Replace(literalPattern(node, where, "Replace"),
                    text(node, "content", where)));
            default -> throw bad(where + " type \"" + type + "\" is not supported (supported: NFC, Prepend, "
                    + "Replace, Sequence)");
        }
    }

    /**
     * The pre-tokenizer: Splits, then optionally ByteLevel (which makes the model byte-level), in a Sequence or
     * alone; or Metaspace alone; or none.
     */
    private PreTokenizer readPreTokenizer(JsonNode node) {
        if (isNull(node)) {
            return new PreTokenizer(List.of(), null, false);
        }
        List<JsonNode> nodes = new ArrayList<>();
        List<String> wheres = new ArrayList<>();
        flattenPreTokenizers(node, "pre_tokenizer", nodes, wheres);
        List<PreTokenizer.Step> steps = new ArrayList<>();
        PreTokenizer.Metaspace metaspace = null;
        boolean byteLevel = false;
        for (int i = 0; i < nodes.size(); i++) {
            JsonNode n = nodes.get(i);
            String where = wheres.get(i);
            String type = type(n, where);
            if (byteLevel) {
                throw bad(where + ": " + type + " after ByteLevel is not supported (ByteLevel must come last)");
            }
            switch (type) {
                case "Split" -> steps.add(readSplit(n, where));
                case "ByteLevel" -> {
                    if (flag(n, "add_prefix_space", true)) {
                        throw bad(where + ".add_prefix_space = true is not supported");
                    }
                    if (flag(n, "use_regex", true)) {
                        steps.add(new PreTokenizer.ByteLevelRegex());
                    }
                    byteLevel = true;
                }
                case "Metaspace" -> {
                    if (nodes.size() > 1) {
                        throw bad(where + ": Metaspace together with other pre-tokenizers is not supported");
                    }
                    JsonNode split = n.get("split");
                    if (!isNull(split) && !split.isBoolean()) {
                        throw bad(where + ".split = " + split + " is not true or false");
                    }
                    metaspace = new PreTokenizer.Metaspace(character(n, "replacement", where),
                            prependScheme(n, where), isNull(split) || split.asBoolean());
                }
                default -> throw bad(where + " type \"" + type + "\" is not supported (supported: ByteLevel, Split, "
                        + "Metaspace, Sequence)");
            }
        }
        return new PreTokenizer(steps, metaspace, byteLevel);
    }

    private void flattenPreTokenizers(JsonNode node, String where, List<JsonNode> out, List<String> wheres) {
        if (type(node, where).equals("Sequence")) {
            JsonNode list = array(node, "pretokenizers", where);
            for (int i = 0; i < list.size(); i++) {
                flattenPreTokenizers(list.get(i), where + ".pretokenizers[" + i + "]", out, wheres);
            }
        } else {
            out.add(node);
            wheres.add(where);
        }
    }

    private PreTokenizer.Split readSplit(JsonNode node, String where) {
        JsonNode pattern = node.get("pattern");
        java.util.regex.Pattern regex;
        if (pattern != null && pattern.isObject() && pattern.size() == 1 && pattern.has("Regex")
                && pattern.get("Regex").isTextual()) {
            String onig = pattern.get("Regex").asText();
            try {
                regex = OnigRegex.compile(onig);
            } catch (OnigRegex.UnsupportedException e) {
                throw bad(where + ".pattern.Regex " + quote(onig) + ": " + e.getMessage());
            }
        } else {
            regex = java.util.regex.Pattern.compile(java.util.regex.Pattern.quote(literalPattern(node, where,
                    "Split")));
        }
        JsonNode behavior = node.get("behavior");
        PreTokenizer.Behavior b = null;
        if (behavior != null && behavior.isTextual()) {
            b = switch (behavior.asText()) {
                case "Removed" -> PreTokenizer.Behavior.REMOVED;
                case "Isolated" -> PreTokenizer.Behavior.ISOLATED;
                case "MergedWithPrevious" -> PreTokenizer.Behavior.MERGED_WITH_PREVIOUS;
                case "MergedWithNext" -> PreTokenizer.Behavior.MERGED_WITH_NEXT;
                case "Contiguous" -> PreTokenizer.Behavior.CONTIGUOUS;
                default -> null;
            };
        }
        if (b == null) {
            throw bad(where + ".behavior = " + behavior + " is not one of Removed, Isolated, MergedWithPrevious, "
                    + "MergedWithNext, Contiguous");
        }
        JsonNode invert = node.get("invert");
        if (invert == null || !invert.isBoolean()) {
            throw bad(where + ".invert is missing or not true or false");
        }
        return new PreTokenizer.Split(regex, b, invert.asBoolean());
    }

    /** A {"String": "..."} pattern (not empty); a {"Regex": ...} one is refused (only Split takes regexes). */
    private String literalPattern(JsonNode node, String where, String type) {
        JsonNode pattern = node.get("pattern");
        if (pattern != null && pattern.isObject() && pattern.has("Regex")) {
            throw bad(where + ".pattern: a " + type + " with a Regex pattern is not supported (only String)");
        }
        if (pattern == null || !pattern.isObject() || pattern.size() != 1 || !pattern.has("String")
                || !pattern.get("String").isTextual()) {
            throw bad(where + ".pattern is missing or not {\"String\": ...} or {\"Regex\": ...}");
        }
        String s = pattern.get("String").asText();
        if (s.isEmpty()) {
            throw bad(where + ".pattern.String is empty");
        }
        return s;
    }

    /** Metaspace's prepend_scheme, or the legacy add_prefix_space (false means never), as HF reads them. */
    private PreTokenizer.PrependScheme prependScheme(JsonNode node, String where) {
        JsonNode scheme = node.get("prepend_scheme");
        PreTokenizer.PrependScheme result = PreTokenizer.PrependScheme.ALWAYS;
        if (!isNull(scheme)) {
            result = switch (scheme.isTextual() ? scheme.asText() : "") {
                case "always" -> PreTokenizer.PrependScheme.ALWAYS;
                case "first" -> PreTokenizer.PrependScheme.FIRST;
                case "never" -> PreTokenizer.PrependScheme.NEVER;
                default -> throw bad(where + ".prepend_scheme = " + scheme + " is not always, first or never");
            };
        }
        if (!flag(node, "add_prefix_space", true)) {
            if (!isNull(scheme) && result != PreTokenizer.PrependScheme.NEVER) {
                throw bad(where + ": add_prefix_space = false contradicts prepend_scheme " + scheme);
            }
            result = PreTokenizer.PrependScheme.NEVER;
        }
        return result;
    }

    /** The decoder; none means HF's default, the token strings joined with spaces. */
    private TokenDecoder readDecoder(JsonNode node) {
        if (isNull(node)) {
            return TokenDecoder.NONE;
        }
        List<TokenDecoder.Step> steps = new ArrayList<>();
        List<String> wheres = new ArrayList<>();
        addDecoder(node, "decoder", steps, wheres);
        try {
            return TokenDecoder.of(steps);
        } catch (IllegalArgumentException e) {
            throw bad(wheres.get(Integer.parseInt(e.getMessage())) + " after Fuse or ByteLevel is not supported "
                    + "(only Strip may follow them)");
        }
    }

    private void addDecoder(JsonNode node, String where, List<TokenDecoder.Step> steps, List<String> wheres) {
        String type = type(node, where);
        TokenDecoder.Step step = switch (type) {
            case "Sequence" -> {
                JsonNode list = array(node, "decoders", where);
                for (int i = 0; i < list.size(); i++) {
                    addDecoder(list.get(i), where + ".decoders[" + i + "]", steps, wheres);
                }
                yield null;
            }
            case "ByteLevel" -> new TokenDecoder.ByteLevelJoin();
            case "Fuse" -> new TokenDecoder.Fuse();
            case "ByteFallback" -> new TokenDecoder.ByteFallback();
            case "Replace" -> new TokenDecoder.Replace(literalPattern(node, where, "Replace"),
                    text(node, "content", where));
            case "Metaspace" -> new TokenDecoder.Metaspace(character(node, "replacement", where),
                    prependScheme(node, where) != PreTokenizer.PrependScheme.NEVER);
            case "Strip" -> {
                JsonNode start = node.get("start");
                JsonNode stop = node.get("stop");
                if (start == null || !start.canConvertToInt() || start.asInt() < 0) {
                    throw bad(where + ".start is missing or not a count");
                }
                if (stop == null || !stop.isIntegralNumber() || stop.asLong() != 0) {
                    throw bad(where + ".stop = " + stop + " is not supported (only 0)");
                }
                yield new TokenDecoder.Strip(character(node, "content", where), start.asInt());
            }
            default -> throw bad(where + " type \"" + type + "\" is not supported (supported: ByteLevel, "
                    + "ByteFallback, Fuse, Metaspace, Replace, Strip, Sequence)");
        };
        if (step != null) {
            steps.add(step);
            wheres.add(where + " (" + type + ")");
        }
    }

    /**
     * The post-processor: ByteLevel (offset trimming), TemplateProcessing (the special tokens around a single
     * sequence; pairs are never encoded here, so "pair" is not read), or a Sequence of them.
     */
    private Tokenizer.PostProcessor readPostProcessor(JsonNode node, int vocabSize) {
        if (isNull(node)) {
            return Tokenizer.PostProcessor.NONE;
        }
        List<JsonNode> nodes = new ArrayList<>();
        List<String> wheres = new ArrayList<>();
        String type = type(node, "post_processor");
        if (type.equals("Sequence")) {
            JsonNode list = array(node, "processors", "post_processor");
            for (int i = 0; i < list.size(); i++) {
                nodes.add(list.get(i));
                wheres.add("post_processor.processors[" + i + "]");
            }
        } else {
            nodes.add(node);
            wheres.add("post_processor");
        }
        Tokenizer.TrimOffsets trim = null;
        Tokenizer.PostProcessor template = null;
        for (int i = 0; i < nodes.size(); i++) {
            JsonNode n = nodes.get(i);
            String where = wheres.get(i);
            switch (type(n, where)) {
                case "ByteLevel" -> {
                    if (trim != null || template != null) {
                        throw bad(where + ": only one ByteLevel, before the template, is supported");
                    }
                    if (flag(n, "trim_offsets", true)) {
                        trim = new Tokenizer.TrimOffsets(flag(n, "add_prefix_space", true));
                    }
                }
                case "TemplateProcessing" -> {
                    if (template != null) {
                        throw bad(where + ": a second TemplateProcessing is not supported");
                    }
                    template = readTemplate(n, where, vocabSize);
                }
                default -> throw bad(where + " type \"" + type(n, where) + "\" is not supported (supported: "
                        + "ByteLevel, TemplateProcessing, Sequence)");
            }
        }
        Tokenizer.PostProcessor t = template == null ? Tokenizer.PostProcessor.NONE : template;
        return new Tokenizer.PostProcessor(trim, t.prefixIds(), t.prefixTokens(), t.suffixIds(), t.suffixTokens());
    }

    /** The "single" template: special tokens, the sequence "A" once, special tokens. */
    private Tokenizer.PostProcessor readTemplate(JsonNode node, String where, int vocabSize) {
        JsonNode single = array(node, "single", where);
        JsonNode specials = node.get("special_tokens");
        IntList prefix = new IntList(4);
        IntList suffix = new IntList(4);
        List<String> prefixTokens = new ArrayList<>();
        List<String> suffixTokens = new ArrayList<>();
        boolean seenSequence = false;
        for (int i = 0; i < single.size(); i++) {
            JsonNode piece = single.get(i);
            String at = where + ".single[" + i + "]";
            if (piece.has("Sequence")) {
                String id = piece.get("Sequence").path("id").asText();
                if (!id.equals("A") || seenSequence) {
                    throw bad(at + " is the sequence " + quote(id) + "; a single template has \"A\" once");
                }
                seenSequence = true;
            } else if (piece.has("SpecialToken")) {
                String name = piece.get("SpecialToken").path("id").asText();
                JsonNode spec = specials == null ? null : specials.get(name);
                JsonNode ids = spec == null ? null : spec.get("ids");
                JsonNode strings = spec == null ? null : spec.get("tokens");
                if (ids == null || !ids.isArray() || strings == null || !strings.isArray()
                        || ids.size() != strings.size()) {
                    throw bad(at + " names the special token " + quote(name) + ", which " + where
                            + ".special_tokens does not define with ids and tokens");
                }
                for (int k = 0; k < ids.size(); k++) {
                    JsonNode id = ids.get(k);
                    if (!id.canConvertToInt() || id.asInt() < 0 || id.asInt() >= vocabSize) {
                        throw bad(where + ".special_tokens[" + quote(name) + "].ids[" + k + "] = " + id
                                + " is not a token id of this tokenizer");
                    }
                    (seenSequence ? suffix : prefix).add(id.asInt());
                    (seenSequence ? suffixTokens : prefixTokens).add(strings.get(k).asText());
                }
            } else {
                throw bad(at + " is neither Sequence nor SpecialToken");
            }
        }
        if (!seenSequence) {
            throw bad(where + ".single has no sequence \"A\"");
        }
        return new Tokenizer.PostProcessor(null, prefix.toArray(), List.copyOf(prefixTokens), suffix.toArray(),
                List.copyOf(suffixTokens));
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

    private JsonNode array(JsonNode node, String field, String where) {
        JsonNode v = node.get(field);
        if (v == null || !v.isArray()) {
            throw bad(where + "." + field + " is missing or not an array");
        }
        return v;
    }

    private String text(JsonNode node, String field, String where) {
        JsonNode v = node.get(field);
        if (v == null || !v.isTextual()) {
            throw bad(where + "." + field + " is missing or not a string");
        }
        return v.asText();
    }

    /** A field holding one character (a Rust char); only BMP characters are supported. */
    private char character(JsonNode node, String field, String where) {
        String s = text(node, field, where);
        if (s.length() != 1) {
            throw bad(where + "." + field + " = " + quote(s) + " is not one character (of the BMP)");
        }
        return s.charAt(0);
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
