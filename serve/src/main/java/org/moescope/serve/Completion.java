package org.moescope.serve;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * One request's completion: hears the scheduler (text with stop sequences applied, token by token) and answers the
 * exchange, as one JSON object or as server-sent events in OpenAI's chunk format ending with {@code data: [DONE]}.
 */
final class Completion implements Scheduler.Listener {
    private final OpenAiServer server;
    private final Request req;
    private final boolean chat;
    private final int promptTokens;
    private final TextStream text;
    private final LinkedBlockingQueue<OpenAiServer.Event> events = OpenAiServer.queue();
    private final String id;
    private final long created;
    private final ObjectMapper json = OpenAiServer.json();

    Completion(OpenAiServer server, Request req, boolean chat, int promptTokens) {
        this.server = server;
        this.req = req;
        this.chat = chat;
        this.promptTokens = promptTokens;
        this.text = new TextStream(server.tokenizer().streamingDecoder(true), req.stop());
        this.id = OpenAiServer.newId(chat);
        this.created = server.now();
    }

    // Scheduler thread ------------------------------------------------------------------------------------------

    @Override
    public boolean token(Scheduler.TokenOut token) {
        String piece = text.add(token.id());
        events.add(new OpenAiServer.TokenEvent(token, piece));
        return text.stopped();
    }

    @Override
    public void waited() {
        events.add(OpenAiServer.WAITED);
    }

    @Override
    public void finished(String reason) {
        String tail = reason.equals("stop") || reason.equals("length") ? text.finish() : "";
        events.add(new OpenAiServer.EndEvent(reason, tail));
    }

    // Exchange thread ------------------------------------------------------------------------------------------

    /**
     * The next event. The client hears something at every step (a token, or a heartbeat); when the next event is
     * PROBE_NANOS away, one more heartbeat goes out first: a client that closed its end answers the first write after
     * the close with a reset, and only the write after that fails, so this second write lets a client that read
     * everything and closed (the usual way) be noticed within the step after the close, not two.
     */
    private OpenAiServer.Event take(Scheduler.Sequence seq, OutputStream out, String heartbeat) throws IOException {
        try {
            OpenAiServer.Event e = events.poll(PROBE_NANOS, TimeUnit.NANOSECONDS);
            if (e != null) return e;
            heartbeat(out, heartbeat);
            return events.take();
        } catch (InterruptedException e) { // shutdown of the executor
            seq.cancel();
            Thread.currentThread().interrupt();
            throw new ApiError(503, "server_error", null, null, "the server is shutting down");
        }
    }

    /** See take: well above a loopback or LAN round trip, well below a forward step of any model worth serving. */
    private static final long PROBE_NANOS = 2_000_000;

    /**
     * Answers with one JSON object. The 200 headers go out at once (chunked) and every step the sequence takes part in
     * writes one space before the object (insignificant JSON whitespace): the JDK server never reports a closed
     * connection, but a write to one fails, so a client that went away is noticed within a step or two and its
     * sequence cancelled. The price: an error after admission (shutdown, an internal error) can no longer change the
     * status, and is the body in place of the completion (docs/serve.md).
     */
    int respond(HttpExchange ex, Scheduler.Sequence seq) {
        StringBuilder all = new StringBuilder();
        Logprobs logprobs = req.topLogprobs() >= 0 ? new Logprobs() : null;
        ArrayNode routes = req.routes() ? json.createArrayNode() : null;
        int completionTokens = 0;
        ex.getResponseHeaders().set("Content-Type", "application/json");
        try {
            ex.sendResponseHeaders(200, 0);
            OutputStream out = ex.getResponseBody();
            out.flush(); // the headers: the client knows it was admitted
            ObjectNode body;
            try {
                while (true) {
                    OpenAiServer.Event e = take(seq, out, " ");
                    if (e instanceof OpenAiServer.TokenEvent t) {
                        completionTokens++;
                        if (logprobs != null) logprobs.add(t.token(), all.length());
                        all.append(t.text());
                        if (routes != null) routes.add(route(t.token()));
                    } else if (e instanceof OpenAiServer.EndEvent end) {
                        all.append(end.text());
                        ApiError failure = failure(end.reason());
                        if (failure != null) throw failure;
                        body = header(chat ? "chat.completion" : "text_completion");
                        ObjectNode choice = body.putArray("choices").addObject().put("index", 0);
                        if (chat) {
                            choice.putObject("message").put("role", "assistant").put("content", all.toString());
                        } else {
                            choice.put("text", all.toString());
                        }
                        choice.set("logprobs", logprobs == null ? null : logprobs.json());
                        choice.put("finish_reason", end.reason());
                        if (routes != null) choice.putObject("moescope").set("routes", routes);
                        body.set("usage", usage(completionTokens));
                        break;
                    }
                    if (events.isEmpty()) heartbeat(out, " ");
                }
            } catch (ApiError e) { // ended early (shutdown, a failed step): the status is sent, the error is the body
                body = OpenAiServer.errorObject(e);
            } catch (RuntimeException e) { // a bug: handle() logs it; the client still gets an error object
                out.write(OpenAiServer.errorObject(new ApiError(500, "server_error", null, null, "internal error"))
                        .toString().getBytes(StandardCharsets.UTF_8));
                out.close();
                throw e;
            }
            out.write(body.toString().getBytes(StandardCharsets.UTF_8));
            out.close();
            return 200;
        } catch (IOException e) {
            seq.cancel(); // the client went away: its rows are freed at the start of the next step
            return CLIENT_GONE;
        }
    }

