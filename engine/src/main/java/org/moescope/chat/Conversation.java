package org.moescope.chat;

import org.moescope.errors.BadInputException;
import org.moescope.model.MoeModel;
import org.moescope.model.Sampler;
import org.moescope.tokenizer.StreamingDecoder;
import org.moescope.tokenizer.Tokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.function.IntPredicate;

/**
 * A multi-turn chat with a model: the whole conversation is rendered through the chat template each turn (as
 * transformers' apply_chat_template with add_generation_prompt), encoded without added special tokens, and the reply is
 * sampled token by token and streamed as text.
 *
 * <p>The KV cache is kept between turns: when the new prompt starts with every token already run (the previous prompt
 * and reply), only the new tokens are prefilled; otherwise (the template rewrote earlier turns, or the reply's text
 * re-encodes differently) the prompt is prefilled from scratch in a new session.
 *
 * <p>Context: a turn needs the rendered prompt plus room for the reply (maxNewTokens, at least one token) within the
 * model's context. When that does not fit, the oldest turns after the leading system messages are dropped, a whole
 * user turn (the user message and the replies that follow it) at a time, until it fits. If only the system messages and
 * the new user message are left and the prompt still leaves no room, the message is refused and the conversation is
 * left as it was; if it leaves some room, the reply is limited to it.
 */
public final class Conversation {
    /** Why a reply ended. */
    public enum Stop {
        /** The model produced an end-of-turn token (not part of the reply text). */
        END_OF_TURN,
        /** maxNewTokens were generated. */
        MAX_NEW_TOKENS,
        /** The reply filled the context (only the room left after the prompt). */
        CONTEXT_FULL,
        /** The caller cancelled it (Ctrl-C). */
        INTERRUPTED,
        /** The message did not fit the context even alone; nothing was generated or kept. */
        PROMPT_TOO_LONG
    }

    /**
     * One reply.
     *
     * @param text            the reply as decoded text (special tokens left out); what the conversation keeps
     * @param tokens          the generated ids (the end-of-turn token included when it ended the reply)
     * @param stop            why it ended
     * @param promptTokens    tokens of the rendered prompt
     * @param reusedTokens    of those, how many came from the kept KV cache
     * @param droppedMessages old messages dropped so that the conversation fits the context
     * @param prefillSeconds  time of the prompt's forward pass (the part not reused)
     * @param decodeSeconds   time of the decode steps after the first new token
     */
    public record Reply(String text, int[] tokens, Stop stop, int promptTokens, int reusedTokens, int droppedMessages,
                        double prefillSeconds, double decodeSeconds) {
    }

    private final MoeModel model;
    private final Tokenizer tokenizer;
    private final ChatTemplate template;
    private final Map<String, String> specialTokens;
    private final Map<String, Object> templateVars;
    private final Sampler sampler;
    private final IntPredicate endOfTurn;
    private final int maxNewTokens;
    private final int context;
    private final List<Object> initial;
    private List<Object> messages;
    private MoeModel.Session session;
    private int[] cached = new int[0]; // the ids the session's KV cache holds, in order

    /**
     * @param initial      messages every conversation starts with (e.g. a system prompt); kept by {@link #reset}
     * @param endOfTurn    the ids that end a reply (EOS, end-of-turn); null or never-true when the model has none
     * @param maxNewTokens the most tokens of one reply (at least 1)
     */
    public Conversation(MoeModel model, Tokenizer tokenizer, ChatTemplate template, Map<String, String> specialTokens,
                        Map<String, Object> templateVars, Sampler sampler, IntPredicate endOfTurn, int maxNewTokens,
                        List<Object> initial) {
        if (maxNewTokens < 1) throw new IllegalArgumentException("maxNewTokens must be at least 1");
        this.model = model;
        this.tokenizer = tokenizer;
        this.template = template;
        this.specialTokens = Map.copyOf(specialTokens);
        this.templateVars = templateVars;
        this.sampler = sampler;
        this.endOfTurn = endOfTurn == null ? id -> false : endOfTurn;
        this.maxNewTokens = maxNewTokens;
        this.context = model.config().maxPositionEmbeddings();
        this.initial = List.copyOf(initial);
        this.messages = new ArrayList<>(initial);
    }

    /** The conversation so far (what the template renders). */
    public List<Object> messages() {
        return List.copyOf(messages);
    }

    /** The model's context in tokens. */
    public int context() {
        return context;
    }

    /** Forgets every turn: back to the initial messages, KV cache dropped. */
    public void reset() {
        messages = new ArrayList<>(initial);
        session = null;
        cached = new int[0];
    }

    /** Renders the conversation with a generation prompt and encodes it as transformers does (no added tokens). */
    public int[] encodePrompt(List<Object> conversation) {
        String prompt = template.apply(conversation, null, true, specialTokens, templateVars);
        return tokenizer.encodeIds(prompt);
    }

