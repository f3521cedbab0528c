package org.moescope.controls;

import org.junit.jupiter.api.Test;
import org.moescope.pathways.Pathway;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class RoutingControlsTest {
    @Test
    void meanPathwayLength() {
        // (3 + 1) / 2 and (2 + 2) / 2: mean over samples and layers = 2
        assertEquals(2.0, RoutingControls.meanPathwayLength(List.of(Pathway.parse("1,2,3-4"), Pathway.parse("1,2-3,4"))));
        assertTrue(Double.isNaN(RoutingControls.meanPathwayLength(List.of())));
    }

    @Test
    void entropyOfTheTokenAveragedRouting() {
        // [N=2, L=2, E=4]: uniform (ln 4), one-hot (0), two halves (ln 2), uniform (ln 4)
        float[] probs = {
                0.25f, 0.25f, 0.25f, 0.25f, 1, 0, 0, 0,
                0.5f, 0.5f, 0, 0, 0.25f, 0.25f, 0.25f, 0.25f,
        };
        assertEquals((Math.log(4) + 0) / 2, RoutingControls.meanRoutingEntropy(probs, 2, 4, new int[]{0}), 1e-7);
        assertEquals((2 * Math.log(4) + Math.log(2)) / 4, RoutingControls.meanRoutingEntropy(probs, 2, 4, new int[]{0, 1}), 1e-7);
        assertTrue(Double.isNaN(RoutingControls.meanRoutingEntropy(probs, 2, 4, new int[0])));
    }

    @Test
    void perTokenEntropyAveragesTokensThenSamples() {
        // [T=3, L=1, E=2]; sample 0 = token 0 (equal logits: ln 2), sample 1 = tokens 1-2 (a near one-hot, equal).
        float[] logits = {0, 0, 100, 0, 5, 5};
        long[] offsets = {0, 1, 3};
        double sample1 = (RoutingControls.softmaxEntropy(new float[]{100, 0}) + Math.log(2)) / 2;
        assertEquals((Math.log(2) + sample1) / 2, RoutingControls.meanTokenEntropy(logits, offsets, 1, 2, new int[]{0, 1}), 1e-12);
        assertEquals(Math.log(2), RoutingControls.meanTokenEntropy(logits, offsets, 1, 2, new int[]{0}), 1e-12);
        assertTrue(RoutingControls.softmaxEntropy(new float[]{100, 0}) < 1e-40);
        assertEquals(Math.log(3), RoutingControls.softmaxEntropy(new float[]{Float.NEGATIVE_INFINITY, 1, 1, 1}), 1e-12);
    }
}
