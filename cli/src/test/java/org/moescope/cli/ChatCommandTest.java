package org.moescope.cli;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.moescope.routing.RouteFile;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.*;

/**
 * {@code moescope chat} end to end through Main.run with a piped stdin (prompts and notes on stderr, replies on
 * stdout, /reset, /exit, end of input, the context kept within the model's), and {@code generate --chat}.
 * Ctrl-C is tested with a real signal in {@link ChatTerminalTest}.
 */
class ChatCommandTest {
    @TempDir
    static Path dir;
    static Path model;
    static Path small;

    @BeforeAll
    static void models() {
        model = ChatModels.create(dir.resolve("big"), 1024, true, 32, 2);
        small = ChatModels.create(dir.resolve("small"), 96, true, 32, 2);
    }

    static CliRun chat(String input, String... args) {
        InputStream saved = System.in;
        System.setIn(new ByteArrayInputStream(input.getBytes(StandardCharsets.UTF_8)));
        try {
            String[] all = new String[args.length + 3];
            all[0] = "chat";
            all[1] = "--model";
            all[2] = model.toString();
            System.arraycopy(args, 0, all, 3, args.length);
            return CliRun.run(all);
        } finally {
            System.setIn(saved);
        }
    }

    private static final Pattern STATS = Pattern.compile("\\[(\\d+) tokens, [0-9.]+ tok/s; prompt (\\d+) tokens, (\\d+) "
            + "reused, prefill [0-9.]+ s]");

    @Test
    void conversationWithResetAndExit() {
        String[] opts = {"--max-new-tokens", "12", "--temperature", "0.9", "--seed", "7", "--system", "Be brief."};
        CliRun r = chat("hello there\nhow are\\\nyou\n\n/reset\nhello there\n/exit\nnever read\n", opts);
        assertEquals(0, r.status(), r.err());
        assertTrue(r.err().contains("/reset clears the conversation"), r.err());
        assertTrue(r.err().contains("(conversation cleared)"), r.err());
        List<String> replies = r.out().lines().toList();
        Matcher m = STATS.matcher(r.err());
        int turns = 0;
        int[] prompts = new int[3];
        while (m.find()) prompts[turns++] = Integer.parseInt(m.group(2));
        assertEquals(3, turns, "three messages sent (the empty line is skipped, /exit stops before the last)\n" + r.err());
        // after /reset the same message meets the same prompt as the first time
        assertEquals(prompts[0], prompts[2]);
        assertTrue(prompts[1] > prompts[0], "the second turn carries the first");
        // The same seed and conversation give the same replies: stdout holds exactly them.
        CliRun again = chat("hello there\nhow are\\\nyou\n\n/reset\nhello there\n/exit\n", opts);
        assertEquals(r.out(), again.out());
        assertFalse(replies.isEmpty());
    }

    @Test
    void endOfInputEndsTheChatAndPromptsGoToStderr() {
        CliRun r = chat("hi\n", "--max-new-tokens", "5");
        assertEquals(0, r.status(), r.err());
        assertTrue(r.err().contains("> "), r.err());
        assertFalse(r.out().contains("> "), "stdout holds replies only: " + r.out());
    }

    @Test
    void contextIsKeptWithinTheModels() {
        // 96 positions: each turn of ~20-token messages plus a 24-token reply soon overflows; old turns are dropped.
        InputStream saved = System.in;
        String input = "first message here\nsecond message now\nthird one comes\nfourth and last\n" + "x".repeat(400) + "\n";
        System.setIn(new ByteArrayInputStream(input.getBytes(StandardCharsets.UTF_8)));
        CliRun r;
        try {
            r = CliRun.run("chat", "--model", small.toString(), "--max-new-tokens", "24", "--temperature", "1",
                    "--seed", "3", "--system", "sys");
        } finally {
            System.setIn(saved);
        }
        assertEquals(0, r.status(), r.err());
        assertTrue(r.err().contains("(context full: dropped the "), r.err());
        assertTrue(r.err().contains("(not sent: with the system prompt the message takes "), r.err());
        Matcher m = STATS.matcher(r.err());
        int turns = 0;
        while (m.find()) {
            turns++;
            int prompt = Integer.parseInt(m.group(2));
            int reply = Integer.parseInt(m.group(1));
            assertTrue(prompt + reply <= 96, "prompt " + prompt + " + reply " + reply + " within the context");
        }
        assertEquals(4, turns, r.err());
    }

