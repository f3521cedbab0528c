package org.moescope.pathways;

import org.junit.jupiter.api.Test;
import org.moescope.errors.BadInputException;

import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

class ConsistencyTest {
    @Test
    void handWorkedThreeLayers() {
        // 2 experts, hidden 2, identity routers: e_l = g_l. Layers (1,0), (1,0), (0.5,0.5): cosines 1 and √½.
        float[][] identity = {{1, 0}, {0, 1}};
        RouterGeometry geo = RouterGeometry.of(new float[][][]{identity, identity, identity});
        Consistency c = Consistency.of(geo, new float[][]{{1, 0}, {1, 0}, {0.5f, 0.5f}});
        double half = Math.sqrt(0.5);
        assertArrayEquals(new double[]{1, half}, c.adjacentCosines(), 1e-12);
        assertEquals((1 + half) / 2, c.layerCosineMean(), 1e-12);
        assertEquals(1.0, c.maxCosine(), 1e-12);
        assertEquals(1 - ((1 + half) / 2) / (1 + 1e-8), c.consistencyV4(), 1e-12);
    }

    @Test
    void oneLayerIsUndefined() {
        RouterGeometry geo = RouterGeometry.of(new float[][][]{{{1, 0}, {0, 1}}});
        Consistency c = Consistency.of(geo, new float[][]{{0.5f, 0.5f}});
        assertTrue(Double.isNaN(c.layerCosineMean()));
        assertTrue(Double.isNaN(c.consistencyV4()));
        assertEquals(0, c.adjacentCosines().length);
    }

    @Test
    void nonPositiveMaximumCosineIsGuarded() {
        // Second router is the negated first: every adjacent cosine is -1, so S = -1 and C's ratio would flip sign.
        RouterGeometry geo = RouterGeometry.of(new float[][][]{{{1, 0}, {0, 1}}, {{-1, 0}, {0, -1}}});
        Consistency c = Consistency.of(geo, new float[][]{{1, 0}, {1, 0}});
        assertEquals(-1, c.layerCosineMean(), 1e-12);
        assertTrue(Double.isNaN(c.consistencyV4()));
        // A zero embedding (all-zero router rows) has no direction.
        RouterGeometry zero = RouterGeometry.of(new float[][][]{{{0, 0}, {0, 0}}, {{1, 0}, {0, 1}}});
        assertTrue(Double.isNaN(Consistency.of(zero, new float[][]{{1, 0}, {1, 0}}).layerCosineMean()));
    }

    @Test
    void gramShortcutEqualsDirectEmbeddings() {
        SplittableRandom rnd = new SplittableRandom(31);
        int layers = 5, experts = 8, hidden = 24;
        float[][][] w = new float[layers][experts][hidden];
        for (float[][] layer : w) for (float[] row : layer) for (int h = 0; h < hidden; h++) row[h] = (float) rnd.nextGaussian();
        RouterGeometry geo = RouterGeometry.of(w);
        float[] flat = new float[3 * layers * experts]; // [N=3, L, E]
        for (int i = 0; i < flat.length; i++) flat[i] = (float) rnd.nextDouble();
        for (int n = 0; n < 3; n++) {
            double[][] e = new double[layers][hidden];
            for (int l = 0; l < layers; l++) {
                for (int k = 0; k < experts; k++) {
                    for (int h = 0; h < hidden; h++) e[l][h] += flat[n * layers * experts + l * experts + k] * (double) w[l][k][h];
                }
            }
            double sum = 0, max = -2;
            Consistency c = Consistency.of(geo, flat, n * layers * experts);
            for (int l = 0; l + 1 < layers; l++) {
                double cos = dot(e[l], e[l + 1]) / Math.sqrt(dot(e[l], e[l]) * dot(e[l + 1], e[l + 1]));
                assertEquals(cos, c.adjacentCosines()[l], 1e-10);
                sum += cos;
                max = Math.max(max, cos);
            }
            assertEquals(sum / (layers - 1), c.layerCosineMean(), 1e-10);
            if (max > 0) assertEquals(1 - sum / (layers - 1) / (max + 1e-8), c.consistencyV4(), 1e-10);
        }
    }

    @Test
    void groupMeanSkipsUndefinedSamples() {
        var a = new Consistency(0.5, 0.25, 1, new double[]{0.5});
        var b = new Consistency(0.7, Double.NaN, -0.1, new double[]{0.7});
        Consistency.GroupMean m = Consistency.groupMean(List.of(a, b));
        assertEquals(2, m.samples());
        assertEquals(2, m.definedCosineMean());
        assertEquals(1, m.definedConsistency());
        assertEquals(0.6, m.layerCosineMean(), 1e-12);
        assertEquals(0.25, m.consistencyV4(), 1e-12);
        assertTrue(Double.isNaN(Consistency.groupMean(List.of()).layerCosineMean()));
    }

    @Test
    void shapeMismatchIsBadInput() {
        RouterGeometry geo = RouterGeometry.of(new float[][][]{{{1, 0}, {0, 1}}, {{1, 0}, {0, 1}}});
        assertThrows(BadInputException.class, () -> Consistency.of(geo, new float[][]{{1, 0}}));
        assertThrows(BadInputException.class, () -> Consistency.of(geo, new float[][]{{1, 0, 0}, {1, 0, 0}}));
        assertThrows(BadInputException.class, () -> RouterGeometry.of(new float[][][]{{{1, 0}}, {{1, 0}, {0, 1}}}));
    }

    private static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) s += a[i] * b[i];
        return s;
    }
}
