package org.moescope.bound;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CorrelationTest {
    private static final double[] X = {1, 2, 3, 4, 5};

    @Test
    void pearsonOfAHandExample() {
        // mean y = 4: dx = (−2, −1, 0, 1, 2), dy = (−2, 0, 1, 0, 1): sxy = 6, sxx = 10, syy = 6
        assertEquals(6 / Math.sqrt(60), Correlation.pearson(X, new double[] {2, 4, 5, 4, 5}), 1e-15);
        assertEquals(1.0, Correlation.pearson(X, new double[] {3, 5, 7, 9, 11}), 1e-15);
        assertEquals(-1.0, Correlation.pearson(X, new double[] {5, 4, 3, 2, 1}), 1e-15);
    }

    @Test
    void spearmanUsesAverageRanksForTies() {
        assertArrayEquals(new double[] {1, 2.5, 2.5, 4, 5}, Correlation.ranks(new double[] {1, 2, 2, 3, 5}), 0.0);
        // ranks (1, 2.5, 2.5, 4, 5): sxy = 9.5, sxx = 10, syy = 9.5
        assertEquals(9.5 / Math.sqrt(95), Correlation.spearman(X, new double[] {1, 2, 2, 3, 5}), 1e-15);
        // monotone but not linear
        assertEquals(1.0, Correlation.spearman(X, new double[] {1, 8, 27, 64, 125}), 1e-15);
    }

    @Test
    void constantInputHasNoCorrelation() {
        assertTrue(Double.isNaN(Correlation.pearson(X, new double[] {2, 2, 2, 2, 2})));
        assertTrue(Double.isNaN(Correlation.spearman(new double[] {1}, new double[] {1})));
    }
}
