package org.moescope.dist;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.moescope.safetensors.SafetensorsFile;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.StringWriter;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.spi.ToolProvider;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The archive as a user gets it: unpacked into a temporary folder and run through bin/moescope in an environment
 * with no JAVA_HOME and no java on PATH (PATH holds only the few tools the launcher itself calls).
 */
class DistributionIT {
    private static final String INCUBATOR_WARNING = "WARNING: Using incubator modules";

    @TempDir
    static Path tmp;
    static Path home;
    static Path tools;

    record Run(int status, String out, String err) {
    }

    @BeforeAll
    static void unpack() throws Exception {
        Path archive = Path.of(System.getProperty("dist.archive"));
        assertTrue(Files.isRegularFile(archive), "no archive at " + archive + ": the dist module's package phase makes it");
        Path unpacked = Files.createDirectories(tmp.resolve("unpacked"));
        Process tar = new ProcessBuilder("tar", "-xzf", archive.toString(), "-C", unpacked.toString()).inheritIO().start();
        assertEquals(0, tar.waitFor());
        home = unpacked.resolve(System.getProperty("dist.name"));
        assertTrue(Files.isExecutable(home.resolve("bin/moescope")), "bin/moescope is missing or not executable");

        // PATH: copies of the programs bin/moescope needs (bash through /usr/bin/env, and dirname, readlink, cat)
        // and nothing else, so that no java can be found on it.
        tools = Files.createDirectories(tmp.resolve("path"));
        for (String tool : List.of("bash", "dirname", "readlink", "cat")) {
            Files.copy(onHostPath(tool), tools.resolve(tool), StandardCopyOption.COPY_ATTRIBUTES);
        }
        Run which = run(List.of(tools.resolve("bash").toString(), "-c", "command -v java"), Map.of(), tmp);
        assertNotEquals(0, which.status(), "java is on the test's PATH: " + which.out());
    }

    private static Path onHostPath(String tool) {
        for (String dir : System.getenv("PATH").split(File.pathSeparator)) {
            Path p = Path.of(dir, tool);
            if (Files.isExecutable(p)) return p;
        }
        throw new IllegalStateException(tool + " is not on PATH");
    }

    /** Runs a command with only PATH (the tools folder) and HOME set; stdin closed, both outputs collected. */
    static Run run(List<String> command, Map<String, String> env, Path cwd) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(command).directory(cwd.toFile());
        pb.environment().clear();
        pb.environment().put("PATH", tools.toString());
        pb.environment().put("HOME", tmp.toString());
        pb.environment().putAll(env);
        Process p = pb.start();
        p.getOutputStream().close();
        CompletableFuture<String> out = read(p.getInputStream()), err = read(p.getErrorStream());
        if (!p.waitFor(180, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("timed out: " + command);
        }
        return new Run(p.exitValue(), out.get(), err.get());
    }