    /**
     * Adds a user message and generates the assistant's reply, streaming its text to {@code onText} piece by piece;
     * {@code cancelled} is polled after every token. The reply (also a partial one) joins the conversation.
     */
    public Reply send(String userText, Consumer<String> onText, BooleanSupplier cancelled) {
        List<Object> candidate = new ArrayList<>(messages);
        candidate.add(ChatMessages.message("user", userText));
        return respond(candidate, true, onText, cancelled);
    }

    /**
     * Generates the assistant's reply to the conversation as it stands plus {@code conversation}'s messages (used once,
     * for a non-interactive turn); never drops messages: a prompt that leaves no room is PROMPT_TOO_LONG.
     */
    public Reply respondTo(List<Object> conversation, Consumer<String> onText, BooleanSupplier cancelled) {
        return respond(new ArrayList<>(conversation), false, onText, cancelled);
    }

    private Reply respond(List<Object> candidate, boolean mayDrop, Consumer<String> onText, BooleanSupplier cancelled) {
        int[] ids = encodePrompt(candidate);
        int dropped = 0;
        while (mayDrop && ids.length + maxNewTokens > context) {
            int removed = dropOldestTurn(candidate);
            if (removed == 0) break;
            dropped += removed;
            ids = encodePrompt(candidate);
        }
        if (ids.length == 0) throw new BadInputException("chat template " + template.name() + " rendered an empty prompt");
        if (ids.length >= context) {
            return new Reply("", new int[0], Stop.PROMPT_TOO_LONG, ids.length, 0, dropped, 0, 0);
        }
        int maxNew = Math.min(maxNewTokens, context - ids.length);
        long t0 = System.nanoTime();
        int reused = reusable(ids, maxNew);
        if (reused == 0) {
            session = model.newSession(capacityFor(ids.length + maxNew));
            cached = new int[0];
        }
        int[] fresh = Arrays.copyOfRange(ids, reused, ids.length);
        float[] logits = model.forward(session, fresh, MoeModel.Logits.LAST, null);
        cached = ids;
        int[] history = Arrays.copyOf(ids, ids.length + maxNew);
        int n = 0;
        int next = sampler.next(logits, history, ids.length);
        long t1 = System.nanoTime();
        StreamingDecoder decoder = tokenizer.streamingDecoder(true);
        StringBuilder text = new StringBuilder();
        Stop stop;
        while (true) {
            history[ids.length + n++] = next;
            if (endOfTurn.test(next)) {
                stop = Stop.END_OF_TURN;
                break;
            }
            String piece = decoder.next(next);
            text.append(piece);
            if (!piece.isEmpty()) onText.accept(piece);
            if (cancelled.getAsBoolean()) {
                stop = Stop.INTERRUPTED;
                break;
            }
            if (n == maxNew) {
                stop = maxNew < maxNewTokens ? Stop.CONTEXT_FULL : Stop.MAX_NEW_TOKENS;
                break;
            }
            logits = model.forward(session, new int[] {next}, MoeModel.Logits.LAST, null);
            cached = Arrays.copyOf(history, ids.length + n);
            next = sampler.next(logits, history, ids.length + n);
        }
        String tail = decoder.finish();
        text.append(tail);
        if (!tail.isEmpty()) onText.accept(tail);
        long t2 = System.nanoTime();
        candidate.add(ChatMessages.message("assistant", text.toString()));
        messages = candidate;
        return new Reply(text.toString(), Arrays.copyOfRange(history, ids.length, ids.length + n), stop, ids.length,
                reused, dropped, (t1 - t0) / 1e9, (t2 - t1) / 1e9);
    }

    /**
     * How many leading tokens of {@code ids} the kept session already holds: all it holds when they are a prefix of
     * ids and the session has room for the rest and the reply; else 0 (start over).
     */
    private int reusable(int[] ids, int maxNew) {
        if (session == null || cached.length == 0 || cached.length >= ids.length
                || ids.length + maxNew > session.capacity()) {
            return 0;
        }
        for (int i = 0; i < cached.length; i++) {
            if (cached[i] != ids[i]) return 0;
        }
        return cached.length;
    }

    /** A session large enough for now and a few more turns (the KV cache is allocated whole), within the context. */
    private int capacityFor(int needed) {
        int cap = 256;
        while (cap < needed * 2 && cap < context) cap *= 2;
        return Math.min(Math.max(cap, needed), context);
    }

    /**
     * Drops the oldest user turn after the leading system messages: the first user message and the messages up to the
     * next user message. Never drops the last user message (the one being answered). Returns how many were dropped.
     */
    static int dropOldestTurn(List<Object> conversation) {
        int start = 0;
        while (start < conversation.size() && "system".equals(role(conversation.get(start)))) start++;
        int lastUser = -1;
        for (int i = conversation.size() - 1; i >= 0; i--) {
            if ("user".equals(role(conversation.get(i)))) {
                lastUser = i;
                break;
            }
        }
        if (start >= lastUser) return 0;
        int end = start + 1;
        while (end < lastUser && !"user".equals(role(conversation.get(end)))) end++;
        conversation.subList(start, end).clear();
        return end - start;
    }

    private static Object role(Object message) {
        return message instanceof Map<?, ?> m ? m.get("role") : null;
    }
}
