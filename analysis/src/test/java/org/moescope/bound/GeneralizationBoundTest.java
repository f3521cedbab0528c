package org.moescope.bound;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GeneralizationBoundTest {
    private static final double EPS = 1e-12;

    /**
     * H = [[2,1],[1,2]] from the linear kernel (x1 = (1,1,0), x2 = (1,0,1)) and one expert. μ = 3, 1;
     * u = (1,1)/√2, (1,−1)/√2. λ = 1, σ = 0.5, δ = 1/e, y = f = (1, 0).
     */
    @Test
    void twoByTwoMatchesHandComputation() {
        double[][] x = {{1, 1, 0}, {1, 0, 1}};
        double[][] g = {{1}, {1}};
        double[] y = {1, 0};
        double[][] xTest = {{1, 0, 0}};
        double[][] gTest = {{1}};
        double[] fTest = {2};
        BoundInput in = new BoundInput("hand", x, g, y, y.clone(), xTest, gTest, fTest, null, null);
        BoundResult r = GeneralizationBound.evaluate(in, new BoundSettings(1, false, 0.5, Math.exp(-1), ExpertKernel.LINEAR));

        assertArrayEquals(new double[] {3, 1}, r.eigenvalues(), EPS);
        assertEquals(3.0 / 4 + 1.0 / 2, r.dEff(), EPS);
        // yᵀ(H+I)⁻²y = (1/2)/16 + (1/2)/4 = 5/32; bias = (λ²/n)·5/32
        assertEquals(5.0 / 64, r.biasTerm(), EPS);
        assertEquals(0.25 * 1.25 / 2, r.varianceTerm(), EPS);
        assertEquals(0.25 / 2, r.noiseTerm(), EPS);
        assertEquals(5.0 / 64 + 0.25 * 1.25 / 2 + 0.125, r.rhs(), EPS);
        // α = (1/8)[[3,−1],[−1,3]] y = (3/8, −1/8); Hα = (5/8, 1/8); residual (−3/8, 1/8)
        assertEquals((9.0 / 64 + 1.0 / 64) / 2, r.inSampleRisk(), EPS);
        assertEquals("f", r.inSampleTarget());
        assertTrue(r.holdsInSample());
        // E R_in = (1/2)[5/32 + 0.25·(9/16 + 1/4)]
        assertEquals(0.5 * (5.0 / 32 + 0.25 * (9.0 / 16 + 1.0 / 4)), r.expectedInSampleRisk(), EPS);
        // H_test = [1, 1]; prediction 3/8 − 1/8 = 1/4; (1/4 − 2)² = 49/16
        assertEquals(49.0 / 16, r.populationRisk(), EPS);
        assertFalse(r.holdsPopulation());
        assertEquals("population", r.minC1Risk());
        assertEquals((49.0 / 16 - 0.25 * 1.25 / 2 - 0.125) / (5.0 / 64), r.minC1(), 1e-10);
        assertEquals(2.0, r.traceOverN(), EPS);
    }

    /**
     * H = [[1,1,0],[1,1,0],[0,0,2]] from one-hot gates over two experts and the linear kernel.
     * μ = 2, 2, 0 with u = (1,1,0)/√2, (0,0,1), (1,−1,0)/√2. Tr(H)/n = 4/3, λ relative 0.75 → λ = 1.
     * y = (1,2,3), no f, σ = 1, δ = 1/2.
     */
    @Test
    void threeByThreeWithRelativeLambdaAndNoTargets() {
        double[][] x = {{1, 0}, {1, 0}, {0, Math.sqrt(2)}};
        double[][] g = {{1, 0}, {1, 0}, {0, 1}};
        double[] y = {1, 2, 3};
        BoundInput in = new BoundInput("hand", x, g, y, null, null, null, null, null, null);
        BoundResult r = GeneralizationBound.evaluate(in, new BoundSettings(0.75, true, 1, 0.5, ExpertKernel.LINEAR));

        assertEquals(1.0, r.lambda(), EPS);
        assertEquals(0.75, r.lambdaRelative(), EPS);
        assertEquals(4.0 / 3, r.dEff(), EPS);
        // coordinates 3/√2, 3, −1/√2 → (9/2)/9 + 9/9 + (1/2)/1 = 2; bias = 2/3
        assertEquals(2.0 / 3, r.biasTerm(), EPS);
        assertEquals(4.0 / 9, r.varianceTerm(), EPS);
        assertEquals(Math.log(2) / 3, r.noiseTerm(), EPS);
        // Hα = (1,1,2), compared with y: residual (0,−1,−1)
        assertEquals(2.0 / 3, r.inSampleRisk(), EPS);
        assertEquals("y", r.inSampleTarget());
        assertTrue(Double.isNaN(r.expectedInSampleRisk()));
        assertFalse(r.hasPopulationRisk());
        assertEquals("in_sample", r.minC1Risk());
        assertEquals(0.0, r.minC1(), 0.0); // 2/3 < 4/9 + ln2/3 ≈ 0.675
        assertTrue(r.holdsInSample());
    }

    @Test
    void choleskyFitMatchesTheEigenbasisAndTheBiasTerm() {
        Random rnd = new Random(7);
        Instance inst = Instance.random(rnd, 40, 6, 5);
        double lambda = 0.3;
        double[][] h = inst.input().routingGrams(ExpertKernel.ARCCOS).h();
        double[] alpha = GeneralizationBound.ridgeCoefficients(h, inst.y(), lambda);
        KernelSpectrum s = KernelSpectrum.of(h);
        double[] c = s.project(inst.y());
        double normSq = 0;
        for (int i = 0; i < alpha.length; i++) {
            double viaEigen = 0;
            for (int r = 0; r < c.length; r++) {
                viaEigen += s.eigenvectors()[i][r] * c[r] / (s.eigenvalues()[r] + lambda);
            }
            assertEquals(viaEigen, alpha[i], 1e-9);
            normSq += alpha[i] * alpha[i];
        }
        BoundResult r = GeneralizationBound.evaluate(inst.input(), new BoundSettings(lambda, false, 0.2, 0.05, ExpertKernel.ARCCOS));
        // the bias term from the eigenbasis, as notes §7 writes it: (λ²/n) Σ (u_rᵀy)²/(μ_r+λ)²
        double viaEigen = 0;
        for (int r0 = 0; r0 < c.length; r0++) {
            viaEigen += c[r0] * c[r0] / ((s.eigenvalues()[r0] + lambda) * (s.eigenvalues()[r0] + lambda));
        }
        assertEquals(lambda * lambda * viaEigen / alpha.length, r.biasTerm(), 1e-12);
        assertEquals(lambda * lambda * normSq / alpha.length, r.biasTerm(), 1e-12);
        assertArrayEquals(s.eigenvalues(), r.eigenvalues(), 1e-10);
    }

    /**
     * E R_in = (1/n)[λ² fᵀ(H+λI)⁻²f + σ² Σ μ²/(μ+λ)²] ≤ (λ²/n) fᵀ(H+λI)⁻²f + σ² d_eff/n ≤ E[bias(y)] + variance,
     * because μ²/(μ+λ)² ≤ μ/(μ+λ) term by term and E[yᵀAy] = fᵀAf + σ² Tr A for y = f + ε.
     */
    @Test
    void expectedInSampleRiskIsBelowBiasPlusVarianceOnRandomInstances() {
        Random rnd = new Random(11);
        for (int trial = 0; trial < 30; trial++) {
            int n = 5 + rnd.nextInt(40);
            Instance inst = Instance.random(rnd, n, 1 + rnd.nextInt(10), 1 + rnd.nextInt(8));
            double lambda = Math.exp(rnd.nextGaussian() * 2);
            double sigma = rnd.nextDouble() * 2;
            ExpertKernel kernel = rnd.nextBoolean() ? ExpertKernel.ARCCOS : ExpertKernel.LINEAR;
            double[][] h = inst.input().routingGrams(kernel).h();
            double expected = GeneralizationBound.expectedInSampleRisk(h, inst.f(), lambda, sigma);
            // bias and variance with noise-free labels: the smallest the right side can be in expectation
            BoundInput noiseFree = new BoundInput("t", inst.input().x(), inst.input().g(), inst.f(), inst.f(),
                    null, null, null, null, null);
            BoundResult r = GeneralizationBound.evaluate(noiseFree, new BoundSettings(lambda, false, sigma, 0.5, kernel));
            assertTrue(expected <= r.biasTerm() + r.varianceTerm() + 1e-12,
                    "trial " + trial + ": E R_in = " + expected + " > bias + variance = " + (r.biasTerm() + r.varianceTerm()));
        }
    }

    /** Monte-Carlo over label noise agrees with the closed-form expectation of the in-sample risk. */
    @Test
    void monteCarloInSampleRiskMatchesClosedForm() {
        Random rnd = new Random(3);
        Instance inst = Instance.random(rnd, 30, 8, 4);
        double lambda = 0.5;
        double sigma = 0.7;
        double[][] h = inst.input().routingGrams(ExpertKernel.ARCCOS).h();
        double expected = GeneralizationBound.expectedInSampleRisk(h, inst.f(), lambda, sigma);
        int draws = 1500;
        double sum = 0;
        double sumSq = 0;
        double rhsSum = 0;
        Random noise = new Random(99);
        for (int t = 0; t < draws; t++) {
            double[] y = new double[inst.f().length];
            for (int i = 0; i < y.length; i++) {
                y[i] = inst.f()[i] + sigma * noise.nextGaussian();
            }
            BoundInput in = new BoundInput("mc", inst.input().x(), inst.input().g(), y, inst.f(), null, null, null, null, null);
            BoundResult r = GeneralizationBound.evaluate(in, new BoundSettings(lambda, false, sigma, 0.5, ExpertKernel.ARCCOS));
            sum += r.inSampleRisk();
            sumSq += r.inSampleRisk() * r.inSampleRisk();
            rhsSum += r.biasTerm() + r.varianceTerm();
            assertEquals(expected, r.expectedInSampleRisk(), 1e-12); // does not depend on the noise draw
        }
        double mean = sum / draws;
        double stdErr = Math.sqrt((sumSq / draws - mean * mean) / draws);
        assertEquals(expected, mean, 5 * stdErr, "Monte-Carlo mean " + mean + " ± " + stdErr);
        assertTrue(mean <= rhsSum / draws, "mean in-sample risk above mean bias + variance");
    }

    /** Hard top-1 routing makes H block-diagonal by expert, so d_eff is the sum of the blocks' d_eff (notes §7). */
    @Test
    void oneHotRoutingGivesBlockDiagonalKernelWithAdditiveEffectiveDimension() {
        Random rnd = new Random(5);
        int n = 24;
        int experts = 4;
        double[][] x = gaussian(rnd, n, 5);
        double[][] g = new double[n][experts];
        int[] assign = new int[n];
        for (int i = 0; i < n; i++) {
            assign[i] = i % 3 == 0 ? 0 : rnd.nextInt(experts); // expert 0 never empty
            g[i][assign[i]] = 1;
        }
        double lambda = 0.4;
        double[][] h = new BoundInput("b", x, g, new double[n], null, null, null, null, null, null)
                .routingGrams(ExpertKernel.ARCCOS).h();
        double sum = 0;
        for (int e = 0; e < experts; e++) {
            int count = 0;
            for (int a : assign) {
                count += a == e ? 1 : 0;
            }
            if (count == 0) {
                continue;
            }
            double[][] block = new double[count][];
            int at = 0;
            for (int i = 0; i < n; i++) {
                if (assign[i] == e) {
                    block[at++] = x[i];
                }
            }
            sum += KernelSpectrum.of(ExpertKernel.ARCCOS.gram(block, block)).effectiveDimension(lambda);
        }
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                if (assign[i] != assign[j]) {
                    assertEquals(0.0, h[i][j], 0.0);
                }
            }
        }
        assertEquals(sum, KernelSpectrum.of(h).effectiveDimension(lambda), 1e-10);
    }

    @Test
    void minimalC1CoversTheEdgeCases() {
        assertEquals(0.0, GeneralizationBound.minimalC1(1, 2, 3), 0.0);
        assertEquals(2.0, GeneralizationBound.minimalC1(7, 2, 3), 0.0);
        assertEquals(Double.POSITIVE_INFINITY, GeneralizationBound.minimalC1(7, 0, 3), 0.0);
    }

    record Instance(BoundInput input, double[] f, double[] y) {
        /** Gaussian inputs, softmax gates, f = sin of a random projection, y = f + 0.3 noise. */
        static Instance random(Random rnd, int n, int dim, int experts) {
            double[][] x = gaussian(rnd, n, dim);
            double[][] logits = gaussian(rnd, n, experts);
            double[][] g = new double[n][experts];
            for (int i = 0; i < n; i++) {
                double max = Double.NEGATIVE_INFINITY;
                for (double v : logits[i]) {
                    max = Math.max(max, v);
                }
                double z = 0;
                for (int k = 0; k < experts; k++) {
                    g[i][k] = Math.exp(logits[i][k] - max);
                    z += g[i][k];
                }
                for (int k = 0; k < experts; k++) {
                    g[i][k] /= z;
                }
            }
            double[] w = gaussian(rnd, 1, dim)[0];
            double[] f = new double[n];
            double[] y = new double[n];
            for (int i = 0; i < n; i++) {
                f[i] = Math.sin(ExpertKernel.dot(w, x[i]));
                y[i] = f[i] + 0.3 * rnd.nextGaussian();
            }
            return new Instance(new BoundInput("random", x, g, y, f, null, null, null, null, null), f, y);
        }
    }

    static double[][] gaussian(Random rnd, int rows, int cols) {
        double[][] a = new double[rows][cols];
        for (double[] row : a) {
            for (int j = 0; j < cols; j++) {
                row[j] = rnd.nextGaussian();
            }
        }
        return a;
    }
}
