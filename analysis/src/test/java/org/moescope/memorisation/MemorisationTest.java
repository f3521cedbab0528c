package org.moescope.memorisation;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class MemorisationTest {
    // (checkpoints, samples)
    private static final double[][] LOSSES = {
            {3.0, 3.0, 3.0, 3.0},
            {0.5, 2.0, 0.05, 3.0},
            {0.2, 1.0, 0.3, 3.0},
            {0.21, 0.2, 0.05, 2.5},
    };

    @Test
    void earliestCheckpointFromWhichLossStaysLowAndNearFinal() {
        int[] steps = Memorisation.steps(LOSSES, 0.6, 0.05);
        // sample 0: 0.5 at t=1 is 0.29 from the final 0.21 (> δ), so t = 2.
        // sample 1: only the final checkpoint qualifies.
        // sample 2: t=1 (0.05) is fine but t=2 (0.3) breaks |l - final| <= δ, so t = 3.
        // sample 3: final loss 2.5 > ε: never.
        assertArrayEquals(new int[] {2, 3, 3, Memorisation.NEVER}, steps);
        assertEquals(0.25, Memorisation.fractionBeforeFinal(steps, 4));
        // A looser δ lets sample 2 count from t = 1.
        assertArrayEquals(new int[] {1, 3, 1, Memorisation.NEVER}, Memorisation.steps(LOSSES, 0.6, 0.3));
    }

    @Test
    void epsilonSteppedToHitTheTargetBand() {
        Memorisation.EpsilonChoice c = Memorisation.chooseEpsilon(LOSSES, 0.05, 0.2, 0.3);
        assertEquals(0.3, c.epsilon(), 1e-12, "ε = 0.1, 0.2 memorise nobody before the final checkpoint");
        assertTrue(c.inTarget());
        assertEquals(0.25, c.fraction());
        Memorisation.EpsilonChoice miss = Memorisation.chooseEpsilon(LOSSES, 0.05, 0.9, 1.0);
        assertFalse(miss.inTarget());
        assertEquals(0.25, miss.fraction(), "the closest reachable fraction");
    }

    @Test
    void nanLossesAreNeverMemorised() {
        int[] steps = Memorisation.steps(new double[][] {{Double.NaN}, {Double.NaN}}, 1, 1);
        assertArrayEquals(new int[] {Memorisation.NEVER}, steps);
    }
}
