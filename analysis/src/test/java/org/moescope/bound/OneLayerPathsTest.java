package org.moescope.bound;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

class OneLayerPathsTest {
    @Test
    void pathwayKeepsExpertsUntilTheSumExceedsTheThreshold() {
        assertEquals("1,2", OneLayerPaths.pathway(new double[] {0.1, 0.5, 0.3, 0.1}, 0.7));
        assertEquals("0,2", OneLayerPaths.pathway(new double[] {0.5, 0.2, 0.3}, 0.7));
        // reaching the threshold exactly is not exceeding it
        assertEquals("0,1", OneLayerPaths.pathway(new double[] {0.75, 0.25}, 0.75));
        // ties go to the lower id
        assertEquals("0,1,2", OneLayerPaths.pathway(new double[] {0.25, 0.25, 0.25, 0.25}, 0.7));
        assertEquals("12", OneLayerPaths.pathway(new double[] {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 0.7));
    }

    @Test
    void levenshteinMatchesKnownValues() {
        assertEquals(3, OneLayerPaths.levenshtein("kitten", "sitting"));
        assertEquals(0, OneLayerPaths.levenshtein("", ""));
        assertEquals(4, OneLayerPaths.levenshtein("", "3,11"));
        assertEquals(1, OneLayerPaths.levenshtein("3,11", "3,1"));
    }

    @Test
    void normalisedDistanceDividesByTheLongerString() {
        assertEquals(1.0 / 3, OneLayerPaths.normalisedDistance("1,2", "1,3"), 1e-15);
        assertEquals(1.0 / 4, OneLayerPaths.normalisedDistance("3,11", "3,1"), 1e-15);
        assertEquals(0.0, OneLayerPaths.normalisedDistance("", ""), 0.0);
    }

    @Test
    void meanPairwiseDistanceAveragesUnorderedPairs() {
        // pairs: (1,1) = 0, (1,2) = 1, (1,2) = 1
        assertEquals(2.0 / 3, OneLayerPaths.meanPairwiseDistance(new String[] {"1", "1", "2"}), 1e-15);
        assertEquals(0.0, OneLayerPaths.meanPairwiseDistance(new String[] {"4"}), 0.0);
    }
}