    @Test
    void generateChatAndChatGiveTheSameFirstReply() {
        JsonNode single = ChatModels.goldenPrompts().get(0);
        assertEquals("single-user", single.get("case").textValue());
        Path messages = ChatModels.writeJson(dir.resolve("single.json"), single.get("messages"));
        String[] sampling = {"--max-new-tokens", "30", "--temperature", "1", "--seed", "5"};
        String[] gen = new String[5 + sampling.length];
        System.arraycopy(new String[] {"generate", "--model", model.toString(), "--chat", messages.toString()}, 0, gen, 0, 5);
        System.arraycopy(sampling, 0, gen, 5, sampling.length);
        CliRun g = CliRun.run(gen);
        assertEquals(0, g.status(), g.err());
        CliRun c = chat(single.get("messages").get(0).get("content").textValue() + "\n", sampling);
        assertEquals(0, c.status(), c.err());
        assertEquals(g.out(), c.out());
    }

    @Test
    void chatNeedsATemplateAndTokenizer() throws Exception {
        Path bare = dir.resolve("bare");
        Files.createDirectories(bare);
        for (String f : List.of("config.json", "model.safetensors", "tokenizer.json")) {
            Files.copy(model.resolve(f), bare.resolve(f));
        }
        InputStream saved = System.in;
        System.setIn(new ByteArrayInputStream("hi\n".getBytes(StandardCharsets.UTF_8)));
        try {
            CliRun none = CliRun.run("chat", "--model", bare.toString());
            assertEquals(Main.EXIT_BAD_INPUT, none.status());
            assertEquals(1, none.err().lines().filter(l -> l.startsWith("moescope: ")).count(), none.err());
            assertTrue(none.err().contains("no chat template"), none.err());
            CliRun bad = CliRun.run("chat", "--model", model.toString(), "--top-p", "0");
            assertEquals(Main.EXIT_BAD_INPUT, bad.status());
            assertTrue(bad.err().contains("--top-p must be in (0, 1]"), bad.err());
        } finally {
            System.setIn(saved);
        }
    }

    @Test
    void generateChatRendersLikeTransformersAndStopsAtEndOfTurn() throws Exception {
        JsonNode golden = ChatModels.goldenPrompts().stream()
                .filter(c -> c.get("case").textValue().equals("multi-turn") && c.get("add_generation_prompt").asBoolean())
                .findFirst().orElseThrow();
        Path messages = ChatModels.writeJson(dir.resolve("multi.json"), golden.get("messages"));
        Path routes = dir.resolve("chat.safetensors");
        CliRun r = CliRun.run("generate", "--model", model.toString(), "--chat", messages.toString(),
                "--max-new-tokens", "40", "--temperature", "1", "--seed", "5", "--routes", routes.toString());
        assertEquals(0, r.status(), r.err());
        int[] want = ChatModels.JSON.convertValue(golden.get("ids"), int[].class);
        try (RouteFile rf = RouteFile.open(routes)) {
            int[] ids = rf.inputIds(0);
            int from = Integer.parseInt(rf.metadata().get("generated_from"));
            // the prompt is transformers' apply_chat_template(messages, add_generation_prompt=True, tokenize=True)
            assertArrayEquals(want, Arrays.copyOf(ids, from));
            int[] reply = Arrays.copyOfRange(ids, from, ids.length);
            for (int i = 0; i + 1 < reply.length; i++) assertNotEquals(ChatModels.IM_END, reply[i], "stops at <|im_end|>");
            assertTrue(reply.length == 40 || reply[reply.length - 1] == ChatModels.IM_END, Arrays.toString(reply));
        }
        Path bad = dir.resolve("bad.json");
        Files.writeString(bad, "[{\"role\": \"critic\", \"content\": \"no\"}]");
        CliRun refused = CliRun.run("generate", "--model", model.toString(), "--chat", bad.toString());
        assertEquals(Main.EXIT_BAD_INPUT, refused.status());
        assertTrue(refused.err().endsWith("raised an exception: Unknown role: critic\n"), refused.err());
        CliRun both = CliRun.run("generate", "--model", model.toString(), "--chat", messages.toString(), "--prompt", "x");
        assertEquals(Main.EXIT_BAD_INPUT, both.status());
    }
}
