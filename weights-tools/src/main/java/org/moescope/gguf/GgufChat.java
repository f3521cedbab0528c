package org.moescope.gguf;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.moescope.errors.BadInputException;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a tokenizer_config.json says about chat, between HF and GGUF's keys, both ways, as llama.cpp's converter
 * (gguf-py's SpecialVocab) writes them: the chat template in {@code tokenizer.chat_template} (a named one in
 * {@code tokenizer.chat_template.NAME}, listed in {@code tokenizer.chat_templates}), and the named special tokens
 * (bos_token, eos_token, ...) as ids into the vocabulary ({@code tokenizer.ggml.bos_token_id}, ...). Reading gives
 * back a tokenizer_config.json tree, which the engine's chat layer reads as it reads the file (one reader).
 */
public final class GgufChat {
    public static final String TEMPLATE = "tokenizer.chat_template";
    public static final String TEMPLATE_NAMES = "tokenizer.chat_templates";

    /** transformers' named special tokens and the GGUF key of each one's id (llama.cpp spells "seperator"). */
    public static final Map<String, String> TOKEN_KEYS;

    static {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("bos_token", "tokenizer.ggml.bos_token_id");
        m.put("eos_token", "tokenizer.ggml.eos_token_id");
        m.put("unk_token", "tokenizer.ggml.unknown_token_id");
        m.put("sep_token", "tokenizer.ggml.seperator_token_id");
        m.put("pad_token", "tokenizer.ggml.padding_token_id");
        m.put("cls_token", "tokenizer.ggml.cls_token_id");
        m.put("mask_token", "tokenizer.ggml.mask_token_id");
        TOKEN_KEYS = java.util.Collections.unmodifiableMap(m);
    }

    /** The ids llama.cpp also ends a generation at: end of turn and end of message (tokenizer_config has neither). */
    public static final List<String> END_KEYS = List.of("tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id");

    private GgufChat() {
    }

    /** Whether the file has a chat template (the default one or a named one). */
    public static boolean present(GgufFile f) {
        return f.metadata().keySet().stream().anyMatch(k -> k.equals(TEMPLATE) || k.startsWith(TEMPLATE + "."));
    }

    /**
     * The file's chat keys as a tokenizer_config.json tree: "chat_template" (a string, or with named templates a list
     * of {"name", "template"}, "default" first), and each named special token whose id key is set, as the vocabulary's
     * token of that id. An id outside the vocabulary is bad input naming the key.
     */
    public static ObjectNode toTokenizerConfig(GgufFile f) {
        JsonNodeFactory n = JsonNodeFactory.instance;
        ObjectNode config = n.objectNode();
        Map<String, String> templates = new LinkedHashMap<>();
        if (f.has(TEMPLATE)) templates.put("default", f.string(TEMPLATE));
        for (String key : f.metadata().keySet()) {
            if (key.startsWith(TEMPLATE + ".")) templates.put(key.substring(TEMPLATE.length() + 1), f.string(key));
        }
        if (templates.size() == 1 && templates.containsKey("default")) {
            config.put("chat_template", templates.get("default"));
        } else if (!templates.isEmpty()) {
            ArrayNode list = config.putArray("chat_template");
            templates.forEach((name, body) -> list.addObject().put("name", name).put("template", body));
        }
        List<String> tokens = f.has("tokenizer.ggml.tokens") ? f.strings("tokenizer.ggml.tokens") : List.of();
        for (Map.Entry<String, String> e : TOKEN_KEYS.entrySet()) {
            if (!f.has(e.getValue()) || tokens.isEmpty()) continue;
            long id = f.count(e.getValue());
            if (id >= tokens.size()) {
                throw new BadInputException(f.path() + ": " + e.getValue() + " = " + id + " is not a token id "
                        + "(vocabulary of " + tokens.size() + ")");
            }
            config.put(e.getKey(), tokens.get((int) id));
        }
        for (String add : List.of("add_bos_token", "add_eos_token")) {
            if (f.has("tokenizer.ggml." + add)) config.put(add, f.bool("tokenizer.ggml." + add));
        }
        return config;
    }

    /**
     * The chat keys for a file whose vocabulary is {@code tokens} with llama.cpp's {@code types} (empty when the file
     * carries no tokenizer): each template (the default one as {@code tokenizer.chat_template}, others under their
     * name with non-alphanumerics as '_', as gguf-py writes them), and the id of each named special token found among
     * the added tokens (CONTROL or USER_DEFINED); a token not found there is left out, as gguf-py leaves it.
     */
    public static Map<String, GgufValue> keys(Map<String, String> templates, Map<String, String> specialTokens,
                                              List<String> tokens, List<Long> types) {
        Map<String, GgufValue> out = new LinkedHashMap<>();
        List<String> names = new java.util.ArrayList<>();
        new java.util.TreeMap<>(templates).forEach((name, body) -> { // sorted: the same bytes on every run
            if (name.equals("default")) {
                out.put(TEMPLATE, GgufValue.of(body));
            } else {
                String safe = name.replaceAll("[^A-Za-z0-9]", "_");
                out.put(TEMPLATE + "." + safe, GgufValue.of(body));
                names.add(safe);
            }
        });
        if (!names.isEmpty()) out.put(TEMPLATE_NAMES, GgufValue.array(GgufValue.Type.STRING, names));
        for (Map.Entry<String, String> e : specialTokens.entrySet()) {
            String key = TOKEN_KEYS.get(e.getKey());
            if (key == null) continue;
            for (int id = 0; id < tokens.size(); id++) {
                long type = types.get(id);
                if ((type == GgufTokenizer.CONTROL || type == GgufTokenizer.USER_DEFINED)
                        && tokens.get(id).equals(e.getValue())) {
                    out.put(key, GgufValue.u32(id));
                    break;
                }
            }
        }
        return out;
    }
}
