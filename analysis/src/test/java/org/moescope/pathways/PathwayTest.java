package org.moescope.pathways;

import org.junit.jupiter.api.Test;
import org.moescope.errors.BadInputException;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

class PathwayTest {
    @Test
    void keepsExpertsUntilTheRunningSumExceedsTau() {
        // layer 0: 0.5 + 0.2 == 0.7 does not exceed 0.7, so the third expert (0.2, tie broken to the lower id) is kept.
        // layer 1: 0.8 alone exceeds 0.7.
        float[][] probs = {{0.05f, 0.2f, 0.5f, 0.2f, 0.05f}, {0.05f, 0.05f, 0.05f, 0.05f, 0.8f}};
        Pathway p = Pathway.fromRouting(probs, 0.7);
        assertEquals("2,1,3-4", p.text());
        assertEquals(2.0, p.meanExpertsPerLayer());
        assertEquals(p, Pathway.parse("2,1,3-4"));
    }

    @Test
    void oneLayerAndTauOne() {
        Pathway p = Pathway.fromRouting(new float[][] {{0.25f, 0.25f, 0.25f, 0.25f}}, 1.0);
        assertEquals("0,1,2,3", p.text(), "a sum that never exceeds tau keeps every expert");
        assertThrows(BadInputException.class, () -> Pathway.fromRouting(new float[][] {{1f}}, 0));
        assertThrows(BadInputException.class, () -> Pathway.parse("1,,2"));
    }

    @Test
    void distancesAtCharacterAndExpertLevel() {
        Pathway a = Pathway.parse("3,1,5-9,1");
        Pathway b = Pathway.parse("3,1-9,12");
        // characters: "3,1,5-9,1" -> "3,1-9,12": delete ",5", insert "2" = 3
        assertEquals(3, GroupDistances.distance(a, b, DistanceKind.CHARACTER));
        // experts: 3 1 5 - 9 1 -> 3 1 - 9 12: delete 5, substitute 1 -> 12 = 2
        assertEquals(2, GroupDistances.distance(a, b, DistanceKind.EXPERT));
        assertEquals(3.0 / 9, GroupDistances.distance(a, b, DistanceKind.CHARACTER_NORMALISED), 1e-12);
        assertEquals(0, GroupDistances.distance(a, a, DistanceKind.CHARACTER));
    }

    @Test
    void bitParallelEqualsPlainDynamicProgrammeOnAwkwardLengths() {
        SplittableRandom rnd = new SplittableRandom(5);
        int[] lengths = {0, 1, 2, 63, 64, 65, 127, 128, 129, 500};
        for (int la : lengths) {
            for (int lb : lengths) {
                for (int rep = 0; rep < 3; rep++) {
                    int sigma = 2 + rnd.nextInt(11);
                    int[] a = rnd.ints(la, 0, sigma).toArray();
                    int[] b = rnd.ints(lb, 0, sigma).toArray();
                    assertEquals(Levenshtein.dynamicProgramme(a, b), Levenshtein.bitParallel(a, b, sigma), la + "x" + lb);
                }
            }
        }
    }

    @Test
    void metricProperties() {
        SplittableRandom rnd = new SplittableRandom(9);
        List<Pathway> ps = randomPathways(rnd, 30);
        for (Pathway x : ps) {
            for (Pathway y : ps) {
                double dxy = GroupDistances.distance(x, y, DistanceKind.CHARACTER);
                assertEquals(dxy, GroupDistances.distance(y, x, DistanceKind.CHARACTER), "symmetry");
                assertEquals(x.equals(y), dxy == 0, "zero iff equal");
                for (int k = 0; k < 5; k++) {
                    Pathway z = ps.get(rnd.nextInt(ps.size()));
                    assertTrue(dxy <= GroupDistances.distance(x, z, DistanceKind.CHARACTER)
                            + GroupDistances.distance(z, y, DistanceKind.CHARACTER), "triangle inequality");
                }
            }
        }
    }

    @Test
    void groupMeanExactAndSampledAgreeAndSampledIsSeeded() {
        SplittableRandom rnd = new SplittableRandom(3);
        List<Pathway> ps = randomPathways(rnd, 80); // 3160 pairs
        var opts = GroupDistances.Options.defaults();
        GroupDistances.Result exact = GroupDistances.within(ps, DistanceKind.CHARACTER, opts);
        double brute = 0;
        for (int i = 0; i < ps.size(); i++) {
            for (int j = i + 1; j < ps.size(); j++) brute += GroupDistances.distance(ps.get(i), ps.get(j), DistanceKind.CHARACTER);
        }
        assertTrue(exact.exact());
        assertEquals(3160, exact.pairsUsed());
        assertEquals(brute / 3160, exact.mean(), 1e-9);
        GroupDistances.Result sampled = GroupDistances.within(ps, DistanceKind.CHARACTER, opts.withMaxPairs(500).withSeed(7));
        assertFalse(sampled.exact());
        assertEquals(500, sampled.pairsUsed());
        assertTrue(sampled.standardError() > 0);
        assertEquals(exact.mean(), sampled.mean(), 4 * sampled.standardError());
        GroupDistances.Result again = GroupDistances.within(ps, DistanceKind.CHARACTER, opts.withMaxPairs(500).withSeed(7).withThreads(1));
        assertEquals(sampled.mean(), again.mean(), "same seed, same estimate, whatever the thread count");
        GroupDistances.Result scalar = GroupDistances.within(ps, DistanceKind.CHARACTER, opts.withVector(false));
        assertEquals(exact.mean(), scalar.mean(), 1e-12);
        assertTrue(Double.isNaN(GroupDistances.within(ps.subList(0, 1), DistanceKind.CHARACTER, opts).mean()), "one sample has no pair");
        assertTrue(Double.isNaN(GroupDistances.within(List.of(), DistanceKind.EXPERT, opts).mean()));
    }

    static List<Pathway> randomPathways(SplittableRandom rnd, int n) {
        List<Pathway> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            float[][] probs = new float[4][16];
            for (float[] layer : probs) {
                double sum = 0;
                for (int k = 0; k < layer.length; k++) {
                    layer[k] = (float) Math.pow(rnd.nextDouble(), 4);
                    sum += layer[k];
                }
                for (int k = 0; k < layer.length; k++) layer[k] /= (float) sum;
            }
            out.add(Pathway.fromRouting(probs, 0.7));
        }
        return out;
    }
}
