package org.moescope.stats;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.io.InputStream;

import static org.junit.jupiter.api.Assertions.*;

class CorrelationTest {
    @Test
    void equalsScipyOnTiedData() throws Exception {
        JsonNode root;
        try (InputStream in = getClass().getResourceAsStream("/stats/correlation_golden.json")) {
            root = new ObjectMapper().readTree(in);
        }
        int checked = 0;
        for (JsonNode c : root.get("cases")) {
            double[] x = toArray(c.get("x")), y = toArray(c.get("y"));
            assertCase(c.get("pearson"), Correlation.pearson(x, y), "pearson " + c);
            assertCase(c.get("spearman"), Correlation.spearman(x, y), "spearman " + c);
            checked++;
        }
        assertTrue(checked >= 20);
    }

    private static void assertCase(JsonNode expected, double actual, String what) {
        if (expected.isNull()) {
            assertTrue(Double.isNaN(actual), what);
        } else {
            assertEquals(expected.asDouble(), actual, 1e-12, what);
        }
    }

    private static double[] toArray(JsonNode a) {
        double[] v = new double[a.size()];
        for (int i = 0; i < v.length; i++) v[i] = a.get(i).asDouble();
        return v;
    }

    @Test
    void averageRanksShareTies() {
        assertArrayEquals(new double[] {1, 2.5, 2.5, 4}, Ranks.average(new double[] {1, 5, 5, 7}));
        // The paper's 0.9487 = 9/sqrt(90): n = 5 with two tied pairs in the score.
        assertEquals(9 / Math.sqrt(90), Correlation.spearman(new double[] {1, 2, 3, 4, 5},
                new double[] {0.1, 0.2, 0.2, 0.4, 0.4}), 1e-12);
        assertTrue(Double.isNaN(Correlation.pearson(new double[] {1, 1, 1}, new double[] {1, 2, 3})));
    }

    @Test
    void movingAverageIsTrailing() {
        assertArrayEquals(new double[] {1, 1.5, 2.5, 3.5}, MovingAverage.trailing(new double[] {1, 2, 3, 4}, 2), 1e-12);
    }

    @Test
    void riseStartIsTheLastPointBeforeTheClimb() {
        assertEquals(2, TrajectoryCorrelation.riseStart(new double[] {0.01, 0.02, 0.03, 0.4, 0.9, 1.0}));
        assertEquals(0, TrajectoryCorrelation.riseStart(new double[] {0.5, 0.5, 0.5}));
        assertEquals(0, TrajectoryCorrelation.riseStart(new double[] {0.0, 0.5, 1.0}));
    }
}
