package org.moescope.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.moescope.routing.RouteFile;
import org.moescope.routing.RouteFileWriter;
import org.moescope.safetensors.SafetensorsWriter;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.moescope.cli.CliRun.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BoundCommandTest {
    @TempDir
    Path dir;


    /** The 2×2 hand case of GeneralizationBoundTest: H = [[2,1],[1,2]], y = f = (1, 0), one test point. */
    private Path handFile(boolean withTargets) {
        Path file = dir.resolve(withTargets ? "hand.safetensors" : "hand-no-f.safetensors");
        List<SafetensorsWriter.Entry> entries = new ArrayList<>(List.of(
                SafetensorsWriter.floats("X", new long[] {2, 3}, new float[] {1, 1, 0, 1, 0, 1}),
                SafetensorsWriter.floats("G", new long[] {2, 1}, new float[] {1, 1}),
                SafetensorsWriter.doubles("y", new long[] {2}, new double[] {1, 0})));
        if (withTargets) {
            entries.add(SafetensorsWriter.doubles("f", new long[] {2}, new double[] {1, 0}));
            entries.add(SafetensorsWriter.floats("Xtest", new long[] {1, 3}, new float[] {1, 0, 0}));
            entries.add(SafetensorsWriter.floats("Gtest", new long[] {1, 1}, new float[] {1}));
            entries.add(SafetensorsWriter.floats("ftest", new long[] {1}, new float[] {2}));
        }
        SafetensorsWriter.write(file, Map.of(), entries);
        return file;
    }

    @Test
    void jsonHasTheDocumentedKeysAndHandValues() throws Exception {
        CliRun o = run("bound", "--input", handFile(true).toString(), "--kernel", "linear", "--lambda", "1",
                "--sigma", "0.5", "--delta", String.valueOf(Math.exp(-1)), "--json");
        assertEquals(0, o.status(), o.err());
        JsonNode j = new ObjectMapper().readTree(o.out());
        for (String key : List.of("n", "lambda", "sigma", "delta", "kernel", "d_eff", "bias_term", "variance_term",
                "noise_term", "rhs", "in_sample_risk", "population_risk", "holds_in_sample", "min_c1")) {
            assertTrue(j.has(key), "missing key " + key + " in " + o.out());
        }
        assertEquals(2, j.get("n").asInt());
        assertEquals("linear", j.get("kernel").asText());
        assertEquals(1.25, j.get("d_eff").asDouble(), 1e-12);
        assertEquals(5.0 / 64, j.get("bias_term").asDouble(), 1e-12);
        assertEquals(49.0 / 16, j.get("population_risk").asDouble(), 1e-12);
        assertTrue(j.get("holds_in_sample").asBoolean());
        assertEquals("f", j.get("in_sample_target").asText());
        assertEquals(0, j.get("warnings").size());
    }

    @Test
    void missingTargetsAreFlagged() throws Exception {
        CliRun o = run("bound", "--input", handFile(false).toString(), "--json");
        assertEquals(0, o.status(), o.err());
        JsonNode j = new ObjectMapper().readTree(o.out());
        assertEquals("y", j.get("in_sample_target").asText());
        assertFalse(j.has("population_risk"));
        assertTrue(j.get("warnings").get(0).asText().startsWith("no noise-free targets f"));
        assertEquals("in_sample", j.get("min_c1_risk").asText());
    }

    @Test
    void tableIsTheDefault() {
        CliRun o = run("bound", "--input", handFile(true).toString(), "--lambda", "0.5", "--lambda-relative");
        assertEquals(0, o.status(), o.err());
        assertTrue(o.out().contains("d_eff"), o.out());
        assertTrue(o.out().contains("population risk"), o.out());
        assertTrue(o.out().contains("x Tr(H)/n"), o.out());
    }

    @Test
    void badInputExitsWithOneLine() {
        Path file = dir.resolve("bad.safetensors");
        SafetensorsWriter.write(file, Map.of(), List.of(
                SafetensorsWriter.floats("X", new long[] {3, 2}, new float[6]),
                SafetensorsWriter.floats("G", new long[] {2, 1}, new float[] {1, 1}),
                SafetensorsWriter.floats("y", new long[] {3}, new float[3])));
        CliRun o = run("bound", "--input", file.toString());
        assertEquals(Main.EXIT_BAD_INPUT, o.status());
        assertEquals("moescope: " + file + ": tensor G has 2 rows but y has 3\n", o.err().replace("\r\n", "\n"));

        CliRun none = run("bound");
        assertEquals(Main.EXIT_BAD_INPUT, none.status());
        assertTrue(none.err().contains("give exactly one of --input FILE, --routes FILE --layer L, --synthetic"), none.err());

        CliRun kernel = run("bound", "--input", handFile(true).toString(), "--kernel", "rbf");
        assertEquals(Main.EXIT_BAD_INPUT, kernel.status());
        assertTrue(kernel.err().contains("unknown kernel 'rbf'"), kernel.err());
    }

    @Test
    void routeFileLayerIsEvaluated() throws Exception {
        // 4 one-or-two-token samples, 2 layers, 3 experts, hidden size 2; sample 3 has a NaN loss and is left out
        RouteFile.Dims dims = new RouteFile.Dims(4, 6, 2, 1, 3, 0, 2, false, false, true);
        Path routes = dir.resolve("routes.safetensors");
        try (RouteFileWriter w = new RouteFileWriter(routes, dims, new long[] {0, 2, 3, 5, 6}, Map.of())) {
            for (int s = 0; s < 4; s++) {
                int tokens = s % 2 == 0 ? 2 : 1;
                w.writeTokenRows(RouteFile.Field.INPUT_IDS, s, new int[tokens]);
                w.writeTokenRows(RouteFile.Field.TOPK_IDS, s, new int[tokens * 2]);
                w.writeTokenRows(RouteFile.Field.TOPK_WEIGHTS, s, new float[tokens * 2]);
                w.writeSampleRow(RouteFile.Field.ROUTER_PROBS_MEAN, s, new float[] {0.2f, 0.3f, 0.5f, 0.6f, 0.3f, 0.1f});
                w.writeSampleRow(RouteFile.Field.LOSS, s, new float[] {s == 3 ? Float.NaN : 2 + s});
                w.writeSampleRow(RouteFile.Field.HIDDEN_MEAN, s, new float[] {1, s, s, 1});
            }
            w.commit();
        }
        CliRun o = run("bound", "--routes", routes.toString(), "--layer", "1", "--lambda-relative", "--json");
        assertEquals(0, o.status(), o.err());
        JsonNode j = new ObjectMapper().readTree(o.out());
        assertEquals(3, j.get("n").asInt());
        assertEquals(1, j.get("dropped_samples").asInt());
        assertEquals("loss", j.get("y_source").asText());
        assertEquals(2, j.get("warnings").size());

        CliRun noLayer = run("bound", "--routes", routes.toString());
        assertEquals(Main.EXIT_BAD_INPUT, noLayer.status());
        assertTrue(noLayer.err().contains("--routes needs --layer"), noLayer.err());
    }

    @Test
    void syntheticSweepWritesItsFiles() throws Exception {
        Path out = dir.resolve("sweep");
        CliRun o = run("bound", "--synthetic", "--out", out.toString(), "--n", "30", "--n-test", "40", "--dim", "8",
                "--experts", "4", "--clusters", "2", "--seeds", "3", "--temperatures", "0.2,2", "--json");
        assertEquals(0, o.status(), o.err());
        JsonNode j = new ObjectMapper().readTree(o.out());
        assertEquals(2, j.get("temperatures").size());
        assertEquals(3, j.get("temperatures").get(0).get("runs").asInt());
        assertEquals(18, j.get("correlations").size());
        for (String name : List.of("bound-sweep.csv", "bound-correlations.csv", "bound-sweep.png", "bound-sweep.svg")) {
            assertTrue(Files.size(out.resolve(name)) > 0, name);
        }
    }
}
