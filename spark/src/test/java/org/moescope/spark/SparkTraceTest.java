package org.moescope.spark;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.moescope.cli.Main;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * trace and monitor with --spark local[2] write exactly the files they write without it: the same header (all but
 * "created") and the same tensor bytes, because every range is a whole number of the batches a single trace runs.
 * Ranges are made tiny (spark.moescope.rangeTokens=1: one batch each) so that every file is merged from several parts.
 */
class SparkTraceTest {
    @TempDir
    Path dir;

    record Run(int status, String out, String err) {
    }

    static Run run(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int status = Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Run(status, out.toString(), err.toString());
    }

    static Path fixtures() {
        Path p = Path.of("").toAbsolutePath();
        while (!Files.isDirectory(p.resolve("fixtures/models"))) p = p.getParent();
        return p.resolve("fixtures");
    }

    @BeforeEach
    void noWebUi() {
        System.setProperty("spark.ui.enabled", "false");
    }

    @AfterEach
    void clearSettings() {
        System.clearProperty("spark.moescope.rangeTokens");
        System.clearProperty("spark.moescope.failFirstAttempt");
    }

    @Test
    void traceOnSparkEqualsSingleProcessTraceOnTheFixtures() throws IOException {
        System.setProperty("spark.moescope.rangeTokens", "1");
        // The bundled samples within every fixture's vocabulary (128), one with a loss_start: only some parts carry
        // sample_loss_starts, which the merge must fill in.
        Path data = dir.resolve("samples.jsonl");
        List<String> lines = new ArrayList<>();
        for (String line : Files.readAllLines(fixtures().resolve("samples/tiny.jsonl"))) {
            JsonNode j = new ObjectMapper().readTree(line);
            List<Integer> ids = new ArrayList<>();
            j.get("ids").forEach(v -> ids.add(v.asInt() % 128));
            String extra = lines.size() == 4 ? ", \"loss_start\": 3" : "";
            lines.add("{\"id\": \"" + j.get("id").asText() + "\", \"ids\": " + ids + extra + "}");
        }
        Files.write(data, lines);
        for (String model : List.of("tiny-f32", "tiny-bf16", "qwen2-moe-f32")) {
            String[] common = {"trace", "--model", fixtures().resolve("models/" + model).toString(), "--data",
                    data.toString(), "--batch-tokens", "20", "--save-logits",
                    "--save-router-logits", "--save-hidden"};
            Path single = dir.resolve(model + "-single.safetensors");
            Path spark = dir.resolve(model + "-spark.safetensors");
            Run a = run(concat(common, "--out", single.toString()));
            assertEquals(0, a.status(), a.err());
            int loadsBefore = ModelCache.loads();
            Run b = run(concat(common, "--out", spark.toString(), "--spark", "local[2]"));
            assertEquals(0, b.status(), b.err());
            assertEquals(spark.toString(), b.out().strip());
            assertTrue(b.err().contains("range task(s)"), b.err());
            assertEquals(1, ModelCache.loads() - loadsBefore, "one mapping of the checkpoint for all its ranges");
            assertSameRouteFile(single, spark);
            assertFalse(Files.exists(dir.resolve(model + "-spark.safetensors.parts")), "parts deleted after the merge");
        }
    }

