package org.moescope.pathways;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class ConsistencyTest {
    @Test
    void handWorkedThreeLayers() {
        // 2 experts, hidden 2; router rows are unit vectors so e_l = g_l.
        float[][] w = {{1, 0, 0, 1}, {1, 0, 0, 1}, {1, 0, 0, 1}};
        float[] g = {1, 0, 1, 0, 0.5f, 0.5f}; // layers: (1,0), (1,0), (0.5,0.5)
        Consistency.Result r = Consistency.of(g, 0, 3, 2, w, 2);
        double c2 = Math.sqrt(0.5);
        assertArrayEquals(new double[] {1, c2}, r.layerCosines(), 1e-12);
        assertEquals((1 + c2) / 2, r.layerCosineMean(), 1e-12);
        assertEquals(1 - ((1 + c2) / 2) / (1 + 1e-8), r.consistencyV4(), 1e-12);
    }

    @Test
    void oneLayerIsUndefinedAndNegativeMaxIsGuarded() {
        assertTrue(Double.isNaN(Consistency.of(new float[] {1, 0}, 0, 1, 2, new float[][] {{1, 0, 0, 1}}, 2).layerCosineMean()));
        float[][] w = {{1, 0, 0, 1}, {-1, 0, 0, -1}};
        Consistency.Result r = Consistency.of(new float[] {1, 0, 1, 0}, 0, 2, 2, w, 2);
        assertEquals(-1, r.layerCosineMean(), 1e-12);
        assertTrue(Double.isNaN(r.consistencyV4()), "max cosine <= 0 would flip the ratio's sign");
    }

    @Test
    void entropyControls() {
        float[] uniform = {0.25f, 0.25f, 0.25f, 0.25f, 1, 0, 0, 0};
        assertEquals((Math.log(4) + 0) / 2, RoutingControls.averagedRoutingEntropy(uniform, 0, 2, 4), 1e-6);
        assertEquals(Math.log(4), RoutingControls.tokenRoutingEntropy(new float[] {3, 3, 3, 3}, 1, 1, 4), 1e-9);
    }
}
