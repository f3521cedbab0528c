package org.moescope.bound;

import org.junit.jupiter.api.Test;
import org.moescope.errors.BadInputException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class ExpertKernelTest {
    private static final double EPS = 1e-12;

    @Test
    void parallelVectorsGiveTheProductOfNorms() {
        // φ = 0: (ab/2π)·π + aᵀb·π/2π = ab/2 + ab/2
        assertEquals(10.0, ExpertKernel.ARCCOS.value(new double[] {1, 2}, new double[] {2, 4}), EPS);
        assertEquals(5.0, ExpertKernel.ARCCOS.value(new double[] {1, 2}, new double[] {1, 2}), EPS);
    }

    @Test
    void orthogonalVectorsKeepOnlyTheSineTerm() {
        // φ = π/2: (ab/2π)(1 + 0) + 0
        assertEquals(3.0 / (2 * Math.PI), ExpertKernel.ARCCOS.value(new double[] {1, 0}, new double[] {0, 3}), EPS);
    }

    @Test
    void antiparallelVectorsGiveZero() {
        // φ = π: sin φ = 0 and π − φ = 0
        assertEquals(0.0, ExpertKernel.ARCCOS.value(new double[] {1, 0}, new double[] {-2, 0}), EPS);
        assertEquals(0.0, ExpertKernel.ARCCOS.value(new double[] {1, 1, 1}, new double[] {-1e-3, -1e-3, -1e-3}), EPS);
    }

    @Test
    void sixtyDegreesMatchesHandComputation() {
        // a = (1,0), b = (1,√3): |b| = 2, cos φ = 1/2, φ = π/3:
        // (2/2π)(√3/2 + (2π/3)(1/2)) + 1·(2π/3)/(2π) = √3/(2π) + 1/3 + 1/3
        double expected = Math.sqrt(3) / (2 * Math.PI) + 2.0 / 3.0;
        assertEquals(expected, ExpertKernel.ARCCOS.value(new double[] {1, 0}, new double[] {1, Math.sqrt(3)}), EPS);
    }

    @Test
    void zeroVectorGivesZero() {
        assertEquals(0.0, ExpertKernel.ARCCOS.value(new double[] {0, 0}, new double[] {1, 2}), 0.0);
        assertEquals(0.0, ExpertKernel.ARCCOS.value(new double[] {0, 0}, new double[] {0, 0}), 0.0);
    }

    @Test
    void nearlyParallelVectorsKeepFullPrecision() {
        // a naive acos of aᵀb/(‖a‖‖b‖) gives φ ≈ 2e-8 here and a kernel off by ~3e-9 relative
        double[] a = {0.1, 0.2, 0.3};
        assertEquals(ExpertKernel.dot(a, a), ExpertKernel.ARCCOS.value(a, a), 1e-16);
        assertEquals(0.0, ExpertKernel.angle(a, Math.sqrt(0.14), new double[] {0.2, 0.4, 0.6}, Math.sqrt(0.56)), 1e-16);
    }

    @Test
    void linearKernelIsTheInnerProduct() {
        assertEquals(-4.5, ExpertKernel.LINEAR.value(new double[] {1, 2, 3}, new double[] {0.5, -1, -1}), EPS);
    }

    @Test
    void gramAgreesWithPointwiseValues() {
        double[][] a = {{1, 0, 2}, {0, 0, 0}, {-1, 3, 0.5}};
        double[][] b = {{2, 1, 0}, {-1, 3, 0.5}};
        for (ExpertKernel kernel : new ExpertKernel[] {ExpertKernel.ARCCOS, ExpertKernel.LINEAR}) {
            double[][] k = kernel.gram(a, b);
            for (int i = 0; i < a.length; i++) {
                for (int j = 0; j < b.length; j++) {
                    assertEquals(kernel.value(a[i], b[j]), k[i][j], EPS);
                }
            }
        }
    }

    @Test
    void parseRejectsUnknownNames() {
        assertEquals(ExpertKernel.ARCCOS, ExpertKernel.parse("arccos"));
        assertEquals(ExpertKernel.PRECOMPUTED, ExpertKernel.parse("precomputed"));
        BadInputException e = assertThrows(BadInputException.class, () -> ExpertKernel.parse("rbf"));
        assertEquals("--kernel: unknown kernel 'rbf' (expected arccos, linear or precomputed)", e.getMessage());
    }
}
