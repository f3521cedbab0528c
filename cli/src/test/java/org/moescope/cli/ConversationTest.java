package org.moescope.cli;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.moescope.chat.ChatConfig;
import org.moescope.chat.ChatMessages;
import org.moescope.chat.Conversation;
import org.moescope.model.MoeModel;
import org.moescope.model.Sampler;
import org.moescope.tokenizer.Tokenizer;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The chat engine under the command: a turn that extends the previous prompt reuses the KV cache and gives exactly the
 * reply a fresh prefill of the same conversation gives; old turns are dropped whole (system prompt kept) when the
 * context is short; a message that cannot fit is refused and the conversation left unchanged.
 */
class ConversationTest {
    @TempDir
    static Path dir;
    static Path modelDir;
    static Tokenizer tok;
    static ChatConfig cfg;

    @BeforeAll
    static void setUp() {
        modelDir = ChatModels.create(dir.resolve("m"), 160, true, 32, 2);
        tok = Tokenizer.forModelDirectory(modelDir);
        cfg = ChatConfig.load(modelDir);
    }

    private static Conversation conversation(MoeModel m, AtomicBoolean endEveryReply, int maxNew, List<Object> initial) {
        return new Conversation(m, tok, cfg.template(false), cfg.specialTokens(), Map.of(),
                Sampler.greedy(Math.min(m.config().vocabSize(), tok.vocabSize())), id -> endEveryReply.get(), maxNew,
                initial);
    }

    private static MoeModel load() {
        return Engines.load(modelDir, "cpu", new PrintWriter(new StringWriter()));
    }

    @Test
    void kvCacheReuseGivesTheSameReplyAsAFreshPrefill() {
        try (MoeModel m = load()) {
            AtomicBoolean endNow = new AtomicBoolean(true);
            List<Object> system = List.of(ChatMessages.message("system", "sys"));
            Conversation conv = conversation(m, endNow, 20, system);
            // First turn ends at once: its reply text is empty, so the next prompt extends this one token for token.
            Conversation.Reply first = conv.send("hello", s -> { }, () -> false);
            assertEquals(Conversation.Stop.END_OF_TURN, first.stop());
            assertEquals("", first.text());
            assertEquals(0, first.reusedTokens());
            endNow.set(false);
            StringBuilder streamed = new StringBuilder();
            Conversation.Reply second = conv.send("tell me more", streamed::append, () -> false);
            assertEquals(first.promptTokens(), second.reusedTokens(), "the first prompt's KV cache is reused");
            assertEquals(Conversation.Stop.MAX_NEW_TOKENS, second.stop());
            assertEquals(20, second.tokens().length);
            assertEquals(streamed.toString(), second.text());
            assertEquals(tok.decode(second.tokens(), true), second.text());

            // The same conversation prefilled from scratch chooses the same tokens.
            Conversation fresh = conversation(m, endNow, 20, system);
            List<Object> history = new ArrayList<>(conv.messages().subList(0, 3));
            history.add(ChatMessages.message("user", "tell me more"));
            Conversation.Reply again = fresh.respondTo(history, s -> { }, () -> false);
            assertEquals(0, again.reusedTokens());
            assertArrayEquals(second.tokens(), again.tokens());
            assertEquals(5, conv.messages().size(), "system, user, assistant, user, assistant");

            conv.reset();
            assertEquals(system, conv.messages());
        }
    }

    @Test
    void cancellingStopsAfterTheCurrentToken() {
        try (MoeModel m = load()) {
            Conversation conv = conversation(m, new AtomicBoolean(false), 50, List.of());
            int[] seen = {0};
            Conversation.Reply r = conv.send("hi", s -> seen[0]++, () -> seen[0] >= 3);
            assertEquals(Conversation.Stop.INTERRUPTED, r.stop());
            assertTrue(r.tokens().length < 50, "stopped early");
            assertEquals(r.text(), ((Map<?, ?>) conv.messages().get(1)).get("content"), "the partial reply is kept");
        }
    }

    @Test
    void oldTurnsAreDroppedWholeAndTooLongMessagesRefused() {
        try (MoeModel m = load()) {
            List<Object> system = List.of(ChatMessages.message("system", "S"));
            Conversation conv = conversation(m, new AtomicBoolean(false), 30, system);
            int dropped = 0;
            for (int i = 0; i < 6; i++) {
                Conversation.Reply r = conv.send("message number " + i, s -> { }, () -> false);
                assertNotEquals(Conversation.Stop.PROMPT_TOO_LONG, r.stop());
                assertTrue(r.promptTokens() + r.tokens().length <= 160);
                dropped += r.droppedMessages();
                List<Object> msgs = conv.messages();
                assertEquals("system", ((Map<?, ?>) msgs.get(0)).get("role"), "the system prompt stays");
                assertEquals("user", ((Map<?, ?>) msgs.get(1)).get("role"), "the conversation restarts at a user turn");
            }
            assertTrue(dropped > 0 && dropped % 2 == 0, "whole turns dropped: " + dropped);
            List<Object> before = conv.messages();
            Conversation.Reply tooLong = conv.send("y".repeat(2000), s -> { }, () -> false);
            assertEquals(Conversation.Stop.PROMPT_TOO_LONG, tooLong.stop());
            assertEquals(before, conv.messages(), "a refused message leaves the conversation as it was");
        }
    }
}
