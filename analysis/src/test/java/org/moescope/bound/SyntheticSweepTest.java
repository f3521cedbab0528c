package org.moescope.bound;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.moescope.errors.BadInputException;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SyntheticSweepTest {
    private static final SyntheticConfig SMALL =
            new SyntheticConfig(40, 60, 12, 6, 3, 0.5, 0, 0.3, 17, 4, new double[] {0.05, 5}, 0.7);
    private static final BoundSettings SETTINGS = new BoundSettings(1, false, 0.3, 0.05, ExpertKernel.ARCCOS);

    @TempDir
    Path dir;

    @Test
    void gatesAreDistributionsAndTopKKeepsK() {
        SyntheticMoe.Dataset d = SyntheticMoe.generate(SMALL);
        double[][] w = SyntheticMoe.router(3, 6, 12);
        for (int topK : new int[] {0, 2}) {
            for (double[] row : SyntheticMoe.gates(w, d.x(), 1.0, topK)) {
                double sum = 0;
                int nonzero = 0;
                for (double v : row) {
                    assertTrue(v >= 0 && v <= 1);
                    sum += v;
                    nonzero += v > 0 ? 1 : 0;
                }
                assertEquals(1.0, sum, 1e-12);
                assertEquals(topK == 0 ? 6 : 2, nonzero);
            }
        }
        // a cold router is nearly one-hot
        for (double[] row : SyntheticMoe.gates(w, d.x(), 1e-3, 0)) {
            assertTrue(java.util.Arrays.stream(row).max().orElseThrow() > 0.99);
        }
    }

    @Test
    void dataAreReproducibleFromTheSeed() {
        SyntheticMoe.Dataset a = SyntheticMoe.generate(SMALL);
        SyntheticMoe.Dataset b = SyntheticMoe.generate(SMALL);
        assertArrayEquals(a.y(), b.y(), 0.0);
        assertArrayEquals(a.xTest()[59], b.xTest()[59], 0.0);
        assertEquals(40, a.x().length);
        assertEquals(12, a.x()[0].length);
    }

    @Test
    void routerStreamsDoNotReplayTheDataStream() {
        // data seed 5 and router seed 5: the first router row must not be the first cluster centre scaled by √D
        SyntheticConfig c = new SyntheticConfig(10, 10, 12, 6, 3, 0.5, 0, 0.3, 5, 1, new double[] {1}, 0.7);
        double[] first = SyntheticMoe.router(5, 6, 12)[0];
        java.util.Random data = new java.util.Random(c.dataSeed());
        assertTrue(Math.abs(first[0] - data.nextGaussian()) > 1e-9 || Math.abs(first[1] - data.nextGaussian()) > 1e-9);
    }

    @Test
    void sweepRunsEveryRouterAndTemperature() {
        BoundSweep.Result r = BoundSweep.run(SMALL, SETTINGS);
        assertEquals(8, r.runs().size());
        assertEquals(2, r.summaries().size());
        assertEquals(6 * 3, r.correlations().size()); // 4 quantities → 6 pairs, for "all" and each temperature
        BoundSweep.TemperatureSummary cold = r.summaries().get(0);
        BoundSweep.TemperatureSummary hot = r.summaries().get(1);
        double sum = 0;
        for (BoundSweep.Run run : r.runs().subList(0, 4)) {
            assertEquals(0.05, run.temperature(), 0.0);
            assertTrue(run.bound().hasPopulationRisk());
            assertTrue(run.meanEditDistance() >= 0 && run.meanEditDistance() <= 1);
            sum += run.bound().dEff();
        }
        assertEquals(sum / 4, cold.meanDEff(), 1e-12);
        // Diffuse routing shrinks ⟨g(x), g(x')⟩ and with it H: at a fixed λ, d_eff drops (notes §7, scale caveat),
        // and pathways get longer.
        assertTrue(hot.meanDEff() < cold.meanDEff(), hot.meanDEff() + " vs " + cold.meanDEff());
        assertTrue(hot.meanPathLength() > cold.meanPathLength());
    }

    @Test
    void relativeLambdaFollowsTheKernelScale() {
        BoundSweep.Result r = BoundSweep.run(SMALL, new BoundSettings(0.1, true, 0.3, 0.05, ExpertKernel.ARCCOS));
        for (BoundSweep.Run run : r.runs()) {
            assertEquals(0.1 * run.bound().traceOverN(), run.bound().lambda(), 1e-12);
        }
    }

    @Test
    void reportWritesCsvPngAndSvg() throws Exception {
        BoundSweep.Result r = BoundSweep.run(SMALL, SETTINGS);
        List<Path> files = SweepReport.write(r, dir.resolve("out"));
        assertEquals(4, files.size());
        List<String> csv = Files.readAllLines(files.get(0));
        assertEquals(9, csv.size());
        assertTrue(csv.get(0).startsWith("router_seed,temperature,lambda,trace_h_over_n,d_eff,"));
        assertEquals(19, Files.readAllLines(files.get(1)).size());
        byte[] png = Files.readAllBytes(files.get(2));
        assertEquals((byte) 0x89, png[0]);
        assertEquals('P', png[1]);
        String svg = Files.readString(files.get(3));
        assertTrue(svg.contains("<svg"), "not an SVG document");
        try (var listing = Files.list(dir.resolve("out"))) {
            assertEquals(4, listing.count(), "temporary files left behind");
        }
    }

    @Test
    void precomputedKernelIsRefusedForTheSweep() {
        assertThrows(BadInputException.class,
                () -> BoundSweep.run(SMALL, new BoundSettings(1, false, 0.3, 0.05, ExpertKernel.PRECOMPUTED)));
    }

    @Test
    void configIsValidated() {
        BadInputException e = assertThrows(BadInputException.class,
                () -> new SyntheticConfig(40, 60, 12, 6, 3, 0.5, 7, 0.3, 17, 4, new double[] {1}, 0.7));
        assertEquals("--top-k must lie in [0, 6] (0 = dense), got 7", e.getMessage());
        e = assertThrows(BadInputException.class,
                () -> new SyntheticConfig(40, 60, 12, 6, 3, 0.5, 0, 0.3, 17, 4, new double[] {0}, 0.7));
        assertEquals("--temperatures must be positive finite numbers, got 0.0", e.getMessage());
    }
}
