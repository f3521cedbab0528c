package org.moescope.bound;

import org.junit.jupiter.api.Test;
import org.moescope.errors.BadInputException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BoundInputTest {
    private static final double[][] X = {{1, 0}, {0, 1}, {1, 1}};
    private static final double[][] G = {{1, 0}, {0.5, 0.5}, {0, 1}};
    private static final double[] Y = {1, 2, 3};

    private static String message(Runnable r) {
        return assertThrows(BadInputException.class, r::run).getMessage();
    }

    @Test
    void shapeMismatchNamesBothTensors() {
        assertEquals("in.st: tensor G has 2 rows but y has 3",
                message(() -> new BoundInput("in.st", X, new double[][] {{1, 0}, {0, 1}}, Y, null, null, null, null, null, null)));
        assertEquals("in.st: tensor f has 2 entries but y has 3",
                message(() -> new BoundInput("in.st", X, G, Y, new double[] {1, 2}, null, null, null, null, null)));
        assertEquals("in.st: tensor Xtest has dimension 3 but X has 2",
                message(() -> new BoundInput("in.st", X, G, Y, null, new double[][] {{1, 2, 3}}, new double[][] {{1, 0}},
                        new double[] {1}, null, null)));
        assertEquals("in.st: tensor Gtest has 1 experts but G has 2",
                message(() -> new BoundInput("in.st", X, G, Y, null, new double[][] {{1, 2}}, new double[][] {{1}},
                        new double[] {1}, null, null)));
    }

    @Test
    void nonFiniteValuesAreReportedWithTheirIndex() {
        assertEquals("in.st: tensor X has a non-finite value (NaN) at [1, 0]",
                message(() -> new BoundInput("in.st", new double[][] {{1, 0}, {Double.NaN, 1}, {1, 1}}, G, Y,
                        null, null, null, null, null, null)));
        assertEquals("in.st: tensor y has a non-finite value (Infinity) at [2]",
                message(() -> new BoundInput("in.st", X, G, new double[] {1, 2, Double.POSITIVE_INFINITY},
                        null, null, null, null, null, null)));
    }

    @Test
    void gatesMustBeProbabilities() {
        assertEquals("in.st: tensor G has a gate outside [0, 1] (-0.5) at [0, 1]",
                message(() -> new BoundInput("in.st", X, new double[][] {{1, -0.5}, {0.5, 0.5}, {0, 1}}, Y,
                        null, null, null, null, null, null)));
    }

    @Test
    void incompleteTestSetIsRejected() {
        assertEquals("in.st: a test set needs both Gtest and ftest (Xtest is there)",
                message(() -> new BoundInput("in.st", X, G, Y, null, new double[][] {{1, 2}}, null, null, null, null)));
    }

    @Test
    void missingInputsAreNamed() {
        assertEquals("in.st: need tensor X (or a precomputed expert kernel K)",
                message(() -> new BoundInput("in.st", null, G, Y, null, null, null, null, null, null)));
        BoundInput onlyX = new BoundInput("in.st", X, G, Y, null, null, null, null, null, null);
        assertEquals("in.st: --kernel precomputed needs tensor K", message(() -> onlyX.routingGrams(ExpertKernel.PRECOMPUTED)));
    }

    @Test
    void indefinitePrecomputedKernelIsRejectedByName() {
        // K = [[1, 2], [2, 1]] has eigenvalues 3 and −1; with one expert H = K
        BoundInput in = new BoundInput("k.st", null, new double[][] {{1}, {1}}, new double[] {1, 0}, null,
                null, null, null, new double[][] {{1, 2}, {2, 1}}, null);
        String msg = message(() -> GeneralizationBound.evaluate(in, new BoundSettings(1, false, 0.1, 0.05, ExpertKernel.PRECOMPUTED)));
        assertTrue(msg.startsWith("k.st: tensor K is not positive semidefinite: the routing kernel (G Gᵀ) ⊙ K has eigenvalue -"), msg);
        assertTrue(msg.matches(".* eigenvalue -(1\\.0|0\\.99999+\\d*) \\(largest (3\\.0|2\\.99999+\\d*|3\\.00000+\\d*)\\)"), msg);
    }

    @Test
    void asymmetricPrecomputedKernelIsRejected() {
        BoundInput in = new BoundInput("k.st", null, new double[][] {{1}, {1}}, new double[] {1, 0}, null,
                null, null, null, new double[][] {{1, 0.5}, {0.1, 1}}, null);
        assertEquals("k.st: tensor K is not symmetric: K[0][1] = 0.5 but K[1][0] = 0.1",
                message(() -> in.routingGrams(ExpertKernel.PRECOMPUTED)));
    }

    @Test
    void precomputedKernelReproducesTheAnalyticOne() {
        double[][] k = ExpertKernel.ARCCOS.gram(X, X);
        double[][] kTest = ExpertKernel.ARCCOS.gram(new double[][] {{2, -1}}, X);
        BoundSettings s = new BoundSettings(0.1, false, 0.3, 0.05, ExpertKernel.ARCCOS);
        BoundResult a = GeneralizationBound.evaluate(new BoundInput("a", X, G, Y, null, new double[][] {{2, -1}},
                new double[][] {{0.2, 0.8}}, new double[] {0.5}, null, null), s);
        BoundResult b = GeneralizationBound.evaluate(new BoundInput("b", null, G, Y, null, null,
                new double[][] {{0.2, 0.8}}, new double[] {0.5}, k, kTest),
                new BoundSettings(0.1, false, 0.3, 0.05, ExpertKernel.PRECOMPUTED));
        assertEquals(a.dEff(), b.dEff(), 1e-12);
        assertEquals(a.populationRisk(), b.populationRisk(), 1e-12);
        assertEquals(a.biasTerm(), b.biasTerm(), 1e-12);
    }

    @Test
    void settingsAreValidated() {
        assertEquals("--delta must lie strictly between 0 and 1, got 1.0",
                message(() -> new BoundSettings(1, false, 0.1, 1, ExpertKernel.ARCCOS)));
        assertEquals("--lambda must be a positive finite number, got 0.0",
                message(() -> new BoundSettings(0, false, 0.1, 0.5, ExpertKernel.ARCCOS)));
        assertEquals("--sigma must be a finite number >= 0, got NaN",
                message(() -> new BoundSettings(1, false, Double.NaN, 0.5, ExpertKernel.ARCCOS)));
    }
}
