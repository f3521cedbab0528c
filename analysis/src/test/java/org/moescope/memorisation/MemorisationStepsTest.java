package org.moescope.memorisation;

import org.junit.jupiter.api.Test;
import org.moescope.errors.BadInputException;

import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class MemorisationStepsTest {
    // (checkpoints, samples)
    private static final float[][] LOSSES = {
            {3.0f, 3.0f, 3.0f, 3.0f},
            {0.5f, 2.0f, 0.05f, 3.0f},
            {0.2f, 1.0f, 0.3f, 3.0f},
            {0.21f, 0.2f, 0.05f, 2.5f},
    };

    @Test
    void earliestCheckpointFromWhichLossStaysLowAndNearFinal() {
        int[] steps = MemorisationSteps.steps(LOSSES, 0.6, 0.05);
        // sample 0: 0.5 at t=1 is 0.29 from the final 0.21 (> δ), so t = 2.
        // sample 1: 1.0 at t=2 is far from the final 0.2; only the final checkpoint qualifies (t = T, not memorised).
        // sample 2: t=1 (0.05) is fine but t=2 (0.3) breaks |l - final| <= δ, so t = T.
        // sample 3: final loss 2.5 > ε: never.
        assertArrayEquals(new int[]{2, 3, 3, MemorisationSteps.NEVER}, steps);
        assertEquals(0.25, MemorisationSteps.memorisedFraction(LOSSES, steps));
        assertTrue(MemorisationSteps.isMemorised(2, 4));
        assertFalse(MemorisationSteps.isMemorised(3, 4), "memorised only at the final checkpoint does not count");
        assertFalse(MemorisationSteps.isMemorised(MemorisationSteps.NEVER, 4));
        // A looser δ lets samples 0 and 2 count from t = 1.
        assertArrayEquals(new int[]{1, 3, 1, MemorisationSteps.NEVER}, MemorisationSteps.steps(LOSSES, 0.6, 0.3));
    }

    @Test
    void boundariesAreInclusiveInFloat() {
        // Values exact in float: loss == ε and |Δ| == δ both satisfy the condition.
        float[][] loss = {{2.0f}, {1.5f}, {1.25f}};
        assertArrayEquals(new int[]{1}, MemorisationSteps.steps(loss, 1.5, 0.25));
        assertArrayEquals(new int[]{2}, MemorisationSteps.steps(loss, 1.5, 0.125));
        assertArrayEquals(new int[]{2}, MemorisationSteps.steps(loss, 1.25, 0.25));
        assertArrayEquals(new int[]{MemorisationSteps.NEVER}, MemorisationSteps.steps(loss, 1.0, 1.0));
        // A loss that prints as 1.7 counts at ε = 1.7 (ε is rounded to float like the loss).
        assertArrayEquals(new int[]{0}, MemorisationSteps.steps(new float[][]{{1.7f}, {1.7f}}, 1.7, 0.05));
    }

    @Test
    void nonFiniteLossesAreNeverMemorisedAndNotEligible() {
        float[][] loss = {{Float.NaN, 0.1f}, {Float.NaN, 0.1f}};
        assertArrayEquals(new int[]{MemorisationSteps.NEVER, 0}, MemorisationSteps.steps(loss, 1, 1));
        assertEquals(1, MemorisationSteps.eligible(loss));
        assertEquals(1.0, MemorisationSteps.memorisedFraction(loss, MemorisationSteps.steps(loss, 1, 1)));
    }

    @Test
    void singleCheckpointAndBadShapes() {
        assertArrayEquals(new int[]{0, MemorisationSteps.NEVER}, MemorisationSteps.steps(new float[][]{{0.5f, 2f}}, 1, 0.05));
        assertThrows(BadInputException.class, () -> MemorisationSteps.steps(new float[][]{{1f}, {1f, 2f}}, 1, 0.05));
        assertThrows(BadInputException.class, () -> MemorisationSteps.steps(new float[0][], 1, 0.05));
        assertThrows(BadInputException.class, () -> MemorisationSteps.steps(LOSSES, -1, 0.05));
    }

    @Test
    void epsilonSteppedToHitTheTargetBand() {
        EpsilonSelection.Choice c = EpsilonSelection.select(LOSSES, 0.05, 0.2, 0.3);
        assertEquals(0.3, c.epsilon(), "ε = 0.1, 0.2 memorise nobody before the final checkpoint");
        assertTrue(c.inBand());
        assertEquals(0.25, c.memorisedFraction());
        assertEquals(1, c.memorised());
        assertEquals(4, c.eligible());
        // The choice agrees with the steps it implies.
        assertEquals(c.memorisedFraction(), MemorisationSteps.memorisedFraction(LOSSES, MemorisationSteps.steps(LOSSES, c.epsilon(), 0.05)));
        EpsilonSelection.Choice miss = EpsilonSelection.select(LOSSES, 0.05, 0.9, 1.0);
        assertFalse(miss.inBand());
        assertEquals(0.25, miss.memorisedFraction(), "the closest reachable fraction");
        assertEquals(0.3, miss.epsilon(), "the smallest ε reaching it");
    }

    @Test
    void epsilonPicksTheSmallestInBandAndTheCloserSideWhenItJumpsOverTheBand() {
        // 10 samples, stable over the last two checkpoints, final losses 0.15, 0.25, ..., 1.05: at ε = k/10 the
        // fraction is (k - 1) / 10.
        float[][] loss = new float[3][10];
        for (int i = 0; i < 10; i++) {
            loss[0][i] = 9f;
            loss[1][i] = loss[2][i] = 0.15f + 0.1f * i;
        }
        EpsilonSelection.Choice c = EpsilonSelection.select(loss, 0.05);
        assertEquals(0.3, c.epsilon(), 1e-12, "(3-1)/10 = 0.2 is the first in [0.20, 0.25]");
        assertTrue(c.inBand());
        // Band [0.22, 0.28] is jumped over (0.2 -> 0.3): both miss by 0.02; the smaller ε wins the tie.
        EpsilonSelection.Choice jump = EpsilonSelection.select(loss, 0.05, 0.22, 0.28);
        assertFalse(jump.inBand());
        assertEquals(0.3, jump.epsilon(), 1e-12);
        // Band [0.29, 0.35]: 0.3 at ε = 0.4 is in band.
        assertEquals(0.4, EpsilonSelection.select(loss, 0.05, 0.29, 0.35).epsilon(), 1e-12);
        // Band [0.36, 0.39] is jumped over too, but unevenly.
        EpsilonSelection.Choice closer = EpsilonSelection.select(loss, 0.05, 0.36, 0.39);
        assertEquals(0.5, closer.epsilon(), 1e-12, "0.4 (gap 0.01) is closer than 0.3 (gap 0.06)");
        assertThrows(BadInputException.class, () -> EpsilonSelection.select(new float[][]{{1f}}, 0.05));
    }

    @Test
    void groupsByDomainAndStepLeaveOutFinalAndNever() {
        int[] steps = {1, 0, 1, 3, MemorisationSteps.NEVER, 1, 2};
        List<String> domains = Arrays.asList("math", "code", "math", "math", "code", "code", null);
        long[] ckpt = {5000, 125000, 245000, 370000};
        List<MemorisationGroup> groups = MemorisationGroup.of(steps, domains, ckpt);
        assertEquals(4, groups.size());
        assertNull(groups.get(0).domain());
        assertArrayEquals(new int[]{6}, groups.get(0).samples());
        assertEquals("memorised @ step 245000", groups.get(0).label());
        assertEquals("code", groups.get(1).domain());
        assertEquals(5000, groups.get(1).step());
        assertArrayEquals(new int[]{1}, groups.get(1).samples());
        assertEquals("code", groups.get(2).domain());
        assertArrayEquals(new int[]{5}, groups.get(2).samples());
        assertEquals("math", groups.get(3).domain());
        assertEquals(1, groups.get(3).checkpoint());
        assertArrayEquals(new int[]{0, 2}, groups.get(3).samples());
        assertEquals(1, MemorisationGroup.of(new int[]{0, 0}, null, ckpt).size());
        assertTrue(MemorisationGroup.of(new int[0], null, ckpt).isEmpty());
    }
}
