package org.moescope.pathways;

import org.junit.jupiter.api.Test;
import org.moescope.errors.BadInputException;

import static org.junit.jupiter.api.Assertions.*;

/** Hand-worked examples of the pathway definition (docs/metrics.md, "Pathway"). */
class PathwayDefinitionTest {
    @Test
    void cumulativeSumEqualToTauDoesNotStop() {
        // All weights exact in float: 0.5 + 0.25 == 0.75 exactly, which does not exceed 0.75, so 0.125 is kept too.
        float[][] probs = {{0.125f, 0.5f, 0.0625f, 0.25f, 0.0625f}};
        assertEquals("1,3,0", Pathway.fromRouting(probs, 0.75).text());
        // Below the running sum 0.75 it stops after two experts; at or below 0.5 likewise, but not at 0.25.
        assertEquals("1,3", Pathway.fromRouting(probs, 0.625).text());
        assertEquals("1", Pathway.fromRouting(probs, 0.25).text(), "0.5 > 0.25 at once");
        assertEquals("1,3", Pathway.fromRouting(probs, 0.5).text(), "0.5 is not > 0.5");
    }

    @Test
    void defaultTauWithWeightsThatSumToItInFloat() {
        // 0.5f + 0.2f rounds to 0.7f, which equals (float) 0.7: not exceeding, so the third expert is kept.
        float[][] probs = {{0.2f, 0.5f, 0.1f, 0.1f, 0.1f}};
        assertEquals("1,0,2", Pathway.fromRouting(probs, Pathway.DEFAULT_TAU).text());
    }

    @Test
    void tiesGoToTheLowerIdAndOrderIsByWeightNotId() {
        float[][] probs = {
                {0.25f, 0.25f, 0.25f, 0.25f},          // all tied: ids ascending
                {0.0625f, 0.375f, 0.1875f, 0.375f},    // 1 and 3 tie for first
                {0f, 0f, 1f, 0f},                      // one expert carries everything
        };
        Pathway p = Pathway.fromRouting(probs, 0.7);
        assertEquals("0,1,2-1,3-2", p.text());
        assertArrayEquals(new int[]{1, 3}, p.layer(1));
        assertEquals(2.0, p.meanExpertsPerLayer(), 1e-12);
        assertEquals("1,3", p.onlyLayer(1).text());
    }

    @Test
    void negativeZeroTiesWithZero() {
        float[][] probs = {{-0.0f, 0.5f, 0.0f, 0.5f}};
        assertEquals("1,3", Pathway.fromRouting(probs, 0.7).text());
        assertEquals("1,3,0,2", Pathway.fromRouting(probs, 1.0).text(), "never exceeds 1: keeps all, zeros by id");
    }

    @Test
    void flatArrayOffsetsSelectOneSample() {
        // [N=2, L=2, E=3]
        float[] flat = {
                0.1f, 0.2f, 0.7f, 0.6f, 0.3f, 0.1f,
                0.8f, 0.1f, 0.1f, 0.25f, 0.25f, 0.5f,
        };
        assertEquals("2,1-0,1", Pathway.fromRouting(flat, 0, 2, 3, 0.7).text());
        assertEquals("0-2,0", Pathway.fromRouting(flat, 6, 2, 3, 0.7).text());
    }

    @Test
    void oneLayerModel() {
        Pathway p = Pathway.fromRouting(new float[][]{{0.75f, 0.25f}}, 0.7);
        assertEquals("0", p.text());
        assertEquals(1, p.layers());
    }

    @Test
    void textRoundTripAndBadInput() {
        for (String t : new String[]{"0", "3,1,5-9,1", "63,0-12-7,8,9,10"}) assertEquals(t, Pathway.parse(t).text());
        for (String bad : new String[]{"", "1,", "-1", "1--2", "a", "1,-2", " 1"}) {
            assertThrows(BadInputException.class, () -> Pathway.parse(bad), bad);
        }
        assertThrows(BadInputException.class, () -> Pathway.fromRouting(new float[][]{{0.5f, Float.NaN}}, 0.7));
        assertThrows(BadInputException.class, () -> Pathway.fromRouting(new float[][]{{1.5f, -0.5f}}, 0.7));
        assertThrows(BadInputException.class, () -> Pathway.fromRouting(new float[][]{{1f}}, 1.5));
        assertThrows(BadInputException.class, () -> Pathway.fromRouting(new float[][]{{1f}, {0.5f, 0.5f}}, 0.7));
    }

    @Test
    void expertLevelSymbolsKeepLayerSeparators() {
        // "3,1,5-9,1" is the sequence 3 1 5 - 9 1: separator 0, expert k as k + 1.
        assertArrayEquals(new int[]{4, 2, 6, 0, 10, 2}, Pathway.parse("3,1,5-9,1").symbols(DistanceKind.Unit.EXPERT));
        assertArrayEquals(new int[]{1, 10, 1, 1, 11, 0}, Pathway.parse("1,11-0").symbols(DistanceKind.Unit.CHARACTER));
    }
}
