package org.moescope.chat;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.moescope.checkpoint.Checkpoint;
import org.moescope.errors.BadInputException;
import org.moescope.gguf.GgufChat;
import org.moescope.gguf.GgufFile;
import org.moescope.tokenizer.TextFile;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a tokenizer directory says about chat, read as transformers 5 reads it: the chat template (chat_template.jinja
 * beside tokenizer_config.json wins over tokenizer_config.json's {@code chat_template}, which is a string or a list of
 * {"name", "template"} with a "default" and maybe a "tool_use" one), and the named special tokens the template sees
 * (bos_token, eos_token, unk_token, sep_token, pad_token, cls_token, mask_token: a string or an AddedToken object
 * {"content": ...}; those left null are not passed; the legacy special_tokens_map.json overrides them when
 * tokenizer_config.json has no added_tokens_decoder, as transformers 5 does).
 *
 * @param dir           the directory
 * @param templates     template name ("default", "tool_use", ...) to source; empty when the directory has none
 * @param templateFiles template name to the file it came from (for messages)
 * @param specialTokens the named special tokens that are set, in transformers' order
 */
public record ChatConfig(Path dir, Map<String, String> templates, Map<String, String> templateFiles,
                         Map<String, String> specialTokens) {
    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    private static final List<String> NAMED_TOKENS = List.of("bos_token", "eos_token", "unk_token", "sep_token",
            "pad_token", "cls_token", "mask_token");

    /**
     * Reads dir/tokenizer_config.json (and chat_template.jinja, special_tokens_map.json when present), or a GGUF
     * file's tokenizer.chat_template and special token ids ({@link GgufChat}), read as the tokenizer_config.json a
     * GGUF → safetensors conversion writes.
     */
    public static ChatConfig load(Path dir) {
        Checkpoint.checkModelPath(dir);
        if (Checkpoint.isGguf(dir)) {
            try (GgufFile f = GgufFile.open(dir)) {
                return from(dir, GgufChat.toTokenizerConfig(f), dir + " (tokenizer.chat_template)", null, null, null);
            }
        }
        Path configFile = dir.resolve("tokenizer_config.json");
        Path jinjaFile = dir.resolve("chat_template.jinja");
        if (!Files.isRegularFile(configFile) && !Files.isRegularFile(jinjaFile)) {
            throw new BadInputException(dir + ": has neither tokenizer_config.json nor chat_template.jinja");
        }
        JsonNode config = Files.isRegularFile(configFile) ? readObject(configFile) : JSON.createObjectNode();
        Path legacyFile = dir.resolve("special_tokens_map.json");
        return from(dir, config, configFile.toString(),
                Files.isRegularFile(jinjaFile) ? TextFile.readUtf8(jinjaFile) : null, jinjaFile,
                Files.isRegularFile(legacyFile) ? legacyFile : null);
    }

    /** Whether {@code model} (a checkpoint directory or a GGUF file) has chat files / a chat template to read. */
    public static boolean inModel(Path model) {
        if (Checkpoint.isGguf(model)) {
            try (GgufFile f = GgufFile.open(model)) {
                return GgufChat.present(f);
            }
        }
        return Files.isRegularFile(model.resolve("tokenizer_config.json"))
                || Files.isRegularFile(model.resolve("chat_template.jinja"));
    }

    /** A tokenizer_config.json tree (from {@code configFile}), the chat_template.jinja text or null, and the legacy map. */
    private static ChatConfig from(Path dir, JsonNode config, String configFile, String jinja, Path jinjaFile,
                                   Path legacyFile) {
        Map<String, String> templates = new LinkedHashMap<>();
        Map<String, String> files = new LinkedHashMap<>();
        if (jinja != null) {
            templates.put("default", jinja);
            files.put("default", jinjaFile.toString());
        } else {
            JsonNode t = config.get("chat_template");
            if (t != null && t.isTextual()) {
                templates.put("default", t.textValue());
                files.put("default", configFile);
            } else if (t != null && t.isArray()) {
                for (JsonNode entry : t) {
                    JsonNode name = entry.get("name");
                    JsonNode body = entry.get("template");
                    if (name == null || !name.isTextual() || body == null || !body.isTextual()) {
                        throw new BadInputException(configFile + ": chat_template: each entry of the list needs "
                                + "string fields \"name\" and \"template\"");
                    }
                    templates.put(name.textValue(), body.textValue());
                    files.put(name.textValue(), configFile + " (chat_template \"" + name.textValue() + "\")");
                }
            } else if (t != null && !t.isNull()) {
                throw new BadInputException(configFile + ": chat_template must be a string or a list of "
                        + "{\"name\", \"template\"} objects");
            }
        }
        Map<String, String> special = new LinkedHashMap<>();
        for (String name : NAMED_TOKENS) {
            String value = token(config, name, configFile);
            if (value != null) special.put(name, value);
        }
        // transformers 5 reads the legacy special_tokens_map.json only when tokenizer_config.json has no
        // added_tokens_decoder, and then its entries override tokenizer_config.json's.
        if (!config.has("added_tokens_decoder") && legacyFile != null) {
            JsonNode legacy = readObject(legacyFile);
            for (String name : NAMED_TOKENS) {
                if (!legacy.has(name)) continue;
                String value = token(legacy, name, legacyFile.toString());
                if (value != null) special.put(name, value);
                else special.remove(name);
            }
        }
        return new ChatConfig(dir, Map.copyOf(templates), Map.copyOf(files), java.util.Collections.unmodifiableMap(special));
    }

    /** Whether the directory has a chat template. */
    public boolean hasTemplate() {
        return !templates.isEmpty();
    }

    /**
     * The template transformers would pick: the only one; of several, "tool_use" when tools are given and it exists,
     * else "default".
     */
    public ChatTemplate template(boolean withTools) {
        if (templates.isEmpty()) {
            throw new BadInputException(dir + (Files.isDirectory(dir) ? ": no chat template (tokenizer_config.json has "
                    + "no chat_template and there is no chat_template.jinja)" : ": no chat template (no " + GgufChat.TEMPLATE
                    + ")"));
        }
        String name;
        if (templates.size() == 1) {
            name = templates.keySet().iterator().next();
        } else if (withTools && templates.containsKey("tool_use")) {
            name = "tool_use";
        } else if (templates.containsKey("default")) {
            name = "default";
        } else {
            throw new BadInputException(dir + ": several chat templates (" + String.join(", ", templates.keySet())
                    + ") and none named \"default\"");
        }
        return ChatTemplate.parse(templates.get(name), templateFiles.get(name));
    }

    /** The eos_token's content, if set. */
    public String eosToken() {
        return specialTokens.get("eos_token");
    }

    private static String token(JsonNode config, String name, String file) {
        JsonNode v = config.get(name);
        if (v == null || v.isNull()) return null;
        if (v.isTextual()) return v.textValue();
        if (v.isObject() && v.has("content") && v.get("content").isTextual()) return v.get("content").textValue();
        throw new BadInputException(file + ": " + name + " must be a string or an object with a string \"content\"");
    }

    static JsonNode readObject(Path file) {
        JsonNode node;
        try {
            node = JSON.readTree(TextFile.readUtf8(file));
        } catch (JsonProcessingException e) {
            throw new BadInputException(file + ": not valid JSON (" + e.getOriginalMessage() + ", line "
                    + e.getLocation().getLineNr() + ")");
        }
        if (node == null || !node.isObject()) throw new BadInputException(file + ": not a JSON object");
        return node;
    }

    /**
     * The end-of-sequence ids a chat reply may stop at: config.json's eos_token_id and generation_config.json's
     * (each a number or a list), and the id of tokenizer_config.json's eos_token as {@code eosId} resolves it. A GGUF
     * file has no generation_config.json; its end-of-turn and end-of-message ids (llama.cpp's) stand in for it.
     */
    public static List<Integer> stopIds(Path modelDir, Integer configEos, Integer templateEos) {
        List<Integer> ids = new ArrayList<>();
        if (configEos != null) ids.add(configEos);
        Path gen = modelDir.resolve("generation_config.json");
        if (Checkpoint.isGguf(modelDir)) {
            try (GgufFile f = GgufFile.open(modelDir)) {
                for (String key : GgufChat.END_KEYS) {
                    if (f.has(key)) ids.add(Math.toIntExact(Math.min(f.count(key), Integer.MAX_VALUE)));
                }
            }
        } else if (Files.isRegularFile(gen)) {
            JsonNode eos = readObject(gen).get("eos_token_id");
            if (eos != null && eos.isIntegralNumber()) {
                ids.add(eos.intValue());
            } else if (eos != null && eos.isArray()) {
                for (Iterator<JsonNode> it = eos.elements(); it.hasNext(); ) {
                    JsonNode e = it.next();
                    if (!e.isIntegralNumber()) throw new BadInputException(gen + ": eos_token_id must hold integers");
                    ids.add(e.intValue());
                }
            } else if (eos != null && !eos.isNull()) {
                throw new BadInputException(gen + ": eos_token_id must be an integer or a list of integers");
            }
        }
        if (templateEos != null) ids.add(templateEos);
        return ids.stream().distinct().toList();
    }
}
