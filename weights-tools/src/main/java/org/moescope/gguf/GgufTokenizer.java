package org.moescope.gguf;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.moescope.errors.BadInputException;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A byte-level BPE tokenizer between HF's tokenizer.json and GGUF's {@code tokenizer.ggml.*} keys, both ways.
 * GGUF keeps the vocabulary (tokens by id, their types, merges, bos/eos/padding ids, add_bos/add_eos) and names the
 * pre-tokenizer by a llama.cpp family ({@code tokenizer.ggml.pre}); the normalizer and pre-tokenizer of each family
 * are in {@link #FAMILIES}, as the family's own tokenizer.json spells them. Reading gives back a tokenizer.json tree
 * (which the engine's tokenizer reader then checks as it checks any tokenizer.json), so there is one tokenizer
 * implementation; writing recognises the family by comparing those two sections.
 */
public final class GgufTokenizer {
    /** llama.cpp's token types (llama_token_type). */
    static final long NORMAL = 1, CONTROL = 3, USER_DEFINED = 4, UNUSED = 5;

    private static final ObjectMapper MAPPER = new ObjectMapper();

    /** A family's normalizer (null: none) and pre_tokenizer, as in its tokenizer.json. */
    private record Family(String normalizer, String preTokenizer) {
    }

    private static final String GPT2_BYTE_LEVEL =
            "{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"trim_offsets\":true,\"use_regex\":true}";

    private static String splitsThenByteLevel(String... regexes) {
        StringBuilder s = new StringBuilder("{\"type\":\"Sequence\",\"pretokenizers\":[");
        for (String r : regexes) {
            s.append("{\"type\":\"Split\",\"pattern\":{\"Regex\":").append(quote(r))
                    .append("},\"behavior\":\"Isolated\",\"invert\":false},");
        }
        return s.append("{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"trim_offsets\":true,"
                + "\"use_regex\":false}]}").toString();
    }

    /** By llama.cpp's tokenizer.ggml.pre name (llama-vocab.cpp), in the order a writer tries them. */
    private static final Map<String, Family> FAMILIES = new LinkedHashMap<>();

    static {
        FAMILIES.put("gpt-2", new Family(null, GPT2_BYTE_LEVEL));
        FAMILIES.put("olmo", new Family("{\"type\":\"NFC\"}", GPT2_BYTE_LEVEL));
        FAMILIES.put("qwen2", new Family("{\"type\":\"NFC\"}", splitsThenByteLevel(
                "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
                        + "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+")));
        FAMILIES.put("llama-bpe", new Family(null, splitsThenByteLevel(
                "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
                        + "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+")));
        FAMILIES.put("deepseek-v3", new Family("{\"type\":\"Sequence\",\"normalizers\":[]}", splitsThenByteLevel(
                "\\p{N}{1,3}",
                "[\u4e00-\u9fa5\u3040-\u309f\u30a0-\u30ff]+",
                "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+"
                        + "| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+")));
    }

    private GgufTokenizer() {
    }

    /** The tokenizer.ggml.pre names this reads and writes. */
    public static List<String> families() {
        return List.copyOf(FAMILIES.keySet());
    }

    /** {@code tokenizer.ggml.model} of a file without a vocabulary (llama.cpp also reads "no_vocab" so). */
    public static final String NONE = "none";

    /** Whether the file carries a tokenizer: {@code tokenizer.ggml.model} present and not "none" / "no_vocab". */
    public static boolean present(GgufFile f) {
        if (!f.has("tokenizer.ggml.model")) return false;
        String model = f.string("tokenizer.ggml.model");
        return !model.equals(NONE) && !model.equals("no_vocab");
    }

    /**
     * The file's tokenizer as a tokenizer.json tree. A model other than gpt2 (byte-level BPE) or a pre-tokenizer
     * family not in {@link #families()} is refused by name; the tree's contents are checked by the tokenizer reader.
     */
    public static ObjectNode toTokenizerJson(GgufFile f) {
        String model = f.string("tokenizer.ggml.model");
        if (!model.equals("gpt2")) {
            throw new BadInputException(f.path() + ": tokenizer.ggml.model \"" + model
                    + "\" is not supported (supported: gpt2, byte-level BPE)");
        }
        String pre = f.has("tokenizer.ggml.pre") ? f.string("tokenizer.ggml.pre") : "default";
        Family family = FAMILIES.get(pre);
        if (family == null) {
            throw new BadInputException(f.path() + ": tokenizer.ggml.pre \"" + pre + "\" is not supported (supported: "
                    + String.join(", ", FAMILIES.keySet()) + ")");
        }
        List<String> tokens = f.strings("tokenizer.ggml.tokens");
        List<?> types = f.has("tokenizer.ggml.token_type") ? f.array("tokenizer.ggml.token_type",
                f.metadata().get("tokenizer.ggml.token_type").elementType()) : null;
        if (types != null && types.size() != tokens.size()) {
            throw new BadInputException(f.path() + ": tokenizer.ggml.token_type has " + types.size()
                    + " entries, tokenizer.ggml.tokens " + tokens.size());
        }
        List<String> merges = f.strings("tokenizer.ggml.merges");

        JsonNodeFactory n = JsonNodeFactory.instance;
        ObjectNode root = n.objectNode();
        root.put("version", "1.0");
        root.putNull("truncation");
        root.putNull("padding");
        ArrayNode added = root.putArray("added_tokens");
        ObjectNode vocab = n.objectNode();
        for (int id = 0; id < tokens.size(); id++) {
            String token = tokens.get(id);
            long type = types == null ? NORMAL : ((Number) types.get(id)).longValue();
            if (type == UNUSED) {
                continue; // convert_hf_to_gguf's "[PADn]" for an id the tokenizer lacks: no token, as in its source
            }
            if (type == CONTROL || type == USER_DEFINED) {
                // llama.cpp keeps added tokens as text; the BPE vocabulary holds their byte-level spelling.
                added.addObject().put("id", id).put("content", token).put("single_word", false)
                        .put("lstrip", false).put("rstrip", false).put("normalized", type == USER_DEFINED)
                        .put("special", type == CONTROL);
                vocab.put(byteLevel(token), id);
            } else {
                vocab.put(token, id);
            }
        }
        root.set("normalizer", family.normalizer == null ? n.nullNode() : tree(family.normalizer));
        root.set("pre_tokenizer", tree(family.preTokenizer));
        root.set("post_processor", postProcessor(f, tokens));
        root.set("decoder", tree("{\"type\":\"ByteLevel\",\"add_prefix_space\":true,\"trim_offsets\":true,"
                + "\"use_regex\":true}"));
        ObjectNode m = root.putObject("model");
        m.put("type", "BPE");
        m.putNull("dropout");
        m.putNull("unk_token");
        m.put("fuse_unk", false);
        m.put("byte_fallback", false);
        m.put("ignore_merges", pre.equals("llama-bpe"));
        m.set("vocab", vocab);
        ArrayNode mergeArray = m.putArray("merges");
        merges.forEach(mergeArray::add);
        return root;
    }

    /** TemplateProcessing adding BOS and/or EOS when the file says so, else none. */
    private static JsonNode postProcessor(GgufFile f, List<String> tokens) {
        List<String> prefix = new ArrayList<>();
        List<String> suffix = new ArrayList<>();
        if (f.has("tokenizer.ggml.add_bos_token") && f.bool("tokenizer.ggml.add_bos_token")) {
            prefix.add(specialToken(f, tokens, "bos"));
        }
        if (f.has("tokenizer.ggml.add_eos_token") && f.bool("tokenizer.ggml.add_eos_token")) {
            suffix.add(specialToken(f, tokens, "eos"));
        }
        if (prefix.isEmpty() && suffix.isEmpty()) {
            return JsonNodeFactory.instance.nullNode();
        }
        ObjectNode p = JsonNodeFactory.instance.objectNode();
        p.put("type", "TemplateProcessing");
        ArrayNode single = p.putArray("single");
        ObjectNode specials = p.putObject("special_tokens");
        for (String t : prefix) single.addObject().putObject("SpecialToken").put("id", t).put("type_id", 0);
        single.addObject().putObject("Sequence").put("id", "A").put("type_id", 0);
        for (String t : suffix) single.addObject().putObject("SpecialToken").put("id", t).put("type_id", 0);
        p.putArray("pair");
        for (String t : concat(prefix, suffix)) {
            ObjectNode s = specials.putObject(t);
            s.put("id", t);
            s.putArray("ids").add(tokens.indexOf(t));
            s.putArray("tokens").add(t);
        }
        return p;
    }

    private static String specialToken(GgufFile f, List<String> tokens, String which) {
        String key = "tokenizer.ggml." + which + "_token_id";
        if (!f.has(key)) {
            throw new BadInputException(f.path() + ": tokenizer.ggml.add_" + which + "_token is set but " + key
                    + " is missing");
        }
        long id = f.count(key);
        if (id < 0 || id >= tokens.size()) {
            throw new BadInputException(f.path() + ": " + key + " = " + id + " is not a token id (vocabulary of "
                    + tokens.size() + ")");
        }
        String t = tokens.get((int) id);
        if (tokens.indexOf(t) != id) {
            throw new BadInputException(f.path() + ": " + key + " = " + id + " names token " + quote(t)
                    + ", which an earlier id also has");
        }
        return t;
    }

    /**
     * The {@code tokenizer.ggml.*} keys of a tokenizer.json ({@code source} names it in messages), the vocabulary
     * padded to {@code vocabSize} ids (the embedding's rows: llama.cpp requires them equal) when it has fewer, or a
     * one-line reason in {@code why} and null when GGUF cannot carry it (not a byte-level BPE of a known family).
     */
    public static Map<String, GgufValue> fromTokenizerJson(JsonNode tj, String source, long vocabSize,
                                                           StringBuilder why) {
        JsonNode model = tj.path("model");
        if (!model.path("type").asText("BPE").equals("BPE") || !model.path("vocab").isObject()
                || !model.path("merges").isArray()) {
            why.append(source + ": not a BPE tokenizer.json");
            return null;
        }
        String family = null;
        for (Map.Entry<String, Family> e : FAMILIES.entrySet()) {
            Family fam = e.getValue();
            JsonNode normalizer = tj.get("normalizer");
            boolean sameNormalizer = fam.normalizer == null ? normalizer == null || normalizer.isNull()
                    : tree(fam.normalizer).equals(normalizer);
            if (sameNormalizer && withoutTrim(tree(fam.preTokenizer)).equals(withoutTrim(tj.get("pre_tokenizer")))) {
                family = e.getKey();
                break;
            }
        }
        if (family == null) {
            why.append(source + ": its normalizer and pre_tokenizer match no tokenizer.ggml.pre family written here ("
                    + String.join(", ", FAMILIES.keySet()) + ")");
            return null;
        }
        if (model.path("ignore_merges").asBoolean(false) != family.equals("llama-bpe")) {
            why.append(source + ": model.ignore_merges differs from llama.cpp's " + family + " tokenizer");
            return null;
        }
        Map<Integer, String> byId = new java.util.TreeMap<>();
        model.get("vocab").properties().forEach(e -> byId.put(e.getValue().asInt(), e.getKey()));
        Map<Integer, Long> typeById = new java.util.HashMap<>();
        for (JsonNode a : tj.path("added_tokens")) {
            byId.put(a.path("id").asInt(), a.path("content").asText());
            typeById.put(a.path("id").asInt(), a.path("special").asBoolean() ? CONTROL : USER_DEFINED);
        }
        int size = byId.isEmpty() ? 0 : ((java.util.TreeMap<Integer, String>) byId).lastKey() + 1;
        // Padded up to the embedding's rows, as llama.cpp requires. A tokenizer with more ids than rows (a small test
        // model given a real tokenizer) is written whole: moescope reads it; llama.cpp refuses such a file.
        size = (int) Math.max(size, vocabSize);
        List<String> tokens = new ArrayList<>(size);
        List<Long> types = new ArrayList<>(size);
        for (int id = 0; id < size; id++) {
            String t = byId.get(id);
            // As convert_hf_to_gguf pads a vocabulary with holes, and up to the embedding's rows.
            tokens.add(t == null ? "[PAD" + id + "]" : t);
            types.add(t == null ? UNUSED : typeById.getOrDefault(id, NORMAL));
        }
        List<String> merges = new ArrayList<>();
        for (JsonNode m : model.get("merges")) {
            merges.add(m.isArray() ? m.get(0).asText() + " " + m.get(1).asText() : m.asText());
        }
        Map<String, GgufValue> out = new LinkedHashMap<>();
        out.put("tokenizer.ggml.model", GgufValue.of("gpt2"));
        out.put("tokenizer.ggml.pre", GgufValue.of(family));
        out.put("tokenizer.ggml.tokens", GgufValue.array(GgufValue.Type.STRING, tokens));
        out.put("tokenizer.ggml.token_type", GgufValue.array(GgufValue.Type.INT32, types));
        out.put("tokenizer.ggml.merges", GgufValue.array(GgufValue.Type.STRING, merges));
        List<String>[] template = template(tj.get("post_processor"));
        if (template == null) {
            why.append(source + ": post_processor adds tokens GGUF's add_bos/add_eos cannot express");
            return null;
        }
        out.put("tokenizer.ggml.add_bos_token", GgufValue.bool(!template[0].isEmpty()));
        out.put("tokenizer.ggml.add_eos_token", GgufValue.bool(!template[1].isEmpty()));
        if (!template[0].isEmpty()) out.put("tokenizer.ggml.bos_token_id", GgufValue.u32(tokens.indexOf(template[0].get(0))));
        if (!template[1].isEmpty()) out.put("tokenizer.ggml.eos_token_id", GgufValue.u32(tokens.indexOf(template[1].get(0))));
        return out;
    }

    /** The special tokens a TemplateProcessing puts before and after a single sequence; null if more than one each. */
    @SuppressWarnings("unchecked")
    private static List<String>[] template(JsonNode post) {
        List<String>[] r = new List[] {new ArrayList<String>(), new ArrayList<String>()};
        if (post == null || post.isNull()) return r;
        if (post.path("type").asText().equals("Sequence")) {
            for (JsonNode p : post.path("processors")) {
                List<String>[] inner = template(p);
                if (inner == null) return null;
                r[0].addAll(inner[0]);
                r[1].addAll(inner[1]);
            }
        } else if (post.path("type").asText().equals("TemplateProcessing")) {
            boolean afterA = false;
            for (JsonNode piece : post.path("single")) {
                if (piece.has("Sequence")) afterA = true;
                else r[afterA ? 1 : 0].add(piece.path("SpecialToken").path("id").asText());
            }
        }
        return r[0].size() > 1 || r[1].size() > 1 ? null : r;
    }

    private static JsonNode withoutTrim(JsonNode node) {
        if (node == null) return null;
        JsonNode copy = node.deepCopy();
        strip(copy);
        return copy;
    }

    private static void strip(JsonNode node) {
        if (node instanceof ObjectNode o) o.remove("trim_offsets");
        node.forEach(GgufTokenizer::strip);
    }

    /** GPT-2's byte-to-character mapping of the UTF-8 bytes of {@code s}. */
    static String byteLevel(String s) {
        StringBuilder b = new StringBuilder();
        for (byte x : s.getBytes(java.nio.charset.StandardCharsets.UTF_8)) {
            int v = x & 0xFF;
            boolean printable = (v >= '!' && v <= '~') || (v >= 0xA1 && v <= 0xAC) || (v >= 0xAE);
            if (printable) {
                b.append((char) v);
            } else {
                // The 68 bytes that are not printable map to 256, 257, ... in byte order.
                int k = 0;
                for (int u = 0; u < v; u++) {
                    boolean p = (u >= '!' && u <= '~') || (u >= 0xA1 && u <= 0xAC) || (u >= 0xAE);
                    if (!p) k++;
                }
                b.append((char) (256 + k));
            }
        }
        return b.toString();
    }

    private static List<String> concat(List<String> a, List<String> b) {
        List<String> r = new ArrayList<>(a);
        r.addAll(b);
        return r;
    }

    private static JsonNode tree(String json) {
        try {
            return MAPPER.readTree(json);
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String quote(String s) {
        try {
            return MAPPER.writeValueAsString(s);
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
    }
}
