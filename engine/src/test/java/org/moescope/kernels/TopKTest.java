package org.moescope.kernels;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

class TopKTest {
    /** The definition: k rounds of "largest not yet taken, lowest id among equals". */
    private static void reference(float[] p, int n, int k, int[] ids, float[] w) {
        for (int j = 0; j < k; j++) {
            int best = -1;
            for (int e = 0; e < n; e++) {
                boolean taken = false;
                for (int q = 0; q < j; q++) taken |= ids[q] == e;
                if (!taken && (best < 0 || p[e] > p[best])) best = e;
            }
            ids[j] = best;
            w[j] = p[best];
        }
    }

    @Test
    void matchesTheDefinitionWithManyTies() {
        SplittableRandom rnd = new SplittableRandom(3);
        for (int round = 0; round < 2000; round++) {
            int n = 1 + rnd.nextInt(70);
            int k = 1 + rnd.nextInt(n);
            float[] p = new float[n + 2];
            for (int e = 0; e < n; e++) {
                // Few distinct values, so ties are common.
                p[e + 2] = round % 2 == 0 ? rnd.nextInt(5) / 4f : (float) rnd.nextDouble();
            }
            int[] ids = new int[k + 1];
            float[] w = new float[k + 1];
            int[] refIds = new int[k];
            float[] refW = new float[k];
            float[] shifted = java.util.Arrays.copyOfRange(p, 2, n + 2);
            reference(shifted, n, k, refIds, refW);
            TopK.select(p, 2, n, k, ids, w, 1);
            assertArrayEquals(refIds, java.util.Arrays.copyOfRange(ids, 1, k + 1), "round " + round);
            assertArrayEquals(refW, java.util.Arrays.copyOfRange(w, 1, k + 1), "round " + round);
        }
    }
}
