package org.moescope.serve;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import org.moescope.chat.ChatMessages;
import org.moescope.chat.ChatTemplate;
import org.moescope.errors.BadInputException;
import org.moescope.model.MoeTransformer;
import org.moescope.model.Sampler;
import org.moescope.tokenizer.Tokenizer;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * {@code moescope serve}: the OpenAI HTTP API over one model, on the JDK's own HTTP server with a virtual thread per
 * exchange. Completions and chat completions (through the model's chat template), streamed as server-sent events or
 * not, all run through one {@link Scheduler} (continuous batching). See docs/serve.md.
 */
public final class OpenAiServer implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(OpenAiServer.class.getName());
    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    /** Completions without max_tokens stop after 16 tokens, as OpenAI's legacy endpoint. */
    static final int COMPLETION_DEFAULT_MAX_TOKENS = 16;

    /**
     * @param modelId       the name /v1/models lists and requests must give
     * @param apiKey        null: no key asked
     * @param maxSessions   sequences of the full context the KV cache holds (its budget is maxSessions x context rows)
     * @param context       the longest sequence, prompt + completion
     * @param stepTokens    tokens per forward step (decode tokens, then prompt chunks)
     * @param maxBodyBytes  larger request bodies get 413
     * @param warmUpSteps   forward steps run before listening (see Scheduler.warmUp)
     */
    public record Options(String host, int port, String modelId, String apiKey, int maxSessions, int context,
                          int stepTokens, int maxBodyBytes, int warmUpSteps) {
    }

    /**
     * The model's chat side: its template (null: no /v1/chat/completions), the template's special tokens, and the
     * ids that end a reply.
     */
    public record Chat(ChatTemplate template, Map<String, String> specialTokens, Set<Integer> stopIds) {
    }

    private final Options options;
    private final Tokenizer tokenizer;
    private final Chat chat;
    private final Scheduler scheduler;
    /** Ids below this are sampled: the model's rows that the tokenizer can decode (no padding rows). */
    private final int validVocab;
    private final HttpServer http;
    private final ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();
    private final byte[] apiKey;
    private final long created = System.currentTimeMillis() / 1000;
    private volatile boolean closing;

    private OpenAiServer(MoeTransformer model, Tokenizer tokenizer, Chat chat, Options options) throws IOException {
        this.options = options;
        this.tokenizer = tokenizer;
        this.chat = chat;
        this.apiKey = options.apiKey() == null ? null : options.apiKey().getBytes(StandardCharsets.UTF_8);
        this.validVocab = Math.min(model.config().vocabSize(), tokenizer.vocabSize());
        this.scheduler = new Scheduler(model, options.maxSessions() * options.context(), options.context(),
                options.stepTokens(), validVocab);
        scheduler.warmUp(options.warmUpSteps());
        scheduler.start();
        this.http = HttpServer.create(new InetSocketAddress(options.host(), options.port()), 256);
        http.createContext("/", this::handle);
        http.setExecutor(executor);
        http.start();
    }

    /** Loads nothing itself: the model and tokenizer come loaded. Binds and starts serving. */
    public static OpenAiServer start(MoeTransformer model, Tokenizer tokenizer, Chat chat, Options options)
            throws IOException {
        return new OpenAiServer(model, tokenizer, chat, options);
    }

    public URI uri() {
        InetSocketAddress a = http.getAddress();
        String host = a.getAddress().isAnyLocalAddress() ? "127.0.0.1" : a.getAddress().getHostAddress();
        if (host.contains(":")) host = "[" + host + "]";
        return URI.create("http://" + host + ":" + a.getPort());
    }

    /**
     * Graceful shutdown: new requests get 503, running sequences may finish for graceMillis, the rest end (a stream
     * gets an error event and [DONE]), then the listener closes.
     */
    public void shutdown(long graceMillis) {
        closing = true;
        scheduler.shutdown(graceMillis);
        http.stop(1);
        executor.shutdownNow();
    }

    @Override
    public void close() {
        shutdown(0);
    }

    // ------------------------------------------------------------------------------------------------------------
    // Routing

    private void handle(HttpExchange ex) {
        String path = ex.getRequestURI().getPath();
        String endpoint = switch (path) {
            case "/v1/models", "/v1/completions", "/v1/chat/completions", "/health", "/metrics" -> path;
            default -> "other";
        };
        int status;
        try {
            status = route(ex, path);
        } catch (ApiError e) {
            status = e.status;
            sendError(ex, e);
        } catch (RuntimeException | Error e) {
            LOG.log(Level.SEVERE, "internal error on " + path, e);
            status = 500;
            sendError(ex, new ApiError(500, "server_error", null, null, "internal error: " + e));
        } finally {
            ex.close();
        }
        scheduler.metrics.request(endpoint, status);
    }

    private int route(HttpExchange ex, String path) {
        String method = ex.getRequestMethod();
        switch (path) {
            case "/health" -> {
                requireMethod(method, "GET");
                if (closing) throw new ApiError(503, "server_error", null, null, "shutting down");
                send(ex, 200, "application/json", "{\"status\":\"ok\"}");
                return 200;
            }
            case "/metrics" -> {
                requireMethod(method, "GET");
                send(ex, 200, "text/plain; version=0.0.4; charset=utf-8", scheduler.metrics.render());
                return 200;
            }
            case "/v1/models" -> {
                requireMethod(method, "GET");
                authorize(ex);
                ObjectNode m = JSON.createObjectNode().put("id", options.modelId()).put("object", "model")
                        .put("created", created).put("owned_by", "moescope");
                ObjectNode list = JSON.createObjectNode().put("object", "list");
                list.putArray("data").add(m);
                send(ex, 200, "application/json", list.toString());
                return 200;
            }
            case "/v1/completions", "/v1/chat/completions" -> {
                requireMethod(method, "POST");
                authorize(ex);
                if (closing) throw new ApiError(503, "server_error", null, null, "the server is shutting down");
                return generate(ex, path.equals("/v1/chat/completions"));
            }
            default -> throw new ApiError(404, "invalid_request_error", null, "not_found", "no such endpoint: "
                    + method + " " + brief(path));
        }
    }

    private static void requireMethod(String method, String want) {
        if (!method.equals(want)) {
            throw new ApiError(405, "invalid_request_error", null, "method_not_allowed", "use " + want + ", not "
                    + brief(method));
        }
    }

    private void authorize(HttpExchange ex) {
        if (apiKey == null) return;
        String h = ex.getRequestHeaders().getFirst("Authorization");
        byte[] given = h != null && h.startsWith("Bearer ") ? h.substring(7).getBytes(StandardCharsets.UTF_8) : null;
        if (given == null || !MessageDigest.isEqual(given, apiKey)) {
            throw new ApiError(401, "invalid_request_error", null, "invalid_api_key", h == null
                    ? "missing API key: send the header Authorization: Bearer KEY" : "incorrect API key");
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // Completions

    private int generate(HttpExchange ex, boolean isChat) {
        JsonNode body = readJson(ex);
        JsonNode model = body.get("model");
        if (model == null || !model.isTextual()) throw ApiError.invalid("model", "model must be a string: " + options.modelId());
        if (!model.textValue().equals(options.modelId())) {
            throw new ApiError(404, "invalid_request_error", "model", "model_not_found", "the model "
                    + brief(model.textValue()) + " does not exist; this server has " + options.modelId());
        }
        Request req = Request.parse(body, isChat);
        int[] prompt = isChat ? chatPrompt(body) : completionPrompt(body);
        int context = scheduler.context();
        if (prompt.length == 0) throw ApiError.invalid(isChat ? "messages" : "prompt", "the prompt is empty");
        if (prompt.length >= context) {
            throw new ApiError(400, "invalid_request_error", isChat ? "messages" : "prompt", "context_length_exceeded",
                    "this model's context is " + context + " tokens; the prompt has " + prompt.length);
        }
        int maxTokens;
        if (req.maxTokens() != null) {
            maxTokens = req.maxTokens();
            if (prompt.length + maxTokens > context) {
                throw new ApiError(400, "invalid_request_error", "max_tokens", "context_length_exceeded",
                        "this model's context is " + context + " tokens; the prompt has " + prompt.length
                                + " and max_tokens asks for " + maxTokens);
            }
        } else {
            maxTokens = isChat ? context - prompt.length : Math.min(COMPLETION_DEFAULT_MAX_TOKENS, context - prompt.length);
        }
        long seed = req.seed() != null ? req.seed() : new SplittableRandom().nextLong();
        Sampler sampler = new Sampler(req.temperature(), 0, req.topP(), 0f, 1f, validVocab,
                new SplittableRandom(seed));
        Set<Integer> eos = chat != null ? chat.stopIds() : Set.of();
        Completion c = new Completion(this, req, isChat, prompt.length);
        Scheduler.Sequence seq;
        try {
            seq = scheduler.submit(new Scheduler.Job(prompt, maxTokens, sampler, eos::contains, req.routes(),
                    req.topLogprobs(), c));
        } catch (Scheduler.Busy e) {
            ex.getResponseHeaders().set("Retry-After", "1");
            throw new ApiError(429, "rate_limit_exceeded", null, "kv_cache_full", e.getMessage());
        } catch (Scheduler.Closing e) {
            throw new ApiError(503, "server_error", null, null, e.getMessage());
        }
        return req.stream() ? c.stream(ex, seq) : c.respond(ex, seq);
    }

    private int[] completionPrompt(JsonNode body) {
        JsonNode p = body.get("prompt");
        if (p == null || p.isNull()) throw ApiError.invalid("prompt", "prompt is required");
        if (p.isArray() && p.size() == 1 && p.get(0).isTextual()) p = p.get(0);
        if (p.isTextual()) return tokenizer.encodeIds(p.textValue(), true);
        if (p.isArray()) {
            int[] ids = new int[p.size()];
            int valid = validVocab;
            for (int i = 0; i < ids.length; i++) {
                JsonNode x = p.get(i);
                if (!x.isIntegralNumber() || !x.canConvertToInt() || x.intValue() < 0 || x.intValue() >= valid) {
                    throw ApiError.invalid("prompt", "prompt must be a string or a list of token ids in [0, " + valid
                            + "); item " + i + " is " + Request.brief(x));
                }
                ids[i] = x.intValue();
            }
            return ids;
        }
        throw ApiError.invalid("prompt", "prompt must be a string or a list of token ids (one prompt per request)");
    }

    private int[] chatPrompt(JsonNode body) {
        if (chat == null || chat.template() == null) {
            throw ApiError.invalid(null, "the model " + options.modelId() + " has no chat template; use /v1/completions");
        }
        JsonNode messages = body.get("messages");
        List<Object> list;
        try {
            list = ChatMessages.check(textParts(messages), "messages");
        } catch (BadInputException e) {
            throw ApiError.invalid("messages", e.getMessage());
        }
        String text;
        try {
            text = chat.template().apply(list, null, true, chat.specialTokens(), Map.of());
        } catch (RuntimeException e) { // the template's own raise_exception (e.g. roles must alternate) or a type error
            throw ApiError.invalid("messages", "the chat template refused the messages: " + e.getMessage());
        }
        return tokenizer.encodeIds(text);
    }

    /** OpenAI's content parts [{"type": "text", "text": ...}] joined into one string; other parts are refused. */
    private static JsonNode textParts(JsonNode messages) {
        if (messages == null || !messages.isArray()) return messages;
        ArrayNode out = JSON.createArrayNode();
        for (JsonNode m : messages) {
            JsonNode content = m.get("content");
            if (m.isObject() && content != null && content.isArray()) {
                StringBuilder b = new StringBuilder();
                for (JsonNode part : content) {
                    if (!part.isObject() || !"text".equals(part.path("type").asText()) || !part.path("text").isTextual()) {
                        throw ApiError.invalid("messages", "only text content parts ({\"type\": \"text\", \"text\": "
                                + "...}) are supported");
                    }
                    b.append(part.get("text").textValue());
                }
                ObjectNode copy = ((ObjectNode) m).deepCopy();
                copy.put("content", b.toString());
                out.add(copy);
            } else {
                out.add(m);
            }
        }
        return out;
    }

    private JsonNode readJson(HttpExchange ex) {
        int max = options.maxBodyBytes();
        String length = ex.getRequestHeaders().getFirst("Content-Length");
        if (length != null) {
            long n;
            try {
                n = Long.parseLong(length.strip());
            } catch (NumberFormatException e) {
                throw ApiError.invalid(null, "bad Content-Length");
            }
            if (n > max) {
                drain(ex, 8L * max);
                throw tooLarge(max);
            }
        }
        byte[] bytes;
        try (InputStream in = ex.getRequestBody()) {
            ByteArrayOutputStream buf = new ByteArrayOutputStream();
            byte[] chunk = new byte[8192];
            int r;
            while ((r = in.read(chunk)) > 0) {
                buf.write(chunk, 0, r);
                if (buf.size() > max) {
                    drain(ex, 8L * max);
                    throw tooLarge(max);
                }
            }
            bytes = buf.toByteArray();
        } catch (IOException e) {
            throw ApiError.invalid(null, "could not read the request body: " + e.getMessage());
        }
        JsonNode node;
        try {
            node = JSON.readTree(bytes);
        } catch (JsonProcessingException e) {
            throw ApiError.invalid(null, "the body is not valid JSON: " + e.getOriginalMessage());
        } catch (IOException e) { // malformed UTF-8 and the like
            throw ApiError.invalid(null, "the body is not valid JSON: " + e.getMessage());
        }
        if (node == null || !node.isObject()) throw ApiError.invalid(null, "the body must be a JSON object");
        return node;
    }

    /**
     * Reads and drops up to limit bytes of a body we refuse, so that a client still sending it reads the 413 instead
     * of a reset connection; a longer body is cut off (the connection closes).
     */
    private static void drain(HttpExchange ex, long limit) {
        try (InputStream in = ex.getRequestBody()) {
            byte[] chunk = new byte[8192];
            long total = 0;
            int r;
            while (total < limit && (r = in.read(chunk)) > 0) total += r;
        } catch (IOException e) {
            // the client gave up: nothing to drain
        }
    }

    private static ApiError tooLarge(int max) {
        return new ApiError(413, "invalid_request_error", null, "request_too_large", "the request body exceeds "
                + max + " bytes");
    }

    // ------------------------------------------------------------------------------------------------------------
    // Responses

    static void send(HttpExchange ex, int status, String type, String body) {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", type);
        try {
            ex.sendResponseHeaders(status, bytes.length);
            try (OutputStream out = ex.getResponseBody()) {
                out.write(bytes);
            }
        } catch (IOException e) {
            // the client went away; nothing to tell it
        }
    }

    static ObjectNode errorObject(ApiError e) {
        ObjectNode err = JSON.createObjectNode();
        ObjectNode o = err.putObject("error");
        o.put("message", e.getMessage());
        o.put("type", e.type);
        o.put("param", e.param);
        o.put("code", e.code);
        return err;
    }

    private static void sendError(HttpExchange ex, ApiError e) {
        if (ex.getResponseCode() != -1) return; // headers already sent (a stream): nothing more to say this way
        send(ex, e.status, "application/json", errorObject(e).toString());
    }

    static String brief(String s) {
        return s.length() > 60 ? s.substring(0, 60) + "..." : s;
    }

    String modelId() {
        return options.modelId();
    }

    long now() {
        return System.currentTimeMillis() / 1000;
    }

    Tokenizer tokenizer() {
        return tokenizer;
    }

    static ObjectMapper json() {
        return JSON;
    }

    static String newId(boolean chat) {
        return (chat ? "chatcmpl-" : "cmpl-") + UUID.randomUUID().toString().replace("-", "");
    }

    /** Events from the scheduler thread to the exchange's thread. */
    sealed interface Event {
    }

    record TokenEvent(Scheduler.TokenOut token, String text) implements Event {
    }

    record EndEvent(String reason, String text) implements Event {
    }

    /** A step ran without a token for the sequence (see Scheduler.Listener.waited). */
    record WaitedEvent() implements Event {
    }

    static final WaitedEvent WAITED = new WaitedEvent();

    static LinkedBlockingQueue<Event> queue() {
        return new LinkedBlockingQueue<>();
    }

    static List<Event> list() {
        return new ArrayList<>();
    }
}
