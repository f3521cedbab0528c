package org.moescope.gguf;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.moescope.errors.BadInputException;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The chat keys as gguf-py's SpecialVocab writes them, written and read back as a tokenizer_config.json tree. */
class GgufChatTest {
    @TempDir
    Path tmp;

    private static final List<String> TOKENS = List.of("a", "b", "<|im_start|>", "<|im_end|>", "<pad>", "<|im_end|>");
    // the last one repeats a special token's text as a NORMAL token: ids come from the added tokens only
    private static final List<Long> TYPES = List.of(1L, 1L, 3L, 3L, 4L, 1L);

    private Path write(Map<String, GgufValue> keys) {
        GgufWriter w = new GgufWriter().put("general.architecture", GgufValue.of("olmoe"))
                .put("tokenizer.ggml.tokens", GgufValue.array(GgufValue.Type.STRING, TOKENS))
                .put("tokenizer.ggml.token_type", GgufValue.array(GgufValue.Type.INT32, TYPES));
        keys.forEach(w::put);
        Path f = tmp.resolve("chat.gguf");
        w.write(f);
        return f;
    }

    @Test
    void namedTemplatesAndSpecialTokensRoundTrip() throws Exception {
        Map<String, String> templates = new LinkedHashMap<>();
        templates.put("tool_use", "T{{ tools|length }}");
        templates.put("default", "D{{ messages|length }}");
        templates.put("rag mode", "R");
        Map<String, String> special = new LinkedHashMap<>();
        special.put("eos_token", "<|im_end|>");
        special.put("pad_token", "<pad>");
        special.put("bos_token", "not in the vocabulary");
        Map<String, GgufValue> keys = GgufChat.keys(templates, special, TOKENS, TYPES);
        assertEquals("D{{ messages|length }}", keys.get("tokenizer.chat_template").value());
        assertEquals("T{{ tools|length }}", keys.get("tokenizer.chat_template.tool_use").value());
        assertEquals("R", keys.get("tokenizer.chat_template.rag_mode").value(), "non-alphanumerics as _, as gguf-py");
        assertEquals(List.of("rag_mode", "tool_use"), keys.get("tokenizer.chat_templates").value());
        assertEquals(3L, keys.get("tokenizer.ggml.eos_token_id").value(), "the added token, not the normal id 5");
        assertEquals(4L, keys.get("tokenizer.ggml.padding_token_id").value());
        assertFalse(keys.containsKey("tokenizer.ggml.bos_token_id"), "a token not found is left out");

        keys.put("tokenizer.ggml.add_bos_token", GgufValue.bool(false));
        try (GgufFile f = GgufFile.open(write(keys))) {
            assertTrue(GgufChat.present(f));
            assertEquals(new ObjectMapper().readTree("""
                    {"chat_template": [{"name": "default", "template": "D{{ messages|length }}"},
                                       {"name": "rag_mode", "template": "R"},
                                       {"name": "tool_use", "template": "T{{ tools|length }}"}],
                     "eos_token": "<|im_end|>", "pad_token": "<pad>", "add_bos_token": false}
                    """), GgufChat.toTokenizerConfig(f));
        }
    }

    @Test
    void oneTemplateIsAStringAndNoneIsAbsent() throws Exception {
        try (GgufFile f = GgufFile.open(write(GgufChat.keys(Map.of("default", "X"), Map.of(), TOKENS, TYPES)))) {
            assertEquals(new ObjectMapper().readTree("{\"chat_template\": \"X\"}"), GgufChat.toTokenizerConfig(f));
        }
        try (GgufFile f = GgufFile.open(write(Map.of()))) {
            assertFalse(GgufChat.present(f));
            assertTrue(GgufChat.toTokenizerConfig(f).isEmpty());
        }
    }

    @Test
    void anIdOutsideTheVocabularyIsOneLineNamingTheKey() {
        Path file = write(Map.of("tokenizer.ggml.eos_token_id", GgufValue.u32(99)));
        try (GgufFile f = GgufFile.open(file)) {
            BadInputException e = assertThrows(BadInputException.class, () -> GgufChat.toTokenizerConfig(f));
            assertEquals(file + ": tokenizer.ggml.eos_token_id = 99 is not a token id (vocabulary of 6)", e.getMessage());
        }
    }
}
