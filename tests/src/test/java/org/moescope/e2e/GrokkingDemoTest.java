package org.moescope.e2e;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;
import static org.moescope.e2e.CliTraceGenerateTest.fixtures;
import static org.moescope.e2e.CliTraceGenerateTest.run;

/**
 * The embedded default: `monitor` with no data arguments runs on fixtures/grokking, writes the report, and the
 * accuracies the engine measures on the saved checkpoints equal the ones the training script measured.
 */
class GrokkingDemoTest {
    @TempDir
    Path dir;

    @Test
    void demoRunsAndEngineAccuracyEqualsTheTrainingScript() throws Exception {
        Path series = fixtures().resolve("grokking");
        Assumptions.assumeTrue(Files.exists(series.resolve("scores.csv")), "skipped: fixtures/grokking is absent");
        Path out = dir.resolve("report");
        var r = run("monitor", "--out", out.toString());
        assertEquals(0, r.status(), r.err());
        List<String> outLines = r.out().lines().toList();
        assertEquals(out.resolve("report.html").toString(), outLines.get(outLines.size() - 1), "last line: report.html");
        String html = Files.readString(out.resolve("report.html"));
        assertTrue(html.contains("What the numbers say") && html.contains("<svg"), "report has findings and charts");

        List<String> scores = Files.readAllLines(series.resolve("scores.csv"));
        List<String> header = List.of(scores.get(0).split(","));
        int train = (int) Files.lines(series.resolve("train.jsonl")).filter(l -> !l.isBlank()).count();
        int test = (int) Files.lines(series.resolve("test.jsonl")).filter(l -> !l.isBlank()).count();
        Map<String, double[]> script = new HashMap<>();
        for (String line : scores.subList(1, scores.size())) {
            String[] c = line.split(",");
            double margin = header.contains("min_margin") ? Double.parseDouble(c[header.indexOf("min_margin")]) : 1;
            script.put(c[header.indexOf("checkpoint")], new double[] {Double.parseDouble(c[header.indexOf("train_accuracy")]),
                    Double.parseDouble(c[header.indexOf("test_accuracy")]), margin});
        }
        List<String> metrics = Files.readAllLines(out.resolve("metrics.csv"));
        List<String> mh = List.of(metrics.get(0).split(","));
        for (String col : List.of("checkpoint", "step", "group", "n_samples", "train_loss", "mean_distance_char",
                "mean_distance_expert", "mean_layer_cosine", "mean_consistency_v4", "train_accuracy", "test_accuracy")) {
            assertTrue(mh.contains(col), "metrics.csv column " + col);
        }
        int checked = 0;
        for (String line : metrics.subList(1, metrics.size())) {
            String[] c = line.split(",", -1);
            if (!c[mh.indexOf("group")].equals("all")) continue;
            double[] expected = script.get(c[mh.indexOf("checkpoint")]);
            assertNotNull(expected, "scores.csv has checkpoint " + c[0]);
            // Same number of samples right (less than half a sample apart). Where the script saw a near-tie between the
            // two best answers (min_margin < 1e-4: 1.9e-6 at one checkpoint), summation order may flip one sample.
            double slack = expected[2] < 1e-4 ? 1.5 : 0.5;
            assertEquals(expected[0], Double.parseDouble(c[mh.indexOf("engine_train_accuracy")]), slack / train, c[0] + " train");
            assertEquals(expected[1], Double.parseDouble(c[mh.indexOf("engine_test_accuracy")]), slack / test, c[0] + " test");
            checked++;
        }
        assertEquals(script.size(), checked, "every checkpoint compared");
    }
}
