package org.moescope.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.moescope.chat.ChatConfig;
import org.moescope.chat.ChatMessages;
import org.moescope.cli.Main;
import org.moescope.routing.RouteFile;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.Writer;
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
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;
import static org.moescope.e2e.CliTraceGenerateTest.run;

/**
 * Every command that takes a model, on a .gguf converted from a checkpoint directory with a chat tokenizer (the CLI
 * tests' ChatML fixture), does what it does on the directory: template, chat and generate --chat through the file's
 * tokenizer.chat_template; trace (the same route arrays: F32 weights, the same floats), pathways, tokenize, explore,
 * bench; monitor on a series of GGUF files (the same metrics.csv); serve answering /v1/completions and
 * /v1/chat/completions as on the directory. A missing .gguf, a directory named x.gguf and a truncated file are one
 * line of bad input for each. With ../shared present: the real Qwen3, DeepSeek-V3 and Llama 3.1 templates render
 * their golden conversations from the GGUF as from the directory.
 */
class GgufCommandsTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path dir;
    static Path model;
    static Path gguf;
    static Path messages;

    @BeforeAll
    static void makeModel() throws Exception {
        model = chatModel(dir.resolve("init-config.json"), dir.resolve("model"), 3);
        gguf = toGguf(model, dir.resolve("model.gguf"));
        messages = dir.resolve("messages.json");
        Files.writeString(messages, """
                [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hello there"}]""");
    }

    /** A random F32 OLMoE checkpoint (`weights init`) with the ChatML tokenizer of the CLI's chat tests. */
    static Path chatModel(Path config, Path out, int seed) throws Exception {
        Files.writeString(config, """
                {"model_type": "olmoe", "vocab_size": 384, "hidden_size": 32, "intermediate_size": 16,
                 "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "num_experts": 4,
                 "num_experts_per_tok": 2, "max_position_embeddings": 128, "initializer_range": 0.5,
                 "tie_word_embeddings": false}
                """);
        var r = run("weights", "init", "--config", config.toString(), "--out", out.toString(), "--seed",
                Integer.toString(seed), "--dtype", "f32");
        assertEquals(0, r.status(), r.err());
        Path chat = CliTraceGenerateTest.fixtures().getParent().resolve("cli/src/test/resources/chat/model");
        for (String f : List.of("tokenizer.json", "tokenizer_config.json")) Files.copy(chat.resolve(f), out.resolve(f));
        return out;
    }

    static Path toGguf(Path checkpoint, Path out) {
        var c = run("weights", "convert", checkpoint.toString(), "--to", "gguf", "--dtype", "f32", "--out", out.toString());
        assertEquals(0, c.status(), c.err());
        assertTrue(c.out().contains("chat template: default"), c.out());
        return out;
    }

    /** The same command on the directory and on the .gguf: both succeed with the same stdout. */
    private static String sameOnBoth(String command, String... args) {
        String[] a = Stream.concat(Stream.of(command, "--model", model.toString()), Stream.of(args)).toArray(String[]::new);
        String[] b = Stream.concat(Stream.of(command, "--model", gguf.toString()), Stream.of(args)).toArray(String[]::new);
        var ra = run(a);
        var rb = run(b);
        assertEquals(0, ra.status(), ra.err());
        assertEquals(0, rb.status(), rb.err());
        assertEquals(ra.out(), rb.out(), command + " on the .gguf");
        return rb.out();
    }

    @Test
    void templateGenerateChatAndChatRenderAsOnTheDirectory() throws Exception {
        String prompt = sameOnBoth("template", "--messages", messages.toString());
        assertEquals("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nhello there<|im_end|>\n"
                + "<|im_start|>assistant\n", prompt);
        sameOnBoth("generate", "--chat", messages.toString(), "--max-new-tokens", "8", "--temperature", "0");
        InputStream saved = System.in;
        try {
            String[] replies = new String[2];
            int i = 0;
            for (Path m : List.of(model, gguf)) {
                System.setIn(new ByteArrayInputStream("hello there\nand again\n".getBytes(StandardCharsets.UTF_8)));
                var r = run("chat", "--model", m.toString(), "--max-new-tokens", "6", "--temperature", "0.8",
                        "--seed", "5", "--system", "Be brief.");
                assertEquals(0, r.status(), r.err());
                replies[i++] = r.out();
            }
            assertEquals(replies[0], replies[1], "chat on the .gguf");
            assertFalse(replies[1].isBlank());
        } finally {
            System.setIn(saved);
        }
        // The template comes back out of the GGUF into tokenizer_config.json.
        Path back = dir.resolve("back");
        var b = run("weights", "convert", gguf.toString(), "--dtype", "f32", "--out", back.toString());
        assertEquals(0, b.status(), b.err());
        assertTrue(b.out().contains("tokenizer.json; tokenizer_config.json"), b.out());
        ChatConfig from = ChatConfig.load(back);
        ChatConfig source = ChatConfig.load(model);
        assertEquals(source.templates(), from.templates());
        assertEquals("<|im_end|>", from.eosToken());
        var t = run("template", "--model", back.toString(), "--messages", messages.toString());
        assertEquals(prompt, t.out());
    }

    @Test
    void traceRoutesPathwaysTokenizeExploreAndBenchAsOnTheDirectory() throws Exception {
        Path data = dir.resolve("data.jsonl");
        Files.writeString(data, """
                {"id": "a", "group": "x", "text": "the cat sat on the mat"}
                {"id": "b", "group": "y", "ids": [5, 9, 77, 300, 12, 12, 40]}
                {"id": "c", "group": "x", "text": "hello world, hello"}
                """);
        Path[] routes = {dir.resolve("dir-routes.safetensors"), dir.resolve("gguf-routes.safetensors")};
        Path[] models = {model, gguf};
        for (int i = 0; i < 2; i++) {
            var r = run("trace", "--model", models[i].toString(), "--data", data.toString(), "--out",
                    routes[i].toString(), "--save-router-logits", "--save-logits");
            assertEquals(0, r.status(), r.err());
        }
        try (RouteFile a = RouteFile.open(routes[0]); RouteFile b = RouteFile.open(routes[1])) {
            assertEquals(a.numSamples(), b.numSamples());
            // F32 weights in both: the same floats through the same kernels, bit for bit (lane sums in one order,
            // one fixed exp: nothing depends on how far the JIT has compiled the kernels).
            for (int s = 0; s < a.numSamples(); s++) {
                assertArrayEquals(a.inputIds(s), b.inputIds(s));
                assertArrayEquals(a.topkIds(s), b.topkIds(s));
                assertArrayEquals(a.topkWeights(s), b.topkWeights(s));
                assertArrayEquals(a.routerLogits(s), b.routerLogits(s));
                assertArrayEquals(a.logits(s), b.logits(s));
            }
            assertArrayEquals(a.routerProbsMean(), b.routerProbsMean());
            assertArrayEquals(a.loss(), b.loss());
            assertEquals(gguf.toString(), b.metadata().get("model_path"));
        }
        // pathways reads the routers' weights from the model (consistency) and checks the routes were traced with it.
        Path[] pathways = {dir.resolve("dir-pathways.json"), dir.resolve("gguf-pathways.json")};
        for (int i = 0; i < 2; i++) {
            var r = run("pathways", "--routes", routes[i].toString(), "--model", models[i].toString(), "--out",
                    pathways[i].toString());
            assertEquals(0, r.status(), r.err());
        }
        assertClose(JSON.readTree(pathways[0].toFile()), JSON.readTree(pathways[1].toFile()), "pathways");
        var mixed = run("pathways", "--routes", routes[1].toString(), "--model", model.toString(), "--out",
                dir.resolve("mixed.json").toString());
        assertEquals(2, mixed.status(), "routes of the .gguf are not the directory's: " + mixed.err());

        sameOnBoth("tokenize", "hello <|im_start|>world", "the cat");

        // explore decodes the tokens with the GGUF's tokenizer: given, and found from the route file's model_path.
        for (List<String> extra : List.of(List.of("--model", gguf.toString()), List.<String>of())) {
            Path out = dir.resolve("explore-" + extra.size());
            List<String> args = new ArrayList<>(List.of("explore", "--routes", routes[1].toString(), "--out",
                    out.toString()));
            args.addAll(extra);
            var r = run(args.toArray(String[]::new));
            assertEquals(0, r.status(), r.err());
            assertFalse(r.err().contains("shown as ids"), r.err());
            assertTrue(Files.readString(out.resolve("explorer.html")).contains("mat"), "decoded tokens in the page");
        }

        var bench = run("bench", "--model", gguf.toString(), "--samples", "2", "--sample-tokens", "9",
                "--prompt-tokens", "3", "--decode-tokens", "4", "--warmup", "0");
        assertEquals(0, bench.status(), bench.err());
        JsonNode j = JSON.readTree(bench.out());
        assertEquals(18, j.get("prefill_tokens").asInt());
        assertEquals(3, j.get("decode_tokens").asInt());
    }

    /** Equal JSON trees, numbers within float rounding (relative 1e-4). */
    private static void assertClose(JsonNode a, JsonNode b, String where) {
        if (a.isNumber() && b.isNumber() && (a.isFloatingPointNumber() || b.isFloatingPointNumber())) {
            assertEquals(a.doubleValue(), b.doubleValue(), 1e-9 + 1e-4 * Math.abs(a.doubleValue()), where);
        } else if (a.isContainerNode()) {
            assertEquals(a.size(), b.size(), where);
            if (a.isArray()) {
                for (int i = 0; i < a.size(); i++) assertClose(a.get(i), b.get(i), where + "[" + i + "]");
            } else {
                a.properties().forEach(e -> assertClose(e.getValue(), b.path(e.getKey()), where + "." + e.getKey()));
            }
        } else {
            assertEquals(a, b, where);
        }
    }

    @Test
    void monitorOnASeriesOfGgufFilesAsOnTheDirectories() throws Exception {
        Path dirs = dir.resolve("series");
        Path files = dir.resolve("series-gguf");
        Files.createDirectories(files);
        for (int step : new int[] {100, 200}) {
            Path ck = chatModel(dir.resolve("init-" + step + ".json"), dirs.resolve("step-0" + step), step);
            toGguf(ck, files.resolve("step-0" + step + ".gguf"));
        }
        Path data = dir.resolve("train.jsonl");
        SplittableRandom rnd = new SplittableRandom(1);
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < 300; i++) {
            List<String> ids = new ArrayList<>();
            for (int t = 0, len = 4 + rnd.nextInt(8); t < len; t++) ids.add(Integer.toString(rnd.nextInt(340)));
            b.append("{\"id\": \"s").append(i).append("\", \"group\": \"").append(i % 2 == 0 ? "x" : "y")
                    .append("\", \"ids\": [").append(String.join(",", ids)).append("]}\n");
        }
        Files.writeString(data, b.toString());
        String[] csv = new String[2];
        int i = 0;
        for (Path series : List.of(dirs, files)) {
            Path out = dir.resolve("monitor-" + series.getFileName());
            var r = run("monitor", "--checkpoints", series.toString(), "--data", data.toString(), "--out",
                    out.toString(), "--max-pairs", "2000", "--epsilon", "5");
            assertEquals(0, r.status(), r.err());
            assertTrue(Files.exists(out.resolve("routes/step-0200.safetensors")), "named after the file, less .gguf");
            csv[i++] = Files.readString(out.resolve("metrics.csv"));
        }
        // The same metrics, digit for digit (the same routes bit for bit, see the trace test).
        List<String> a = csv[0].lines().toList();
        List<String> g = csv[1].lines().toList();
        assertEquals(a.size(), g.size(), csv[1]);
        assertEquals(7, a.size(), "a header and 3 groups x 2 checkpoints:\n" + csv[0]);
        for (int r = 0; r < a.size(); r++) {
            String[] x = a.get(r).split(",", -1);
            String[] y = g.get(r).split(",", -1);
            assertEquals(x.length, y.length, g.get(r));
            for (int c = 0; c < x.length; c++) {
                assertEquals(x[c], y[c], a.get(0).split(",")[c] + " in " + g.get(r));
            }
        }
    }

    @Test
    void serveAnswersCompletionsAndChatAsOnTheDirectory() throws Exception {
        String[] completions = new String[2];
        String[] chats = new String[2];
        int[] promptTokens = new int[2];
        int i = 0;
        for (Path m : List.of(model, gguf)) {
            URI base = serve(m);
            String id = m.getFileName().toString();
            JsonNode c = post(base, "/v1/completions", "{\"model\": \"" + id + "\", \"prompt\": \"the cat\", "
                    + "\"max_tokens\": 8, \"temperature\": 0}");
            completions[i] = c.get("choices").get(0).get("text").asText();
            JsonNode chat = post(base, "/v1/chat/completions", "{\"model\": \"" + id + "\", \"messages\": "
                    + Files.readString(messages) + ", \"max_tokens\": 8, \"temperature\": 0}");
            assertEquals("assistant", chat.get("choices").get(0).get("message").get("role").asText());
            chats[i] = chat.get("choices").get(0).get("message").get("content").asText();
            promptTokens[i] = chat.get("usage").get("prompt_tokens").asInt();
            i++;
        }
        assertEquals(completions[0], completions[1]);
        assertEquals(chats[0], chats[1]);
        assertEquals(promptTokens[0], promptTokens[1], "the same chat prompt, rendered and tokenized");
    }

    /**
     * Starts `moescope serve --port 0` in-process on a daemon thread (it runs until the JVM exits; its shutdown hook
     * then stops it) and returns the base URI it prints.
     */
    private static URI serve(Path m) throws Exception {
        CompletableFuture<String> uri = new CompletableFuture<>();
        StringWriter err = new StringWriter();
        Writer out = new Writer() {
            private final StringBuilder line = new StringBuilder();

            @Override
            public void write(char[] c, int off, int len) {
                for (int k = off; k < off + len; k++) {
                    if (c[k] == '\n') uri.complete(line.toString().strip());
                    else line.append(c[k]);
                }
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        Thread t = Thread.ofPlatform().daemon().start(() -> {
            int status = Main.run(new String[] {"serve", "--model", m.toString(), "--port", "0", "--max-sessions", "2",
                    "--context", "64"}, new PrintWriter(out, true), new PrintWriter(err, true));
            uri.completeExceptionally(new AssertionError("serve exited " + status + ": " + err));
        });
        assertNotNull(t);
        String printed = uri.get(60, TimeUnit.SECONDS);
        assertTrue(printed.startsWith("http://") && printed.endsWith("/v1"), printed);
        return URI.create(printed.substring(0, printed.length() - 3));
    }

    private static JsonNode post(URI base, String path, String body) throws Exception {
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(base.resolve(path))
                .POST(HttpRequest.BodyPublishers.ofString(body)).header("Content-Type", "application/json").build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
        return JSON.readTree(r.body());
    }

    @Test
    void missingDirectoryAndTruncatedGgufAreOneLineForEveryCommand() throws Exception {
        Path missing = dir.resolve("missing.gguf");
        Path folder = Files.createDirectories(dir.resolve("folder.gguf"));
        byte[] all = Files.readAllBytes(gguf);
        Path cut = dir.resolve("cut.gguf");
        Files.write(cut, java.util.Arrays.copyOf(all, all.length / 2));
        Path routes = dir.resolve("some-routes.safetensors");
        Path data = dir.resolve("one.jsonl");
        Files.writeString(data, "{\"id\": \"a\", \"ids\": [1, 2, 3]}\n");
        assertEquals(0, run("trace", "--model", model.toString(), "--data", data.toString(), "--out",
                routes.toString()).status());
        Path out = dir.resolve("never-written");
        for (Path bad : List.of(missing, folder, cut)) {
            String p = bad.toString();
            List<String[]> commands = List.of(
                    new String[] {"generate", "--model", p, "--prompt", "the cat", "--max-new-tokens", "2"},
                    new String[] {"generate", "--model", p, "--chat", messages.toString()},
                    new String[] {"trace", "--model", p, "--data", data.toString(), "--out", out.toString()},
                    new String[] {"bench", "--model", p, "--warmup", "0"},
                    new String[] {"pathways", "--model", p, "--routes", routes.toString(), "--out", out.toString()},
                    new String[] {"template", "--model", p, "--messages", messages.toString()},
                    new String[] {"chat", "--model", p},
                    new String[] {"tokenize", "--model", p, "hello"},
                    new String[] {"explore", "--model", p, "--routes", routes.toString(), "--out", out.toString()},
                    new String[] {"serve", "--model", p, "--port", "0"},
                    new String[] {"monitor", "--checkpoints", p, gguf.toString(), "--data", data.toString(), "--out",
                            out.toString()},
                    new String[] {"weights", "convert", p, "--dtype", "f32", "--out", out.toString()});
            for (String[] args : commands) {
                var r = run(args);
                String what = String.join(" ", args) + "\n" + r.err();
                assertEquals(2, r.status(), what);
                assertEquals(1, r.err().strip().lines().count(), what);
                assertTrue(r.err().startsWith("moescope: ") && r.err().contains(p), what);
                assertFalse(Files.exists(out), "no output: " + what);
            }
        }
    }

    /** With ../shared: real chat templates render their golden conversations from a GGUF as from the directory. */
    @Test
    void realTemplatesRenderFromTheGgufAsFromTheDirectory() throws Exception {
        Path root = CliTraceGenerateTest.fixtures().getParent();
        Path shared = root.getParent().resolve("shared/fixtures/tokenizers");
        Assumptions.assumeTrue(Files.isDirectory(shared), "skipped: " + shared + " is absent (../shared is not "
                + "available here)");
        for (String name : List.of("qwen3", "deepseek-v3", "llama3.1")) {
            Path ck = dir.resolve("real-" + name);
            Files.createDirectories(ck);
            for (String f : List.of("config.json", "model.safetensors")) Files.copy(model.resolve(f), ck.resolve(f));
            for (String f : List.of("tokenizer.json", "tokenizer_config.json")) {
                Files.copy(shared.resolve(name).resolve(f), ck.resolve(f));
            }
            Path file = dir.resolve("real-" + name + ".gguf");
            var c = run("weights", "convert", ck.toString(), "--to", "gguf", "--dtype", "f32", "--out", file.toString());
            assertEquals(0, c.status(), c.err());
            assertTrue(c.out().contains("chat template: default"), c.out());
            ChatConfig fromDir = ChatConfig.load(ck);
            ChatConfig fromGguf = ChatConfig.load(file);
            int n = 0;
            Path goldens = root.resolve("engine/src/test/resources/chat/golden-" + name + ".jsonl");
            for (String line : Files.readAllLines(goldens)) {
                if (line.isBlank()) continue;
                JsonNode g = JSON.readTree(line);
                if (!g.has("rendered")) continue;
                @SuppressWarnings("unchecked")
                List<Object> msgs = (List<Object>) ChatMessages.parseValue(g.get("messages").toString(), "messages");
                @SuppressWarnings("unchecked")
                List<Object> tools = g.get("tools").isNull() ? null
                        : (List<Object>) ChatMessages.parseValue(g.get("tools").toString(), "tools");
                @SuppressWarnings("unchecked")
                Map<String, Object> vars = (Map<String, Object>) ChatMessages.parseValue(g.get("vars").toString(), "vars");
                boolean agp = g.get("add_generation_prompt").asBoolean();
                String expected = g.get("rendered").textValue();
                assertEquals(expected, fromDir.template(tools != null).apply(msgs, tools, agp, fromDir.specialTokens(), vars));
                assertEquals(expected, fromGguf.template(tools != null).apply(msgs, tools, agp, fromGguf.specialTokens(),
                        vars), name + " " + g.get("case").asText() + " from the GGUF");
                n++;
            }
            assertTrue(n >= 30, name + ": " + n + " golden conversations");
        }
    }
}
