package org.moescope.chat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.moescope.errors.BadInputException;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** tokenizer_config.json / chat_template.jinja / special_tokens_map.json / generation_config.json as transformers 5 reads them. */
class ChatConfigTest {
    @TempDir
    Path dir;

    private static final List<Object> HI = List.of(ChatMessages.message("user", "hi"));

    @Test
    void namedTemplatesPickToolUseWithToolsElseDefault() throws Exception {
        Files.writeString(dir.resolve("tokenizer_config.json"), """
                {"chat_template": [{"name": "default", "template": "D{{ messages|length }}"},
                                   {"name": "tool_use", "template": "T{{ tools|length }}"}],
                 "eos_token": "<e>"}
                """);
        ChatConfig cfg = ChatConfig.load(dir);
        assertEquals("D1", cfg.template(false).apply(HI, null, true, cfg.specialTokens(), Map.of()));
        assertEquals("T2", cfg.template(true).apply(HI, List.of(Map.of(), Map.of()), true, cfg.specialTokens(), Map.of()));
        assertEquals(Map.of("eos_token", "<e>"), cfg.specialTokens());
    }

    @Test
    void legacySpecialTokensMapOverridesOnlyWithoutAddedTokensDecoder() throws Exception {
        // What transformers 5.18 renders for these two folders (checked with AutoTokenizer + apply_chat_template).
        String config = """
                {"bos_token": {"__type": "AddedToken", "content": "<|b|>"}, "unk_token": null, %s
                 "chat_template": "{{ bos_token }}|{{ eos_token }}|{{ unk_token is defined }}"}
                """;
        Files.writeString(dir.resolve("special_tokens_map.json"), """
                {"eos_token": {"content": "<|e|>"}, "unk_token": "<unk>", "bos_token": "ignored"}
                """);
        Files.writeString(dir.resolve("tokenizer_config.json"), config.formatted(""));
        ChatConfig legacy = ChatConfig.load(dir);
        assertEquals("ignored|<|e|>|True", legacy.template(false).apply(HI, null, false, legacy.specialTokens(), Map.of()));
        assertEquals("<|e|>", legacy.eosToken());
        Files.writeString(dir.resolve("tokenizer_config.json"), config.formatted("\"added_tokens_decoder\": {},"));
        ChatConfig current = ChatConfig.load(dir);
        assertEquals("<|b|>||False", current.template(false).apply(HI, null, false, current.specialTokens(), Map.of()));
        assertNull(current.eosToken());
    }

    @Test
    void badConfigsAreOneLineNamingTheFileAndField() throws Exception {
        Path config = dir.resolve("tokenizer_config.json");
        Files.writeString(config, "{\"chat_template\": 3}");
        BadInputException e = assertThrows(BadInputException.class, () -> ChatConfig.load(dir));
        assertEquals(config + ": chat_template must be a string or a list of {\"name\", \"template\"} objects",
                e.getMessage());
        Files.writeString(config, "{\"eos_token\": [1]}");
        e = assertThrows(BadInputException.class, () -> ChatConfig.load(dir));
        assertTrue(e.getMessage().endsWith("eos_token must be a string or an object with a string \"content\""));
        Files.writeString(config, "{\"chat_template\": \"x\"} trailing");
        e = assertThrows(BadInputException.class, () -> ChatConfig.load(dir));
        assertTrue(e.getMessage().startsWith(config + ": not valid JSON"), e.getMessage());
        Files.writeString(config, "{\"chat_template\": [{\"name\": \"other\", \"template\": \"a\"}, "
                + "{\"name\": \"more\", \"template\": \"b\"}]}");
        e = assertThrows(BadInputException.class, () -> ChatConfig.load(dir).template(false));
        assertTrue(e.getMessage().contains("none named \"default\""), e.getMessage());
    }

    @Test
    void stopIdsJoinConfigGenerationConfigAndTheTemplatesEos() throws Exception {
        Files.writeString(dir.resolve("generation_config.json"), "{\"eos_token_id\": [128001, 128008, 128009]}");
        assertEquals(List.of(128001, 128008, 128009, 7), ChatConfig.stopIds(dir, 128001, 7));
        Files.writeString(dir.resolve("generation_config.json"), "{\"eos_token_id\": 2}");
        assertEquals(List.of(2), ChatConfig.stopIds(dir, null, null));
        Files.writeString(dir.resolve("generation_config.json"), "{\"eos_token_id\": \"2\"}");
        assertThrows(BadInputException.class, () -> ChatConfig.stopIds(dir, null, null));
    }

    @Test
    void conversationDropsWholeUserTurnsAfterTheSystemMessages() {
        List<Object> c = new java.util.ArrayList<>(List.of(ChatMessages.message("system", "s"),
                ChatMessages.message("user", "u1"), ChatMessages.message("assistant", "a1"),
                ChatMessages.message("tool", "t1"), ChatMessages.message("user", "u2"),
                ChatMessages.message("assistant", "a2"), ChatMessages.message("user", "u3")));
        assertEquals(3, Conversation.dropOldestTurn(c));
        assertEquals(List.of("s", "u2", "a2", "u3"), c.stream().map(m -> ((Map<?, ?>) m).get("content")).toList());
        assertEquals(2, Conversation.dropOldestTurn(c));
        assertEquals(0, Conversation.dropOldestTurn(c), "the message being answered stays");
        assertEquals(2, c.size());
    }
}
