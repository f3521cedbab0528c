package org.moescope.e2e;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;
import static org.moescope.e2e.CliTraceGenerateTest.run;

/**
 * `monitor` on a series of random checkpoints: the outputs are complete, and a run that is interrupted (files of
 * unfinished checkpoints missing, or the process killed with SIGKILL mid-run) continues where it stopped and ends
 * with exactly the rows of an uninterrupted run.
 */
class MonitorResumeTest {
    @TempDir
    static Path dir;
    static Path series;
    static Path data;

    @BeforeAll
    static void makeSeries() throws Exception {
        Path config = dir.resolve("config.json");
        Files.writeString(config, """
                {"model_type": "olmoe", "vocab_size": 64, "hidden_size": 32, "intermediate_size": 16,
                 "num_hidden_layers": 3, "num_attention_heads": 4, "num_experts": 8, "num_experts_per_tok": 2,
                 "max_position_embeddings": 64, "initializer_range": 0.3}
                """);
        series = dir.resolve("series");
        for (int i = 1; i <= 4; i++) {
            var r = run("weights", "init", "--config", config.toString(), "--out",
                    series.resolve(String.format("step-%04d", 100 * i)).toString(), "--seed", Integer.toString(i), "--dtype", "f32");
            assertEquals(0, r.status(), r.err());
        }
        data = dir.resolve("train.jsonl");
        SplittableRandom rnd = new SplittableRandom(1);
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < 3000; i++) {
            int len = 4 + rnd.nextInt(12);
            List<String> ids = new ArrayList<>();
            for (int t = 0; t < len; t++) ids.add(Integer.toString(rnd.nextInt(64)));
            b.append("{\"id\": \"s").append(i).append("\", \"group\": \"").append(i % 2 == 0 ? "x" : "y")
                    .append("\", \"ids\": [").append(String.join(",", ids)).append("]}\n");
        }
        Files.writeString(data, b.toString());
    }

    private static String[] monitorArgs(Path out) {
        return new String[] {"monitor", "--checkpoints", series.toString(), "--data", data.toString(), "--out",
                out.toString(), "--max-pairs", "20000", "--epsilon", "5"};
    }

    @Test
    void rerunAfterLosingUnfinishedCheckpointsGivesIdenticalRows() throws Exception {
        Path out = dir.resolve("clean");
        var first = run(monitorArgs(out));
        assertEquals(0, first.status(), first.err());
        assertEquals(out.resolve("report.html").toString(), first.out().strip().lines().reduce((a, b) -> b).orElse(""));
        String csv = Files.readString(out.resolve("metrics.csv"));
        assertNoDuplicateRows(csv);
        for (String f : List.of("metrics.json", "report.html", "mean_distance_char.png", "mean_distance_char.svg")) {
            assertTrue(Files.size(out.resolve(f)) > 0, f);
        }
        // An interruption during the third checkpoint: its files and the fourth's never appeared.
        for (String name : List.of("step-0300", "step-0400")) {
            Files.delete(out.resolve("routes/" + name + ".safetensors"));
            Files.delete(out.resolve("routes/" + name + ".eval.json"));
        }
        // ... and left a temporary file behind, which the rerun removes.
        Path stale = out.resolve("routes/.step-0300.safetensors.123456.tmp");
        Files.writeString(stale, "half-written");
        var second = run(monitorArgs(out));
        assertEquals(0, second.status(), second.err());
        assertTrue(second.err().contains("reused 2 finished checkpoint(s)"), second.err());
        assertFalse(Files.exists(stale), "the interrupted run's temporary file is removed");
        assertEquals(csv, Files.readString(out.resolve("metrics.csv")));
    }

    @Test
    void killedProcessResumesWithoutDuplicatedOrLostRows() throws Exception {
        Path jar = CliTraceGenerateTest.fixtures().getParent().resolve("cli/target/moescope.jar");
        Assumptions.assumeTrue(Files.exists(jar), "skipped: " + jar + " is not built (run the full ./mvnw verify)");
        Path out = dir.resolve("killed");
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "-jar", jar.toString()));
        cmd.addAll(List.of(monitorArgs(out)));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve("killed.log").toFile()).start();
        Path firstRoutes = out.resolve("routes/step-0100.eval.json");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (!Files.exists(firstRoutes) && p.isAlive() && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        boolean killedMidRun = p.isAlive();
        p.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
        var resumed = run(monitorArgs(out));
        assertEquals(0, resumed.status(), resumed.err());
        if (killedMidRun) {
            assertTrue(resumed.err().contains("reused"), resumed.err());
        }
        try (var files = Files.list(out.resolve("routes"))) {
            assertTrue(files.map(f -> f.getFileName().toString())
                            .noneMatch(f -> f.endsWith(".tmp") || f.endsWith(".partial") || f.endsWith(".progress")),
                    "no temporary or partial file of the killed run is left");
        }
        var clean = run(monitorArgs(dir.resolve("reference")));
        assertEquals(0, clean.status(), clean.err());
        String expected = Files.readString(dir.resolve("reference/metrics.csv"));
        // Every value as the uninterrupted run's, digit for digit: the kernels give the same bits in every JVM and JIT
        // state (lane sums in one order, one fixed exp), so a resumed run differs in nothing.
        assertSameRows(expected, Files.readString(out.resolve("metrics.csv")));
        assertNoDuplicateRows(expected);
    }

    private static void assertSameRows(String expected, String actual) {
        List<String> e = expected.lines().toList(), a = actual.lines().toList();
        assertEquals(e.size(), a.size(), "row count");
        assertEquals(e.get(0), a.get(0), "header");
        for (int i = 1; i < e.size(); i++) {
            String[] x = e.get(i).split(",", -1), y = a.get(i).split(",", -1);
            assertEquals(x.length, y.length);
            for (int c = 0; c < x.length; c++) assertEquals(x[c], y[c], "row " + i + " column " + c);
        }
    }

    private static void assertNoDuplicateRows(String csv) {
        List<String> lines = csv.lines().skip(1).toList();
        var keys = new HashSet<String>();
        for (String l : lines) {
            String[] c = l.split(",");
            assertTrue(keys.add(c[0] + "|" + c[2]), "duplicate (checkpoint, group) row: " + l);
        }
        assertEquals(4, lines.stream().map(l -> l.split(",")[0]).distinct().count(), "every checkpoint has rows");
    }
}