    private static CompletableFuture<String> read(InputStream in) {
        return CompletableFuture.supplyAsync(() -> {
            try (in) {
                return new String(in.readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        });
    }

    static Run moescope(Map<String, String> env, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(home.resolve("bin/moescope").toString()));
        command.addAll(List.of(args));
        return run(command, env, tmp);
    }

    static Path fixtures() {
        return Path.of(System.getProperty("moescope.fixtures"));
    }

    @Test
    void versionNamesTheBuildAndStderrStaysEmpty() throws Exception {
        Run r = moescope(Map.of(), "--version");
        assertEquals(0, r.status(), r.err());
        assertTrue(r.out().startsWith("moescope " + System.getProperty("dist.version") + " (commit "), r.out());
        assertEquals("", r.err(), "the JVM's incubator warning must not reach the user");
    }

    @Test
    void generateContinuesLikeHfWithTheBundledRuntime() throws Exception {
        Path model = fixtures().resolve("models/tiny-gqa-f32");
        int[] ids;
        int[] greedy;
        try (SafetensorsFile g = SafetensorsFile.open(model.resolve("golden.safetensors"))) {
            ids = Arrays.copyOf(g.readInts("input_ids"), 8);
            greedy = Arrays.copyOf(g.readInts("greedy_ids"), 10);
        }
        String prompt = Arrays.stream(ids).mapToObj(Integer::toString).collect(Collectors.joining(","));
        // A deprecated VM option through MOESCOPE_JAVA_OPTS: its warning comes before the incubator line and
        // must pass the filter, like generate's own statistics after it.
        Run r = moescope(Map.of("MOESCOPE_JAVA_OPTS", "-XX:+UseCompressedClassPointers"),
                "generate", "--model", model.toString(), "--tokens", prompt, "--max-new-tokens", "10");
        assertEquals(0, r.status(), r.err());
        assertEquals(Arrays.toString(greedy).replace(" ", ""), r.out().strip());
        assertFalse(r.err().contains(INCUBATOR_WARNING), r.err());
        assertTrue(r.err().contains("Option UseCompressedClassPointers was deprecated"), r.err());
        assertTrue(r.err().contains("time to first token"), r.err());
    }

    @Test
    void badInputKeepsItsLineAndExitStatus() throws Exception {
        Run r = moescope(Map.of(), "generate", "--model", tmp.resolve("no-such-model").toString(), "--tokens", "1,2");
        assertEquals(2, r.status(), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().startsWith("moescope: ") && r.err().contains("no-such-model"), r.err());
    }

    @Test
    void monitorRunsOnTheBundledDemoSeries() throws Exception {
        // Four checkpoints of the demo shipped in the archive and every 20th sample: the whole pipeline (trace,
        // groups, metrics, charts through java.desktop, report) at a fraction of the full demo's time.
        Path series = home.resolve("fixtures/grokking");
        List<String> checkpoints = List.of("step-000000", "step-000050", "step-003650", "step-006050");
        Path train = tmp.resolve("train.jsonl"), test = tmp.resolve("test.jsonl");
        try (Stream<String> lines = Files.lines(series.resolve("train.jsonl"))) {
            List<String> all = lines.toList();
            List<String> every = new ArrayList<>();
            for (int i = 0; i < all.size(); i += 20) every.add(all.get(i));
            Files.write(train, every);
        }
        try (Stream<String> lines = Files.lines(series.resolve("test.jsonl"))) {
            Files.write(test, lines.limit(100).toList());
        }
        List<String> args = new ArrayList<>(List.of("monitor", "--checkpoints"));
        checkpoints.forEach(c -> args.add(series.resolve("checkpoints").resolve(c).toString()));
        Path out = tmp.resolve("monitor-report");
        args.addAll(List.of("--data", train.toString(), "--test", test.toString(), "--out", out.toString(),
                "--report-min-points", "4"));
        Run r = moescope(Map.of(), args.toArray(String[]::new));
        assertEquals(0, r.status(), r.err());
        assertFalse(r.err().contains(INCUBATOR_WARNING), r.err());
        String last = r.out().strip().lines().reduce((a, b) -> b).orElseThrow();
        assertEquals(out.resolve("report.html").toString(), last);
        assertTrue(Files.readString(out.resolve("report.html")).contains("<html"));
        List<String> csv = Files.readAllLines(out.resolve("metrics.csv"));
        for (String c : checkpoints) {
            assertTrue(csv.stream().anyMatch(line -> line.startsWith(c + ",")), c + " missing from metrics.csv");
        }
        try (Stream<Path> charts = Files.list(out)) {
            assertTrue(charts.anyMatch(p -> p.toString().endsWith(".png")), "no chart was drawn");
        }
    }

    @Test
    void chatStaysInteractiveAndTheFilterOutlivesCtrlC() throws Exception {
        // A tiny random chat model (the CLI tests' chat tokenizer, no end-of-turn token: replies run until stopped).
        Path config = tmp.resolve("chat-config.json"), model = tmp.resolve("chat-model");
        Files.writeString(config, """
                {"model_type": "olmoe", "vocab_size": 384, "hidden_size": 64, "intermediate_size": 32,
                 "num_hidden_layers": 4, "num_attention_heads": 4, "num_key_value_heads": 2, "num_experts": 4,
                 "num_experts_per_tok": 2, "max_position_embeddings": 4096, "initializer_range": 0.5,
                 "tie_word_embeddings": false}
                """);
        Run init = moescope(Map.of(), "weights", "init", "--config", config.toString(), "--out", model.toString(),
                "--seed", "3", "--dtype", "f32");
        assertEquals(0, init.status(), init.err());
        Path chatFiles = Path.of(System.getProperty("moescope.chatModel"));
        Files.copy(chatFiles.resolve("tokenizer.json"), model.resolve("tokenizer.json"));
        Files.writeString(model.resolve("tokenizer_config.json"), Files.readString(chatFiles.resolve("tokenizer_config.json"))
                .replace("\"eos_token\": \"<|im_end|>\"", "\"eos_token\": null"));

        // In its own session and process group, as a terminal's foreground job: Ctrl-C (SIGINT to the whole
        // group) reaches the JVM and the launcher's stderr filter alike.
        ProcessBuilder pb = new ProcessBuilder(onHostPath("setsid").toString(), home.resolve("bin/moescope").toString(),
                "chat", "--model", model.toString(), "--max-new-tokens", "4000").directory(tmp.toFile());
        pb.environment().clear();
        pb.environment().put("PATH", tools.toString());
        pb.environment().put("HOME", tmp.toString());
        Process p = pb.start();
        try {
            StringBuffer out = collect(p.getInputStream()), err = collect(p.getErrorStream());
            // The prompt "> " has no newline: it only shows if stderr passes bytes as they come.
            await(err, e -> e.endsWith("> "), "the first prompt", out);
            p.getOutputStream().write("tell me a long story\n".getBytes(StandardCharsets.UTF_8));
            p.getOutputStream().flush();
            await(out, o -> o.length() >= 20, "the reply to stream", err);
            Process kill = new ProcessBuilder(tools.resolve("bash").toString(), "-c", "kill -INT -- -" + p.pid()).start();
            assertEquals(0, kill.waitFor(), "kill -INT to the process group");
            await(err, e -> e.contains("(reply stopped)") && e.endsWith("> "), "the reply to stop and the next prompt", out);
            p.getOutputStream().write("/exit\n".getBytes(StandardCharsets.UTF_8));
            p.getOutputStream().flush();
            assertTrue(p.waitFor(60, TimeUnit.SECONDS), "exits after /exit");
            assertEquals(0, p.exitValue(), err.toString());
            assertFalse(err.toString().contains(INCUBATOR_WARNING), err.toString());
        } finally {
            p.destroyForcibly();
        }
    }

    private static StringBuffer collect(InputStream in) {
        StringBuffer text = new StringBuffer();
        Thread t = new Thread(() -> {
            byte[] buf = new byte[4096];
            try (in) {
                for (int n; (n = in.read(buf)) > 0; ) text.append(new String(buf, 0, n, StandardCharsets.UTF_8));
            } catch (IOException e) {
                // the process ended
            }
        });
        t.setDaemon(true);
        t.start();
        return text;
    }

    private static void await(StringBuffer text, Predicate<String> done, String what, StringBuffer other)
            throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!done.test(text.toString())) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for " + what + ":\n" + text + "\n--- other stream:\n" + other);
            }
            Thread.sleep(20);
        }
    }

    @Test
    void aSymlinkToTheLauncherFindsTheRuntime() throws Exception {
        Path link = Files.createDirectories(tmp.resolve("elsewhere")).resolve("moescope");
        Files.createSymbolicLink(link, home.resolve("bin/moescope"));
        Run r = run(List.of(link.toString(), "--version"), Map.of(), tmp);
        assertEquals(0, r.status(), r.err());
        assertTrue(r.out().startsWith("moescope "), r.out());
    }

    @Test
    void completionAndManPagesCoverEverySubcommand() throws Exception {
        Path completion = home.resolve("share/bash-completion/completions/moescope");
        Run complete = run(List.of(tools.resolve("bash").toString(), "-c", "source \"$0\" && complete -p moescope",
                completion.toString()), Map.of(), tmp);
        assertEquals(0, complete.status(), complete.err());
        assertTrue(complete.out().contains("moescope"), complete.out());
        String script = Files.readString(completion);
        Path man = home.resolve("share/man/man1");
        for (String sub : List.of("trace", "generate", "chat", "monitor", "explore", "pathways", "weights")) {
            assertTrue(script.contains(sub), "completion lacks " + sub);
            String page = Files.readString(man.resolve("moescope-" + sub + ".1"));
            assertTrue(page.startsWith("'\\\" t") && page.contains(".TH \"MOESCOPE\\-" + sub.toUpperCase()), sub);
        }
    }

    @Test
    void runtimeHoldsEveryModuleJdepsFindsInTheJars() throws Exception {
        Set<String> runtime = Files.readAllLines(home.resolve("runtime/release")).stream()
                .filter(l -> l.startsWith("MODULES="))
                .flatMap(l -> Arrays.stream(l.substring("MODULES=".length()).replace("\"", "").split(" ")))
                .collect(Collectors.toSet());
        List<String> jars;
        try (Stream<Path> lib = Files.list(home.resolve("lib"))) {
            jars = lib.map(Path::toString).filter(s -> s.endsWith(".jar")).sorted().toList();
        }
        List<String> args = new ArrayList<>(List.of("--print-module-deps", "--ignore-missing-deps", "--multi-release", "25"));
        args.addAll(jars);
        StringWriter out = new StringWriter(), err = new StringWriter();
        int status = ToolProvider.findFirst("jdeps").orElseThrow()
                .run(new PrintWriter(out), new PrintWriter(err), args.toArray(String[]::new));
        assertEquals(0, status, out + "\n" + err);
        List<String> needed = Arrays.asList(out.toString().strip().split(","));
        assertTrue(needed.contains("java.desktop"), "jdeps found " + needed);
        for (String module : needed) {
            assertTrue(runtime.contains(module), module + " is needed by the jars (jdeps) but not in the runtime "
                    + runtime + ": add it to dist.modules in dist/pom.xml");
        }
        // What jdeps cannot see: the Vector API (given on the command line), sun.misc.Signal (found by reflection),
        // the JDK's HTTP server (`moescope serve`).
        for (String module : List.of("jdk.incubator.vector", "jdk.unsupported", "jdk.httpserver")) {
            assertTrue(runtime.contains(module), module + " missing from the runtime");
        }
    }
}
