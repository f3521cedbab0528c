package org.moescope.tokenizer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.moescope.errors.BadInputException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** tokenizer_config.json's special tokens, resolved to ids. */
class TokenizerConfigTest {
    @Test
    void stringsObjectsNullsAndFlags(@TempDir Path dir) throws IOException {
        Tokenizer tok = Fixtures.tokenizer("synthetic-spm");
        Files.writeString(dir.resolve("tokenizer_config.json"), """
                {"add_bos_token": true, "add_eos_token": false,
                 "bos_token": "<s>",
                 "eos_token": {"__type": "AddedToken", "content": "</s>", "lstrip": false, "normalized": true},
                 "pad_token": null, "chat_template": "ignored here"}
                """);
        TokenizerConfig c = TokenizerConfig.forModelDirectory(dir, tok).orElseThrow();
        assertEquals(new TokenizerConfig.SpecialToken("<s>", 1), c.bos().orElseThrow());
        assertEquals(new TokenizerConfig.SpecialToken("</s>", 2), c.eos().orElseThrow());
        assertTrue(c.pad().isEmpty() && c.unk().isEmpty());
        assertEquals(Optional.of(true), c.addBosToken());
        assertEquals(Optional.of(false), c.addEosToken());
        assertTrue(TokenizerConfig.forModelDirectory(dir.resolve("elsewhere"), tok).isEmpty());
    }

    @Test
    void badConfigsAreNamed(@TempDir Path dir) throws IOException {
        Tokenizer tok = Fixtures.tokenizer("synthetic-spm");
        assertBad(dir, tok, "{\"eos_token\": \"<|nope|>\"}", "eos_token \"<|nope|>\" is not a token of");
        assertBad(dir, tok, "{\"bos_token\": 7}", "bos_token = 7 is neither a string nor an AddedToken");
        assertBad(dir, tok, "{\"add_bos_token\": \"yes\"}", "add_bos_token = \"yes\" is not true or false");
        assertBad(dir, tok, "[1]", "not a tokenizer_config.json");
        assertBad(dir, tok, "{\"bos_token\": ", "not valid JSON");
        BadInputException e = assertThrows(BadInputException.class,
                () -> TokenizerConfig.load(dir.resolve("missing.json"), tok));
        assertTrue(e.getMessage().endsWith("missing.json: no such file"), e.getMessage());
    }

    /** The real files: every family's bos/eos resolve in its own tokenizer.json. */
    @Test
    void realConfigs() {
        for (String name : Fixtures.REAL) {
            Tokenizer tok = Fixtures.tokenizer(name);
            TokenizerConfig c = TokenizerConfig.load(Fixtures.realPath(name, "tokenizer_config.json"), tok);
            TokenizerConfig.SpecialToken eos = c.eos().orElseThrow();
            assertEquals(eos.content(), tok.idToToken(eos.id()));
            assertTrue(tok.isSpecial(eos.id()), name);
            switch (name) {
                case "qwen3" -> {
                    assertEquals("<|im_end|>", eos.content());
                    assertTrue(c.bos().isEmpty());
                    assertEquals(Optional.of(false), c.addBosToken());
                }
                case "llama3.1" -> {
                    assertEquals(128000, c.bos().orElseThrow().id());
                    assertEquals("<|eot_id|>", eos.content());
                }
                case "llama2-spm" -> {
                    assertEquals(1, c.bos().orElseThrow().id());
                    assertEquals(2, eos.id());
                    assertEquals(0, c.unk().orElseThrow().id());
                }
                case "deepseek-v3" -> assertEquals(Optional.of(true), c.addBosToken());
                case "gpt-oss" -> assertEquals("<|return|>", eos.content());
                default -> {
                }
            }
            assertFalse(c.bos().isPresent() && !tok.isSpecial(c.bos().get().id()), name);
        }
    }

    private static void assertBad(Path dir, Tokenizer tok, String json, String expected) throws IOException {
        Path file = dir.resolve("tokenizer_config.json");
        Files.writeString(file, json);
        BadInputException e = assertThrows(BadInputException.class, () -> TokenizerConfig.load(file, tok));
        assertTrue(e.getMessage().startsWith(file.toString()) && e.getMessage().contains(expected), e.getMessage());
        assertFalse(e.getMessage().contains("\n"));
    }
}
