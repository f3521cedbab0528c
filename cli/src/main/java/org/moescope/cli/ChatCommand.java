package org.moescope.cli;

import org.moescope.chat.ChatConfig;
import org.moescope.chat.ChatMessages;
import org.moescope.chat.ChatTemplate;
import org.moescope.chat.Conversation;
import org.moescope.errors.BadInputException;
import org.moescope.model.MoeModel;
import org.moescope.tokenizer.Tokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;

/**
 * {@code moescope chat}: a conversation in the terminal. Each message goes through the model's chat template with the
 * whole conversation, the reply streams to stdout token by token; prompts and notes go to stderr, so stdout holds only
 * the replies (one per line group) when it is redirected.
 */
@Command(name = "chat", mixinStandardHelpOptions = true,
        description = {"Chats with a model through its chat template: type a message and press Enter; the reply streams "
                + "as it is generated. A line ending in \\ continues on the next line.",
                "/reset forgets the conversation (the --system prompt stays), /exit or end of input (Ctrl-D) leaves, "
                        + "Ctrl-C stops a reply and keeps the session.",
                "When the conversation outgrows the model's context, the oldest turns are dropped (whole user turns, "
                        + "the system prompt kept) and a note says how many messages went."})
public final class ChatCommand implements Callable<Integer> {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Mixin
    ModelOptions.Model modelOption;

    @Mixin
    ModelOptions.TokenizerFile tokenizerOption;

    @Option(names = "--system", paramLabel = "TEXT", description = "a system message that starts the conversation")
    String system;

    @Option(names = "--max-new-tokens", defaultValue = "1024", description = "The longest reply (default: "
            + "${DEFAULT-VALUE}); also bounded by the room left in the context.")
    int maxNewTokens;

    @Mixin
    SamplingOptions sampling;

    @Option(names = "--var", paramLabel = "NAME=JSON", description = "another template variable, e.g. "
            + "enable_thinking=false (repeatable)")
    List<String> vars = new ArrayList<>();

    @Mixin
    ModelOptions.Backend backend;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (maxNewTokens < 1) throw new BadInputException("--max-new-tokens must be >= 1");
        sampling.check();
        Map<String, Object> templateVars = ChatSetup.vars(vars);
        Tokenizer tok = Engines.tokenizer(modelOption.dir, tokenizerOption.file);
        if (tok == null) {
            throw new BadInputException(Engines.noTokenizer(modelOption.dir));
        }
        ChatConfig cfg = ChatSetup.config(modelOption.dir, tokenizerOption.file);
        ChatTemplate template = cfg.template(false);
        List<Object> initial = system == null ? List.of() : List.of(ChatMessages.message("system", system));
        try (MoeModel m = Engines.load(modelOption.dir, backend.name, err)) {
            int valid = Math.min(m.config().vocabSize(), tok.vocabSize());
            Set<Integer> stops = new HashSet<>(ChatSetup.stopIds(modelOption.dir, m.config(), cfg, tok));
            Conversation conv = new Conversation(m, tok, template, cfg.specialTokens(), templateVars,
                    sampling.sampler(valid), stops::contains, maxNewTokens, initial);
            // Render once before the first message: a template that cannot handle this setup fails now, not mid-chat.
            conv.encodePrompt(ChatMessages.plus(new ArrayList<>(initial), ChatMessages.message("user", "hi")));
            err.println("chatting with " + modelOption.dir + " (template " + template.name() + ", context "
                    + conv.context() + " tokens" + (stops.isEmpty() ? "; no end-of-turn token known, so replies run "
                    + "to --max-new-tokens" : "") + ")");
            err.println("/reset clears the conversation, /exit or Ctrl-D leaves, Ctrl-C stops a reply");
            err.flush();
            try (Interrupts interrupts = new Interrupts(() -> {
                err.println();
                err.println("(Ctrl-C stops a reply; /exit or Ctrl-D leaves)");
                err.print("> ");
                err.flush();
            })) {
                loop(conv, interrupts, out, err);
            }
        }
        return 0;
    }

    private void loop(Conversation conv, Interrupts interrupts, PrintWriter out, PrintWriter err) {
        // The terminal's (or pipe's) bytes are UTF-8 whatever the JVM's locale says.
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        while (true) {
            err.print("> ");
            err.flush();
            String message = readMessage(in);
            if (message == null) {
                err.println();
                err.flush();
                return;
            }
            String command = message.strip();
            if (command.isEmpty()) continue;
            if (command.equals("/exit")) return;
            if (command.equals("/reset")) {
                conv.reset();
                err.println("(conversation cleared)");
                continue;
            }
            if (command.equals("/help")) {
                err.println("/reset clears the conversation, /exit or Ctrl-D leaves, Ctrl-C stops a reply; "
                        + "end a line with \\ to continue the message on the next line");
                continue;
            }
            interrupts.replyStarts();
            Conversation.Reply r;
            try {
                r = conv.send(message, piece -> {
                    out.print(piece);
                    out.flush();
                }, interrupts::cancelled);
            } finally {
                interrupts.replyEnds();
            }
            if (r.stop() == Conversation.Stop.PROMPT_TOO_LONG) {
                err.println("(not sent: with the system prompt the message takes " + r.promptTokens()
                        + " tokens, the context holds " + conv.context() + ")");
                continue;
            }
            out.println();
            out.flush();
            if (r.droppedMessages() > 0) {
                err.println("(context full: dropped the " + r.droppedMessages() + " oldest message"
                        + (r.droppedMessages() == 1 ? "" : "s") + ")");
            }
            switch (r.stop()) {
                case INTERRUPTED -> err.println("(reply stopped)");
                case CONTEXT_FULL -> err.println("(reply cut: the context of " + conv.context() + " tokens is full)");
                case MAX_NEW_TOKENS -> err.println("(reply cut at --max-new-tokens " + maxNewTokens + ")");
                default -> { }
            }
            int generated = r.tokens().length;
            err.printf(Locale.ROOT, "[%d tokens, %.1f tok/s; prompt %d tokens, %d reused, prefill %.2f s]%n",
                    generated, Math.max(0, generated - 1) / Math.max(1e-9, r.decodeSeconds()), r.promptTokens(),
                    r.reusedTokens(), r.prefillSeconds());
            err.flush();
        }
    }

    /** One message: a line, or several when lines end with a backslash; null at end of input. */
    private static String readMessage(BufferedReader in) {
        StringBuilder b = new StringBuilder();
        try {
            while (true) {
                String line = in.readLine();
                if (line == null) return b.isEmpty() ? null : b.toString();
                if (line.endsWith("\\")) {
                    b.append(line, 0, line.length() - 1).append('\n');
                    continue;
                }
                return b.append(line).toString();
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