    @Test
    void aTaskThatFailsOnItsFirstAttemptStillYieldsTheSameFile() throws IOException {
        System.setProperty("spark.moescope.rangeTokens", "1");
        String[] common = {"trace", "--model", fixtures().resolve("models/tiny-f32").toString(), "--data",
                fixtures().resolve("samples/tiny.jsonl").toString(), "--batch-tokens", "20"};
        Path single = dir.resolve("single.safetensors");
        assertEquals(0, run(concat(common, "--out", single.toString())).status());
        // local[2,2]: two threads, a task may fail once (plain local mode never retries).
        System.setProperty("spark.moescope.failFirstAttempt", "1,2");
        Path spark = dir.resolve("spark.safetensors");
        Run r = run(concat(common, "--out", spark.toString(), "--spark", "local[2,2]"));
        assertEquals(0, r.status(), r.err());
        assertTrue(r.err().contains("injected failure"), "the first attempts failed: " + r.err());
        assertSameRouteFile(single, spark);
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(List.of("single.safetensors", "spark.safetensors"),
                    s.map(p -> p.getFileName().toString()).sorted().toList(), "nothing else left behind");
        }
    }

    @Test
    void aRerunSkipsTheRangesAFailedRunFinished() throws IOException {
        System.setProperty("spark.moescope.rangeTokens", "1");
        String[] common = {"trace", "--model", fixtures().resolve("models/tiny-f32").toString(), "--data",
                fixtures().resolve("samples/tiny.jsonl").toString(), "--batch-tokens", "20"};
        Path single = dir.resolve("single.safetensors");
        assertEquals(0, run(concat(common, "--out", single.toString())).status());
        Path spark = dir.resolve("spark.safetensors");
        Path parts = dir.resolve("spark.safetensors.parts");
        // One thread, no retries, the last range fails: the job fails after finishing every other range.
        System.setProperty("spark.moescope.failFirstAttempt", "4"); // the last of 5 ranges
        Run failed = run(concat(common, "--out", spark.toString(), "--spark", "local[1]"));
        assertEquals(1, failed.status(), failed.err());
        assertTrue(failed.err().contains("a rerun skips them"), failed.err());
        assertFalse(Files.exists(spark));
        List<String> visible;
        try (Stream<Path> s = Files.list(parts)) {
            visible = s.map(p -> p.getFileName().toString()).filter(n -> !n.startsWith(".")).sorted().toList();
        }
        assertTrue(failed.err().contains("5 range task(s)"), failed.err());
        assertEquals(8, visible.size(), "four finished ranges, a route part and a result each: " + visible);
        Run merge = run("routes", "merge", parts.toString(), "--out", dir.resolve("merged.safetensors").toString());
        assertEquals(2, merge.status(), "the parts of an unfinished run do not merge");
        assertTrue(merge.err().strip().lines().count() == 1 && merge.err().contains("missing"), merge.err());

        System.clearProperty("spark.moescope.failFirstAttempt");
        Run rerun = run(concat(common, "--out", spark.toString(), "--spark", "local[2]"));
        assertEquals(0, rerun.status(), rerun.err());
        assertTrue(rerun.err().contains("1 range task(s) to run") && rerun.err().contains("4 finished range(s) reused"),
                rerun.err());
        assertSameRouteFile(single, spark);
    }

    @Test
    void monitorOnSparkWritesTheSameRoutesEvaluationsAndMetricsOnTheGrokkingSeries() throws IOException {
        Path series = fixtures().resolve("grokking");
        System.setProperty("spark.moescope.rangeTokens", "2000");
        List<String> args = new ArrayList<>(List.of("monitor", "--data", series.resolve("train.jsonl").toString(),
                "--test", series.resolve("test.jsonl").toString(), "--scores", series.resolve("scores.csv").toString(),
                "--max-pairs", "20000", "--checkpoints"));
        for (String c : List.of("step-000000", "step-003000", "step-004300", "step-006050")) {
            args.add(series.resolve("checkpoints").resolve(c).toString());
        }
        Path single = dir.resolve("single"), spark = dir.resolve("spark");
        Run a = run(concat(args.toArray(String[]::new), "--out", single.toString()));
        assertEquals(0, a.status(), a.err());
        Run b = run(concat(args.toArray(String[]::new), "--out", spark.toString(), "--spark", "local[2]"));
        assertEquals(0, b.status(), b.err());
        try (Stream<Path> s = Files.list(single.resolve("routes"))) {
            List<Path> files = s.sorted().toList();
            assertEquals(8, files.size(), files.toString());
            for (Path f : files) {
                Path other = spark.resolve("routes").resolve(f.getFileName());
                if (f.toString().endsWith(".safetensors")) {
                    assertSameRouteFile(f, other);
                } else {
                    assertEquals(Files.readString(f), Files.readString(other), f.getFileName().toString());
                }
            }
        }
        try (Stream<Path> s = Files.list(spark.resolve("routes"))) {
            assertEquals(8, s.count(), "no parts left in routes/");
        }
        // The metrics are computed from the merged route files, equal bit for bit to the single process's: equal text.
        assertEquals(Files.readString(single.resolve("metrics.csv")), Files.readString(spark.resolve("metrics.csv")),
                "metrics.csv");
        // A rerun finds every checkpoint finished and starts no Spark job.
        Run again = run(concat(args.toArray(String[]::new), "--out", spark.toString(), "--spark", "local[2]"));
        assertEquals(0, again.status(), again.err());
        assertTrue(again.err().contains("reused 4 finished checkpoint(s)") && !again.err().contains("range task"), again.err());
    }

    private static String[] concat(String[] a, String... b) {
        String[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    /**
     * Same header apart from "created", and every tensor bit for bit: each range of a Spark trace runs the same batches
     * through the same kernels, whose lane sums have one order (VectorKernels.sumLanes) and whose exp is one fixed
     * polynomial (kernels/Exp), so the JIT's progress in each process no longer moves the last bits (see
     * docs/route-format.md, "Run-to-run rounding").
     */
    static void assertSameRouteFile(Path expected, Path actual) throws IOException {
        byte[] e = Files.readAllBytes(expected), a = Files.readAllBytes(actual);
        int he = headerEnd(e), ha = headerEnd(a);
        assertEquals(header(e, he), header(a, ha), actual + ": header");
        JsonNode header = header(e, he);
        for (var it = header.properties().iterator(); it.hasNext(); ) {
            var t = it.next();
            if (t.getKey().equals("__metadata__")) continue;
            int from = t.getValue().get("data_offsets").get(0).asInt(), to = t.getValue().get("data_offsets").get(1).asInt();
            assertArrayEquals(Arrays.copyOfRange(e, he + from, he + to), Arrays.copyOfRange(a, ha + from, ha + to),
                    actual + ": tensor " + t.getKey());
        }
        assertEquals(e.length - he, a.length - ha, actual + ": data size");
    }

    private static int headerEnd(byte[] f) {
        return 8 + (int) ByteBuffer.wrap(f, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
    }

    private static JsonNode header(byte[] f, int end) throws IOException {
        JsonNode root = new ObjectMapper().readTree(Arrays.copyOfRange(f, 8, end));
        ((ObjectNode) root.get("__metadata__")).remove("created");
        return root;
    }
}
