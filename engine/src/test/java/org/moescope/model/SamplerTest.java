package org.moescope.model;

import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.Set;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

class SamplerTest {
    private static Set<Integer> drawn(Sampler s, float[] logits, int draws) {
        Set<Integer> seen = new HashSet<>();
        for (int i = 0; i < draws; i++) seen.add(s.next(logits.clone(), new int[0], 0));
        return seen;
    }

    private static Sampler sampler(float t, int topK, float topP, float minP, float penalty, int valid) {
        return new Sampler(t, topK, topP, minP, penalty, valid, new SplittableRandom(1));
    }

    @Test
    void temperatureZeroIsArgmaxAndIgnoresPaddingRows() {
        float[] logits = {0f, 3f, 1f, 9f};
        assertEquals(3, sampler(0, 0, 1, 0, 1, 4).next(logits.clone(), new int[0], 0));
        assertEquals(1, sampler(0, 0, 1, 0, 1, 3).next(logits.clone(), new int[0], 0), "row 3 is padding");
        assertEquals(Set.of(0, 1, 2), drawn(sampler(50, 0, 1, 0, 1, 3), logits, 2000));
    }

    @Test
    void topKTopPAndMinPCutTheTail() {
        // probabilities at T=1: roughly 0.64, 0.24, 0.09, 0.03
        float[] logits = {3f, 2f, 1f, 0f};
        assertEquals(Set.of(0, 1), drawn(sampler(1, 2, 1, 0, 1, 4), logits, 2000));
        assertEquals(Set.of(0, 1), drawn(sampler(1, 0, 0.8f, 0, 1, 4), logits, 2000));
        assertEquals(Set.of(0), drawn(sampler(1, 0, 0.5f, 0, 1, 4), logits, 2000));
        assertEquals(Set.of(0, 1), drawn(sampler(1, 0, 1, 0.3f, 1, 4), logits, 2000));
        assertEquals(Set.of(0, 1, 2, 3), drawn(sampler(1, 0, 1, 0, 1, 4), logits, 4000));
    }

    @Test
    void repeatPenaltyPushesSeenTokensDown() {
        float[] logits = {2f, 1.5f, -1f};
        Sampler s = sampler(0, 0, 1, 0, 2f, 3);
        assertEquals(1, s.next(logits.clone(), new int[] {0, 0}, 2), "2/2 = 1 < 1.5");
        float[] l = logits.clone();
        s.next(l, new int[] {2}, 1);
        assertEquals(-2f, l[2], "negative logits are multiplied");
    }

    @Test
    void sameSeedSameSequence() {
        float[] logits = {1f, 1.1f, 0.9f, 1.05f, 0.2f};
        int[] a = new int[50], b = new int[50];
        Sampler s1 = sampler(1, 0, 1, 0, 1, 5), s2 = sampler(1, 0, 1, 0, 1, 5);
        for (int i = 0; i < 50; i++) {
            a[i] = s1.next(logits.clone(), new int[0], 0);
            b[i] = s2.next(logits.clone(), new int[0], 0);
        }
        assertArrayEquals(a, b);
    }
}