    /** Streams the completion as server-sent events; a failed write (the client left) cancels the sequence. */
    int stream(HttpExchange ex, Scheduler.Sequence seq) {
        ex.getResponseHeaders().set("Content-Type", "text/event-stream");
        ex.getResponseHeaders().set("Cache-Control", "no-cache");
        int completionTokens = 0;
        int offset = 0;
        try {
            ex.sendResponseHeaders(200, 0);
            OutputStream out = ex.getResponseBody();
            if (chat) {
                ObjectNode first = chunk();
                first.withArray("choices").addObject().put("index", 0).putNull("logprobs").putNull("finish_reason")
                        .putObject("delta").put("role", "assistant").put("content", "");
                write(out, first);
            } else {
                out.flush();
            }
            while (true) {
                OpenAiServer.Event e = take(seq, out, SSE_HEARTBEAT);
                if (e instanceof OpenAiServer.TokenEvent t) {
                    completionTokens++;
                    if (t.text().isEmpty() && req.topLogprobs() < 0 && !req.routes()) {
                        if (events.isEmpty()) heartbeat(out, SSE_HEARTBEAT); // no text yet (a stop string may begin)
                        continue;
                    }
                    ObjectNode c = chunk();
                    ObjectNode choice = delta(c, t.text());
                    if (req.topLogprobs() >= 0) {
                        Logprobs lp = new Logprobs();
                        lp.add(t.token(), offset);
                        choice.set("logprobs", lp.json());
                    }
                    if (req.routes()) choice.putObject("moescope").putArray("routes").add(route(t.token()));
                    choice.putNull("finish_reason");
                    offset += t.text().length();
                    write(out, c);
                } else if (e instanceof OpenAiServer.EndEvent end) {
                    ApiError failure = failure(end.reason());
                    if (failure != null) {
                        write(out, OpenAiServer.errorObject(failure));
                    } else {
                        ObjectNode c = chunk();
                        delta(c, end.text()).put("finish_reason", end.reason());
                        write(out, c);
                        if (req.includeUsage()) {
                            ObjectNode u = chunk();
                            u.set("usage", usage(completionTokens));
                            write(out, u);
                        }
                    }
                    out.write("data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8));
                    out.close();
                    return 200;
                } else if (events.isEmpty()) {
                    heartbeat(out, SSE_HEARTBEAT); // while the prompt is read
                }
            }
        } catch (IOException e) {
            seq.cancel(); // the client went away: its rows are freed at the start of the next step
            return CLIENT_GONE;
        }
    }

    /** The status /metrics counts for a request whose client went away before its answer was written (nginx's). */
    static final int CLIENT_GONE = 499;

    /** An empty SSE comment: event-stream clients skip it (the SSE specification, the openai client). */
    private static final String SSE_HEARTBEAT = ":\n\n";

    /** Bytes that mean nothing to the client, written (and flushed) to learn whether it is still there. */
    private static void heartbeat(OutputStream out, String bytes) throws IOException {
        out.write(bytes.getBytes(StandardCharsets.US_ASCII));
        out.flush();
    }

    private ObjectNode chunk() {
        ObjectNode c = header(chat ? "chat.completion.chunk" : "text_completion");
        c.putArray("choices");
        if (req.includeUsage()) c.putNull("usage");
        return c;
    }

    private ObjectNode delta(ObjectNode chunk, String piece) {
        ObjectNode choice = chunk.withArray("choices").addObject().put("index", 0);
        if (chat) {
            ObjectNode d = choice.putObject("delta");
            if (!piece.isEmpty()) d.put("content", piece);
        } else {
            choice.put("text", piece);
        }
        choice.putNull("logprobs");
        return choice;
    }

    private static void write(OutputStream out, ObjectNode event) throws IOException {
        out.write(("data: " + event + "\n\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    private ObjectNode header(String object) {
        return json.createObjectNode().put("id", id).put("object", object).put("created", created)
                .put("model", server.modelId());
    }

    private ObjectNode usage(int completionTokens) {
        return json.createObjectNode().put("prompt_tokens", promptTokens).put("completion_tokens", completionTokens)
                .put("total_tokens", promptTokens + completionTokens);
    }

    private static ApiError failure(String reason) {
        return switch (reason) {
            case "stop", "length" -> null;
            case "cancelled" -> new ApiError(499, "server_error", null, null, "cancelled");
            case "shutdown" -> new ApiError(503, "server_error", null, "shutdown", "the server shut down before "
                    + "the completion finished");
            default -> new ApiError(500, "server_error", null, null, "the forward step failed (see the server log)");
        };
    }

    /** Per MoE layer, the experts and applied weights at the position whose logits chose the token. */
    private ObjectNode route(Scheduler.TokenOut t) {
        ObjectNode r = json.createObjectNode().put("token", t.id());
        ArrayNode experts = r.putArray("experts");
        ArrayNode weights = r.putArray("weights");
        for (int l = 0; l < t.experts().length; l++) {
            ArrayNode e = experts.addArray();
            for (int x : t.experts()[l]) e.add(x);
            ArrayNode w = weights.addArray();
            for (float x : t.weights()[l]) w.add(x);
        }
        return r;
    }

    /** Logprobs in the endpoint's format: legacy lists for completions, content entries for chat. */
    private final class Logprobs {
        final ArrayNode tokens = json.createArrayNode();
        final ArrayNode tokenLogprobs = json.createArrayNode();
        final ArrayNode top = json.createArrayNode();
        final ArrayNode offsets = json.createArrayNode();
        final ArrayNode content = json.createArrayNode();

        void add(Scheduler.TokenOut t, int offset) {
            String s = tokenText(t.id());
            if (chat) {
                ObjectNode c = content.addObject().put("token", s).put("logprob", t.logprob());
                bytes(c, s);
                ArrayNode alts = c.putArray("top_logprobs");
                for (int i = 0; t.topIds() != null && i < t.topIds().length; i++) {
                    String a = tokenText(t.topIds()[i]);
                    bytes(alts.addObject().put("token", a).put("logprob", t.topLogprobs()[i]), a);
                }
            } else {
                tokens.add(s);
                tokenLogprobs.add(t.logprob());
                offsets.add(offset);
                ObjectNode alts = top.addObject();
                for (int i = 0; t.topIds() != null && i < t.topIds().length; i++) {
                    alts.put(tokenText(t.topIds()[i]), t.topLogprobs()[i]);
                }
            }
        }

        ObjectNode json() {
            ObjectNode o = json.createObjectNode();
            if (chat) {
                o.set("content", content);
            } else {
                o.set("tokens", tokens);
                o.set("token_logprobs", tokenLogprobs);
                o.set("top_logprobs", top);
                o.set("text_offset", offsets);
            }
            return o;
        }

        private void bytes(ObjectNode c, String s) {
            ArrayNode b = c.putArray("bytes");
            for (byte x : s.getBytes(StandardCharsets.UTF_8)) b.add(x & 0xff);
        }

        private String tokenText(int id) {
            return server.tokenizer().decode(new int[] {id}, false);
        }
    }
}
