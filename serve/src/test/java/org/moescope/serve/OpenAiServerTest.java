package org.moescope.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.moescope.chat.ChatTemplate;
import org.moescope.kernels.VectorKernels;
import org.moescope.model.Architectures;
import org.moescope.model.MoeTransformer;
import org.moescope.safetensors.DType;
import org.moescope.tokenizer.Tokenizer;
import org.moescope.weights.Init;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The server end to end over HTTP (JDK HttpClient) on a free port: a random OLMoE-style checkpoint from weights init
 * with the synthetic test tokenizer and a small chat template.
 */
class OpenAiServerTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String KEY = "sk-test-key";
    static final Logger SERVE_LOG = Logger.getLogger("org.moescope.serve");
    static final ConcurrentLinkedQueue<LogRecord> SEVERE = new ConcurrentLinkedQueue<>();
    static final Handler CATCH = new Handler() {
        @Override
        public void publish(LogRecord r) {
            if (r.getLevel().intValue() >= Level.SEVERE.intValue()) SEVERE.add(r);
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    };

    @TempDir
    static Path dir;
    static MoeTransformer model;
    static Tokenizer tokenizer;
    static OpenAiServer server;
    static URI base;
    static HttpClient http = HttpClient.newHttpClient();

    static Path repoRoot() {
        Path p = Path.of("").toAbsolutePath();
        while (p != null && !Files.isDirectory(p.resolve("fixtures/models"))) p = p.getParent();
        return p;
    }

    @BeforeAll
    static void start() throws Exception {
        SERVE_LOG.addHandler(CATCH);
        var json = JSON.readTree("""
                {"model_type": "olmoe", "vocab_size": 384, "hidden_size": 64, "intermediate_size": 32,
                 "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "num_experts": 8,
                 "num_experts_per_tok": 2, "max_position_embeddings": 2048, "initializer_range": 0.5,
                 "tie_word_embeddings": false}""");
        Path cfg = dir.resolve("config.json");
        Files.writeString(cfg, json.toString());
        Path m = dir.resolve("tiny-serve");
        Init.run(Architectures.initPlan(json, cfg), json, DType.BF16, 3, Long.MAX_VALUE, m, false, 2);
        tokenizer = Tokenizer.load(repoRoot().resolve("engine/src/test/resources/tokenizer/synthetic-tokenizer.json"));
        model = MoeTransformer.load(m, VectorKernels.batchInvariant());
        server = start(8, 128, KEY);
        base = server.uri();
    }

    static OpenAiServer start(int sessions, int context, String key) throws Exception {
        ChatTemplate template = ChatTemplate.parse("{% for m in messages %}<{{ m.role }}>{{ m.content }}\n"
                + "{% endfor %}{% if add_generation_prompt %}<assistant>{% endif %}", "test");
        return OpenAiServer.start(model, tokenizer, new OpenAiServer.Chat(template, Map.of(), Set.of()),
                new OpenAiServer.Options("127.0.0.1", 0, "tiny-serve", key, sessions, context, 16, 64 * 1024, 200));
    }

    @AfterAll
    static void stop() {
        server.close();
        model.close();
        SERVE_LOG.removeHandler(CATCH);
    }

    record Reply(int status, JsonNode json, String body, HttpResponse<String> response) {
    }

    static Reply post(String path, String body) throws Exception {
        return post(base, path, body, KEY);
    }

    static Reply post(URI at, String path, String body, String key) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(at.resolve(path)).POST(HttpRequest.BodyPublishers.ofString(body))
                .header("Content-Type", "application/json");
        if (key != null) b.header("Authorization", "Bearer " + key);
        HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        JsonNode j = null;
        try {
            j = JSON.readTree(r.body());
        } catch (Exception e) {
            // SSE or text
        }
        return new Reply(r.statusCode(), j, r.body(), r);
    }

    static Reply get(String path, String key) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(base.resolve(path)).GET();
        if (key != null) b.header("Authorization", "Bearer " + key);
        HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        JsonNode j = null;
        try {
            j = JSON.readTree(r.body());
        } catch (Exception e) {
            // text
        }
        return new Reply(r.statusCode(), j, r.body(), r);
    }

    /** The data lines of an SSE body, [DONE] last (comments, the server's heartbeats, skipped). */
    static List<String> events(String body) {
        List<String> out = new ArrayList<>();
        for (String block : body.split("\n\n")) {
            if (block.isBlank() || block.startsWith(":")) continue;
            assertTrue(block.startsWith("data: "), block);
            out.add(block.substring(6));
        }
        return out;
    }

    static String completion(String prompt, int maxTokens, String extra) {
        return "{\"model\": \"tiny-serve\", \"prompt\": " + JSON.valueToTree(prompt) + ", \"max_tokens\": " + maxTokens
                + (extra.isEmpty() ? "" : ", " + extra) + "}";
    }

    static void assertError(Reply r, int status, String param) {
        assertEquals(status, r.status(), r.body());
        assertNotNull(r.json(), r.body());
        JsonNode e = r.json().get("error");
        assertNotNull(e, r.body());
        assertTrue(e.get("message").isTextual() && !e.get("message").textValue().isEmpty(), r.body());
        assertTrue(e.get("type").isTextual(), r.body());
        assertTrue(e.has("param") && e.has("code"), r.body());
        if (param != null) assertEquals(param, e.get("param").asText(), r.body());
    }

    @Test
    void modelsHealthAndMetrics() throws Exception {
        Reply models = get("/v1/models", KEY);
        assertEquals(200, models.status());
        assertEquals("list", models.json().get("object").asText());
        assertEquals("tiny-serve", models.json().get("data").get(0).get("id").asText());
        assertEquals(200, get("/health", null).status());
        post("/v1/completions", completion("hello", 4, ""));
        Reply metrics = get("/metrics", null);
        assertEquals(200, metrics.status());
        assertTrue(metrics.response().headers().firstValue("Content-Type").orElse("").startsWith("text/plain"));
        for (String name : List.of("moescope_requests_total{endpoint=\"/v1/completions\",status=\"200\"}",
                "moescope_prompt_tokens_total", "moescope_generation_tokens_total", "moescope_running_sequences",
                "moescope_waiting_sequences", "moescope_batch_sequences_bucket{le=\"1\"}",
                "moescope_time_to_first_token_seconds_count", "moescope_inter_token_latency_seconds_bucket{le=\"+Inf\"}",
                "# TYPE moescope_time_to_first_token_seconds histogram")) {
            assertTrue(metrics.body().contains(name), name + " in\n" + metrics.body());
        }
    }

    @Test
    void completionWithUsageLogprobsAndLength() throws Exception {
        Reply r = post("/v1/completions", completion("hello world", 8, "\"temperature\": 0, \"logprobs\": 3"));
        assertEquals(200, r.status(), r.body());
        JsonNode c = r.json().get("choices").get(0);
        assertEquals("text_completion", r.json().get("object").asText());
        assertEquals("length", c.get("finish_reason").asText());
        JsonNode usage = r.json().get("usage");
        assertEquals(tokenizer.encodeIds("hello world", true).length, usage.get("prompt_tokens").asInt());
        assertEquals(8, usage.get("completion_tokens").asInt());
        assertEquals(usage.get("prompt_tokens").asInt() + 8, usage.get("total_tokens").asInt());
        JsonNode lp = c.get("logprobs");
        assertEquals(8, lp.get("tokens").size());
        assertEquals(8, lp.get("token_logprobs").size());
        assertEquals(3, lp.get("top_logprobs").get(0).size());
        for (JsonNode x : lp.get("token_logprobs")) assertTrue(x.asDouble() <= 0, lp.toString());
        // greedy: each chosen token is the best alternative
        double best = lp.get("top_logprobs").get(0).properties().iterator().next().getValue().asDouble();
        assertEquals(best, lp.get("token_logprobs").get(0).asDouble(), 1e-6);
        // a prompt of token ids gives the same answer
        int[] ids = tokenizer.encodeIds("hello world", true);
        Reply byIds = post("/v1/completions", "{\"model\": \"tiny-serve\", \"prompt\": " + JSON.valueToTree(ids)
                + ", \"max_tokens\": 8, \"temperature\": 0}");
        assertEquals(c.get("text").asText(), byIds.json().get("choices").get(0).get("text").asText());
    }

    @Test
    void streamedCompletionMatchesTheWholeOneAndEndsWithDone() throws Exception {
        String whole = post("/v1/completions", completion("abc", 12, "\"temperature\": 0.8, \"seed\": 4"))
                .json().get("choices").get(0).get("text").asText();
        Reply s = post("/v1/completions", completion("abc", 12, "\"temperature\": 0.8, \"seed\": 4, \"stream\": true, "
                + "\"stream_options\": {\"include_usage\": true}"));
        assertEquals(200, s.status());
        assertTrue(s.response().headers().firstValue("Content-Type").orElse("").startsWith("text/event-stream"));
        List<String> ev = events(s.body());
        assertEquals("[DONE]", ev.getLast());
        StringBuilder text = new StringBuilder();
        JsonNode usage = null;
        String finish = null;
        for (String e : ev.subList(0, ev.size() - 1)) {
            JsonNode j = JSON.readTree(e);
            assertEquals("text_completion", j.get("object").asText());
            for (JsonNode ch : j.get("choices")) {
                text.append(ch.get("text").asText());
                if (!ch.get("finish_reason").isNull()) finish = ch.get("finish_reason").asText();
            }
            if (j.hasNonNull("usage")) usage = j.get("usage");
        }
        assertEquals(whole, text.toString());
        assertEquals("length", finish);
        assertNotNull(usage, "include_usage puts usage in a last chunk");
        assertEquals(12, usage.get("completion_tokens").asInt());
    }

    @Test
    void chatThroughTheTemplateStreamedAndNot() throws Exception {
        String body = "{\"model\": \"tiny-serve\", \"messages\": [{\"role\": \"system\", \"content\": \"be brief\"}, "
                + "{\"role\": \"user\", \"content\": [{\"type\": \"text\", \"text\": \"hi there\"}]}], "
                + "\"max_tokens\": 10, \"temperature\": 0, \"logprobs\": true, \"top_logprobs\": 2";
        Reply r = post("/v1/chat/completions", body + "}");
        assertEquals(200, r.status(), r.body());
        assertEquals("chat.completion", r.json().get("object").asText());
        JsonNode msg = r.json().get("choices").get(0).get("message");
        assertEquals("assistant", msg.get("role").asText());
        String prompt = "<system>be brief\n<user>hi there\n<assistant>";
        assertEquals(tokenizer.encodeIds(prompt).length, r.json().get("usage").get("prompt_tokens").asInt());
        JsonNode content = r.json().get("choices").get(0).get("logprobs").get("content");
        assertEquals(10, content.size());
        assertEquals(2, content.get(0).get("top_logprobs").size());
        assertTrue(content.get(0).get("bytes").isArray());
        Reply s = post("/v1/chat/completions", body + ", \"stream\": true}");
        List<String> ev = events(s.body());
        assertEquals("[DONE]", ev.getLast());
        JsonNode first = JSON.readTree(ev.getFirst());
        assertEquals("chat.completion.chunk", first.get("object").asText());
        assertEquals("assistant", first.get("choices").get(0).get("delta").get("role").asText());
        StringBuilder text = new StringBuilder();
        for (String e : ev.subList(0, ev.size() - 1)) {
            JsonNode d = JSON.readTree(e).get("choices").get(0).get("delta");
            if (d.has("content")) text.append(d.get("content").asText());
        }
        assertEquals(msg.get("content").asText(), text.toString());
    }

    @Test
    void stopSequenceEndsTheText() throws Exception {
        String full = post("/v1/completions", completion("the stop test", 30, "\"temperature\": 0"))
                .json().get("choices").get(0).get("text").asText();
        assertTrue(full.length() > 6, full);
        String stop = full.substring(full.length() / 2, full.length() / 2 + 2);
        String expected = full.substring(0, full.indexOf(stop));
        for (String stream : List.of("false", "true")) {
            Reply r = post("/v1/completions", completion("the stop test", 30, "\"temperature\": 0, \"stop\": ["
                    + JSON.valueToTree(stop) + "], \"stream\": " + stream));
            String text;
            String finish;
            if (stream.equals("false")) {
                text = r.json().get("choices").get(0).get("text").asText();
                finish = r.json().get("choices").get(0).get("finish_reason").asText();
            } else {
                StringBuilder b = new StringBuilder();
                finish = null;
                for (String e : events(r.body())) {
                    if (e.equals("[DONE]")) continue;
                    JsonNode ch = JSON.readTree(e).get("choices").get(0);
                    b.append(ch.get("text").asText());
                    if (!ch.get("finish_reason").isNull()) finish = ch.get("finish_reason").asText();
                }
                text = b.toString();
            }
            assertEquals(expected, text, "stop " + stop + " in " + full);
            assertEquals("stop", finish);
        }
    }

    @Test
    void routesPerGeneratedTokenAlsoInStreamChunks() throws Exception {
        Reply r = post("/v1/completions", completion("routes", 5, "\"temperature\": 0, \"moescope\": {\"routes\": true}"));
        JsonNode routes = r.json().get("choices").get(0).get("moescope").get("routes");
        assertEquals(5, routes.size());
        int layers = model.config().numMoeLayers(), k = model.config().numExpertsPerTok();
        for (JsonNode t : routes) {
            assertEquals(layers, t.get("experts").size());
            for (int l = 0; l < layers; l++) {
                assertEquals(k, t.get("experts").get(l).size());
                assertEquals(k, t.get("weights").get(l).size());
                for (JsonNode e : t.get("experts").get(l)) assertTrue(e.asInt() >= 0 && e.asInt() < 8);
                for (JsonNode w : t.get("weights").get(l)) assertTrue(w.asDouble() > 0 && w.asDouble() <= 1);
            }
        }
        Reply s = post("/v1/completions", completion("routes", 5, "\"temperature\": 0, \"stream\": true, "
                + "\"moescope\": {\"routes\": true}"));
        List<JsonNode> streamed = new ArrayList<>();
        for (String e : events(s.body())) {
            if (e.equals("[DONE]")) continue;
            JsonNode ch = JSON.readTree(e).get("choices").get(0);
            if (ch.has("moescope")) ch.get("moescope").get("routes").forEach(streamed::add);
        }
        assertEquals(routes.toString(), JSON.valueToTree(streamed).toString(), "same routes streamed and not");
    }

    /** Same seed, same prompt: the same tokens and logprobs alone and batched with six other requests. */
    @Test
    void sameAnswerAloneAndBatched() throws Exception {
        String greedy = completion("alone or not", 40, "\"temperature\": 0, \"logprobs\": 1");
        String sampled = completion("alone or not", 40, "\"temperature\": 1.0, \"top_p\": 0.9, \"seed\": 77, \"logprobs\": 1");
        String aloneGreedy = post("/v1/completions", greedy).json().get("choices").get(0).toString();
        String aloneSampled = post("/v1/completions", sampled).json().get("choices").get(0).toString();
        ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor();
        for (int round = 0; round < 3; round++) {
            List<Future<Reply>> others = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                String p = "other prompt " + i + " tail".repeat(i * 2);
                int n = 30 + 3 * i;
                others.add(pool.submit(() -> post("/v1/completions", completion(p, n, "\"temperature\": 0.7"))));
            }
            Future<Reply> g = pool.submit(() -> post("/v1/completions", greedy));
            Future<Reply> s = pool.submit(() -> post("/v1/completions", sampled));
            assertEquals(aloneGreedy, g.get().json().get("choices").get(0).toString(), "greedy, round " + round);
            assertEquals(aloneSampled, s.get().json().get("choices").get(0).toString(), "sampled, round " + round);
            for (Future<Reply> o : others) assertEquals(200, o.get().status());
        }
        assertTrue(histogramSum("moescope_batch_sequences") > histogramCount("moescope_batch_sequences"),
                "some steps ran several sequences");
        pool.close();
    }

    static double histogramSum(String name) throws Exception {
        return metric(name + "_sum");
    }

    static double histogramCount(String name) throws Exception {
        return metric(name + "_count");
    }

    static double metric(String name) throws Exception {
        return metric(base, name);
    }

    static double metric(URI at, String name) throws Exception {
        String body = http.send(HttpRequest.newBuilder(at.resolve("/metrics")).build(),
                HttpResponse.BodyHandlers.ofString()).body();
        for (String line : body.split("\n")) {
            if (line.startsWith(name + " ")) return Double.parseDouble(line.substring(name.length() + 1));
        }
        throw new AssertionError(name + " not in /metrics");
    }

    @Test
    void badRequestsGetOpenAiErrorObjects() throws Exception {
        assertError(post("/v1/completions", "{\"model\": \"tiny-serve\", \"prompt\": "), 400, null);
        assertError(post("/v1/completions", "[1, 2]"), 400, null);
        assertError(post("/v1/completions", completion("x", 4, "").replace("4}", "\"four\"}")), 400, "max_tokens");
        assertError(post("/v1/completions", completion("x", 4, "\"temperature\": \"hot\"")), 400, "temperature");
        assertError(post("/v1/completions", completion("x", 4, "\"stop\": 3")), 400, "stop");
        assertError(post("/v1/completions", "{\"model\": \"tiny-serve\", \"prompt\": {\"a\": 1}}"), 400, "prompt");
        assertError(post("/v1/completions", "{\"model\": \"tiny-serve\", \"prompt\": [1, 99999]}"), 400, "prompt");
        assertError(post("/v1/chat/completions", "{\"model\": \"tiny-serve\", \"messages\": \"hi\"}"), 400, "messages");
        Reply unknown = post("/v1/completions", completion("x", 4, "").replace("\"tiny-serve\"", "\"gpt-9\""));
        assertError(unknown, 404, "model");
        assertEquals("model_not_found", unknown.json().get("error").get("code").asText());
        Reply tooLong = post("/v1/completions", completion("word ".repeat(200), 4, ""));
        assertError(tooLong, 400, "prompt");
        assertEquals("context_length_exceeded", tooLong.json().get("error").get("code").asText());
        assertError(post("/v1/completions", completion("x", 500, "")), 400, "max_tokens");
        Reply big = post("/v1/completions", completion("y".repeat(70 * 1024), 4, ""));
        assertError(big, 413, null);
        assertError(post(base, "/v1/completions", completion("x", 4, ""), null), 401, null);
        assertError(post(base, "/v1/completions", completion("x", 4, ""), "wrong"), 401, null);
        assertError(get("/v1/models", null), 401, null);
        assertError(get("/v1/completions", KEY), 405, null);
        assertError(get("/v1/nothing", KEY), 404, null);
    }

    @Test
    void fullKvCacheAnswers429WithRetryAfter() throws Exception {
        try (OpenAiServer small = start(1, 64, null)) {
            ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor();
            List<Future<Reply>> replies = new ArrayList<>();
            for (int i = 0; i < 12; i++) {
                replies.add(pool.submit(() -> post(small.uri(), "/v1/completions", completion("fill", 60, ""), null)));
            }
            int ok = 0, busy = 0;
            for (Future<Reply> f : replies) {
                Reply r = f.get();
                if (r.status() == 200) ok++;
                else {
                    assertError(r, 429, null);
                    assertEquals("1", r.response().headers().firstValue("Retry-After").orElse(null));
                    busy++;
                }
            }
            assertTrue(ok >= 1 && busy >= 1, ok + " answered, " + busy + " refused");
            pool.close();
        }
    }

    /** 1,000 junk bodies while well-formed requests keep getting the right answer; nothing logged as internal. */
    @Test
    void junkBodiesNeverHurtTheServer() throws Exception {
        String good = completion("steady", 6, "\"temperature\": 0");
        String expected = post("/v1/completions", good).json().get("choices").get(0).get("text").asText();
        SEVERE.clear();
        Random rnd = new Random(42);
        List<String> junk = new ArrayList<>();
        String[] fragments = {"{", "}", "[", "]", "\"model\"", ":", ",", "\"tiny-serve\"", "\"prompt\"", "null", "true",
                "-1e999", "\"max_tokens\"", "\"stream\"", "\"messages\"", "\u0000", "\"\\ud800\"", "1.5", "\"stop\""};
        for (int i = 0; i < 1000; i++) {
            StringBuilder b = new StringBuilder();
            switch (i % 4) {
                case 0 -> { // random bytes as Latin-1 text
                    for (int j = rnd.nextInt(200); j > 0; j--) b.append((char) rnd.nextInt(256));
                }
                case 1 -> { // JSON-ish token soup
                    for (int j = rnd.nextInt(30); j > 0; j--) b.append(fragments[rnd.nextInt(fragments.length)]);
                }
                case 2 -> b.append("{\"model\": \"tiny-serve\", \"prompt\": \"x\", \"max_tokens\": ")
                        .append(fragments[rnd.nextInt(fragments.length)]).append('}');
                default -> b.append("{\"model\": \"tiny-serve\", \"messages\": [")
                        .append(fragments[rnd.nextInt(fragments.length)]).append("]}");
            }
            junk.add(b.toString());
        }
        ExecutorService pool = Executors.newFixedThreadPool(8);
        AtomicInteger goodOk = new AtomicInteger();
        Future<?> steady = pool.submit(() -> {
            for (int i = 0; i < 20; i++) {
                Reply r = post("/v1/completions", good);
                assertEquals(200, r.status(), r.body());
                assertEquals(expected, r.json().get("choices").get(0).get("text").asText());
                goodOk.incrementAndGet();
            }
            return null;
        });
        List<Future<Reply>> replies = new ArrayList<>();
        for (String j : junk) {
            String path = j.contains("messages") ? "/v1/chat/completions" : "/v1/completions";
            replies.add(pool.submit(() -> post(path, j)));
        }
        int i = 0;
        for (Future<Reply> f : replies) {
            Reply r = f.get();
            String sent = junk.get(i++);
            if (r.status() == 200) continue; // token soup can happen to be a valid request
            assertTrue(r.status() >= 400 && r.status() < 500, r.status() + " for " + sent + ": " + r.body());
            assertError(r, r.status(), null);
        }
        steady.get();
        assertEquals(20, goodOk.get());
        assertEquals(expected, post("/v1/completions", good).json().get("choices").get(0).get("text").asText());
        assertTrue(SEVERE.isEmpty(), "internal errors logged: " + SEVERE.stream().map(LogRecord::getMessage).toList());
        pool.shutdown();
    }

    /**
     * A client that goes away mid-generation, streamed or not (a non-streamed answer is written only at the end, but
     * every step writes a heartbeat), frees its sequence within a few steps, while other requests keep their answers.
     */
    @Test
    void disconnectedClientsFreeTheirSequences() throws Exception {
        for (boolean stream : new boolean[] {false, true}) {
            try (OpenAiServer s = start(2, 2048, KEY)) {
                String good = completion("steady", 6, "\"temperature\": 0");
                String expected = post(s.uri(), "/v1/completions", good, KEY).json().get("choices").get(0).get("text")
                        .asText();
                double before = metric(s.uri(), "moescope_generation_tokens_total");
                int maxTokens = 2040;
                try (Socket client = new Socket(s.uri().getHost(), s.uri().getPort())) {
                    byte[] b = completion("bye", maxTokens, "\"temperature\": 0.8, \"stream\": " + stream)
                            .getBytes(StandardCharsets.UTF_8);
                    OutputStream out = client.getOutputStream();
                    out.write(("POST /v1/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + KEY
                            + "\r\nContent-Type: application/json\r\nContent-Length: " + b.length + "\r\n\r\n")
                            .getBytes(StandardCharsets.UTF_8));
                    out.write(b);
                    out.flush();
                    InputStream in = client.getInputStream();
                    String head = readHead(in);
                    assertTrue(head.startsWith("HTTP/1.1 200") && head.toLowerCase().contains("transfer-encoding: "
                            + "chunked"), head);
                    // another request is answered while it generates (and after it is gone, below)
                    Reply r = post(s.uri(), "/v1/completions", good, KEY);
                    assertEquals(expected, r.json().get("choices").get(0).get("text").asText(), r.body());
                    int others = 1;
                    assertEquals(1, metric(s.uri(), "moescope_running_sequences"), "still generating");
                    while (in.available() > 0) in.read(new byte[in.available()]); // all read: close sends FIN, not RST
                    double atClose = metric(s.uri(), "moescope_generation_tokens_total");
                    client.close();
                    long deadline = System.nanoTime() + 5_000_000_000L;
                    while ((metric(s.uri(), "moescope_running_sequences") > 0
                            || metric(s.uri(), "moescope_kv_cache_used_rows") > 0) && System.nanoTime() < deadline) {
                        Thread.sleep(2);
                    }
                    double after = metric(s.uri(), "moescope_generation_tokens_total");
                    assertEquals(0, metric(s.uri(), "moescope_running_sequences"), "stream " + stream);
                    assertEquals(0, metric(s.uri(), "moescope_kv_cache_used_rows"), "stream " + stream);
                    double generated = after - before - others * 6;
                    // ended by the close, a few steps after it (this model's steps take well under a millisecond)
                    assertTrue(generated < maxTokens && after - atClose < 200, "stream " + stream + ": "
                            + generated + " tokens generated, " + (after - atClose) + " after the close");
                    System.out.printf("disconnect (stream %s): %.0f of %d tokens, %.0f after the close%n", stream, generated,
                            maxTokens, after - atClose);
                }
                assertEquals(1, metric(s.uri(), "moescope_requests_total{endpoint=\"/v1/completions\",status=\"499\"}"));
                assertEquals(expected, post(s.uri(), "/v1/completions", good, KEY).json().get("choices").get(0)
                        .get("text").asText());
            }
        }
    }

    /** The status line and headers of a raw HTTP response, up to the blank line. */
    static String readHead(InputStream in) throws Exception {
        StringBuilder b = new StringBuilder();
        while (!b.toString().endsWith("\r\n\r\n")) {
            int c = in.read();
            assertTrue(c >= 0, "connection closed in the headers: " + b);
            b.append((char) c);
        }
        return b.toString();
    }

    /**
     * Shutdown ends running requests: a stream with an error event and [DONE]; a non-streamed request, whose 200 went
     * out when it was admitted, with the error object as its body.
     */
    @Test
    void shutdownEndsRunningRequestsAndRefusesNewOnes() throws Exception {
        OpenAiServer other = start(2, 2048, null);
        URI at = other.uri();
        ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor();
        Future<Reply> streamed = pool.submit(() -> post(at, "/v1/completions", completion("long", 2000,
                "\"stream\": true"), null));
        Future<Reply> whole = pool.submit(() -> post(at, "/v1/completions", completion("long", 2000, ""), null));
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (metric(at, "moescope_running_sequences") < 2 && System.nanoTime() < deadline) Thread.sleep(1);
        other.shutdown(0);
        List<String> ev = events(streamed.get().body());
        assertEquals("[DONE]", ev.getLast());
        assertTrue(ev.get(ev.size() - 2).contains("\"error\""), ev.get(ev.size() - 2));
        Reply w = whole.get();
        assertEquals(200, w.status(), w.body());
        assertEquals("shutdown", w.json().get("error").get("code").asText(), w.body());
        assertThrows(Exception.class, () -> post(at, "/v1/completions", completion("x", 2, ""), null));
        pool.close();
    }
}
