package org.moescope.chat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The committed goldens of tools/reference/make_chat_golden.py (test resources under chat/). */
final class ChatGoldens {
    private static final ObjectMapper JSON = new ObjectMapper();

    private ChatGoldens() {
    }

    static String resource(String name) {
        try (InputStream in = ChatGoldens.class.getResourceAsStream("/chat/" + name)) {
            if (in == null) throw new IllegalStateException("test resource chat/" + name + " is missing");
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static List<JsonNode> lines(String name) {
        List<JsonNode> out = new ArrayList<>();
        try (InputStream in = ChatGoldens.class.getResourceAsStream("/chat/" + name)) {
            if (in == null) throw new IllegalStateException("test resource chat/" + name + " is missing");
            BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
            for (String line; (line = r.readLine()) != null; ) {
                if (!line.isBlank()) out.add(JSON.readTree(line));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    @SuppressWarnings("unchecked")
    static List<Object> list(JsonNode n) {
        return n == null || n.isNull() ? null : (List<Object>) PyJson.fromJson(n, "golden");
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> map(JsonNode n) {
        return n == null || n.isNull() ? new LinkedHashMap<>() : (Map<String, Object>) PyJson.fromJson(n, "golden");
    }
}
