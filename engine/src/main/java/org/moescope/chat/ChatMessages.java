package org.moescope.chat;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.moescope.errors.BadInputException;
import org.moescope.tokenizer.TextFile;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Conversation files: a messages file is a non-empty JSON list of objects, each with a string "role" and a "content"
 * (a string, null for an assistant turn that only calls tools, or a list of content parts); other keys
 * (tool_calls, reasoning_content, name...) pass through to the template. A tools file is a JSON list of tool
 * schemas (objects). Values keep JSON order and types, as Python's json.load gives them to transformers.
 */
public final class ChatMessages {
    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private ChatMessages() {
    }

    /** Reads and checks a messages file; anything else is a one-line BadInputException naming the file and message. */
    public static List<Object> load(Path file) {
        return check(read(file), file.toString());
    }

    /** Checks parsed messages; {@code source} names them in errors. */
    public static List<Object> check(JsonNode node, String source) {
        if (node == null || !node.isArray()) {
            throw new BadInputException(source + ": not a JSON list of messages ([{\"role\": ..., \"content\": ...}, ...])");
        }
        if (node.isEmpty()) throw new BadInputException(source + ": the list of messages is empty");
        for (int i = 0; i < node.size(); i++) {
            JsonNode m = node.get(i);
            String where = source + ": message " + (i + 1);
            if (!m.isObject()) throw new BadInputException(where + " is not an object with \"role\" and \"content\"");
            JsonNode role = m.get("role");
            if (role == null) throw new BadInputException(where + " has no \"role\"");
            if (!role.isTextual()) throw new BadInputException(where + ": \"role\" must be a string, not " + role);
            if (!m.has("content")) throw new BadInputException(where + " (" + role.textValue() + ") has no \"content\"");
            JsonNode content = m.get("content");
            if (!content.isTextual() && !content.isNull() && !content.isArray()) {
                throw new BadInputException(where + " (" + role.textValue() + "): \"content\" must be a string, null or "
                        + "a list of content parts, not " + content.getNodeType().name().toLowerCase());
            }
        }
        @SuppressWarnings("unchecked")
        List<Object> messages = (List<Object>) PyJson.fromJson(node, source);
        return messages;
    }

    /** Reads a tools file: a JSON list of tool schemas (objects). */
    public static List<Object> loadTools(Path file) {
        JsonNode node = read(file);
        if (!node.isArray()) throw new BadInputException(file + ": not a JSON list of tools");
        for (int i = 0; i < node.size(); i++) {
            if (!node.get(i).isObject()) {
                throw new BadInputException(file + ": tool " + (i + 1) + " is not an object (a JSON schema)");
            }
        }
        @SuppressWarnings("unchecked")
        List<Object> tools = (List<Object>) PyJson.fromJson(node, file.toString());
        return tools;
    }

    /** A message as the template sees it. */
    public static Map<String, Object> message(String role, String content) {
        Map<String, Object> m = new java.util.LinkedHashMap<>();
        m.put("role", role);
        m.put("content", content);
        return m;
    }

    /** Parses one JSON value given on the command line (e.g. --var enable_thinking=false). */
    public static Object parseValue(String json, String what) {
        try {
            JsonNode node = JSON.readTree(json);
            if (node == null) throw new BadInputException(what + ": empty value");
            return PyJson.fromJson(node, what);
        } catch (JsonProcessingException e) {
            throw new BadInputException(what + ": not a JSON value (" + e.getOriginalMessage() + "); quote strings, "
                    + "e.g. '\"text\"'");
        }
    }

    private static JsonNode read(Path file) {
        String text = TextFile.readUtf8(file);
        try {
            JsonNode node = JSON.readTree(text);
            if (node == null) throw new BadInputException(file + ": empty file");
            return node;
        } catch (JsonProcessingException e) {
            throw new BadInputException(file + ": not valid JSON (" + e.getOriginalMessage() + " at line "
                    + e.getLocation().getLineNr() + ")");
        }
    }

    /** A copy of the list with one more message (conversations grow immutably). */
    public static List<Object> plus(List<Object> messages, Map<String, Object> message) {
        List<Object> out = new ArrayList<>(messages);
        out.add(message);
        return out;
    }
}
