package org.moescope.pathways;

import org.junit.jupiter.api.Test;
import org.moescope.errors.BadInputException;

import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

class GroupDistancesTest {
    private static final GroupDistances.Options OPTS = GroupDistances.Options.defaults();

    @Test
    void handWorkedGroupOfThree() {
        List<Pathway> g = List.of(Pathway.parse("1,2-3"), Pathway.parse("1,2-4"), Pathway.parse("2,1-3"));
        // characters: "1,2-3" vs "1,2-4" = 1; vs "2,1-3" = 2; "1,2-4" vs "2,1-3" = 3. Mean 2.
        GroupDistances.Result r = GroupDistances.within(g, DistanceKind.CHARACTER, OPTS);
        assertEquals(3, r.totalPairs());
        assertEquals(3, r.pairsUsed());
        assertTrue(r.exact());
        assertEquals(2.0, r.mean(), 1e-12);
        assertEquals(1.0, r.standardDeviation(), 1e-12);
        assertEquals(0.0, r.standardError());
        assertEquals(DistanceKind.CHARACTER, r.kind());
        // normalised: every text has 5 characters
        assertEquals(2.0 / 5, GroupDistances.within(g, DistanceKind.CHARACTER_NORMALISED, OPTS).mean(), 1e-12);
        // experts: 1 2 - 3 | 1 2 - 4 | 2 1 - 3 -> 1, 2, 3
        assertEquals(2.0, GroupDistances.within(g, DistanceKind.EXPERT, OPTS).mean(), 1e-12);
        assertEquals(0.5, GroupDistances.within(g, DistanceKind.EXPERT_NORMALISED, OPTS).mean(), 1e-12);
    }

    @Test
    void emptyAndSingletonGroupsHaveNoPairs() {
        for (List<Pathway> g : List.of(List.<Pathway>of(), List.of(Pathway.parse("1")))) {
            GroupDistances.Result r = GroupDistances.within(g, DistanceKind.CHARACTER, OPTS);
            assertEquals(0, r.pairsUsed());
            assertTrue(Double.isNaN(r.mean()));
        }
        assertTrue(Double.isNaN(GroupDistances.between(List.of(), List.of(Pathway.parse("1")), DistanceKind.EXPERT, OPTS).mean()));
        GroupDistances.Result two = GroupDistances.within(List.of(Pathway.parse("1"), Pathway.parse("22")),
                DistanceKind.CHARACTER, OPTS);
        assertEquals(2.0, two.mean());
        assertTrue(Double.isNaN(two.standardDeviation()), "one pair has no spread");
    }

    @Test
    void exactMeanEqualsBruteForceForEveryKindKernelAndThreadCount() {
        List<Pathway> ps = PathwayTest.randomPathways(new SplittableRandom(21), 37);
        for (DistanceKind kind : DistanceKind.values()) {
            double brute = 0;
            for (int i = 0; i < ps.size(); i++) {
                for (int j = i + 1; j < ps.size(); j++) brute += GroupDistances.distance(ps.get(i), ps.get(j), kind);
            }
            brute /= 37 * 36 / 2;
            for (int threads : new int[]{1, 3}) {
                for (boolean vector : new boolean[]{false, true}) {
                    GroupDistances.Result r = GroupDistances.within(ps, kind, OPTS.withThreads(threads).withVector(vector));
                    assertEquals(brute, r.mean(), 1e-9, kind + " threads=" + threads + " vector=" + vector);
                }
            }
        }
    }

    @Test
    void betweenGroupsEqualsBruteForceExactAndSampled() {
        SplittableRandom rnd = new SplittableRandom(22);
        List<Pathway> a = PathwayTest.randomPathways(rnd, 23), b = PathwayTest.randomPathways(rnd, 31);
        double brute = 0;
        for (Pathway x : a) for (Pathway y : b) brute += GroupDistances.distance(x, y, DistanceKind.CHARACTER);
        brute /= 23 * 31;
        GroupDistances.Result exact = GroupDistances.between(a, b, DistanceKind.CHARACTER, OPTS);
        assertTrue(exact.exact());
        assertEquals(713, exact.pairsUsed());
        assertEquals(brute, exact.mean(), 1e-9);
        GroupDistances.Result sampled = GroupDistances.between(a, b, DistanceKind.CHARACTER, OPTS.withMaxPairs(300).withSeed(4));
        assertEquals(300, sampled.pairsUsed());
        assertEquals(brute, sampled.mean(), 4 * sampled.standardError());
    }

    @Test
    void sampledMeanIsWithinAFewStandardErrorsAndDeterministic() {
        List<Pathway> ps = PathwayTest.randomPathways(new SplittableRandom(23), 120); // 7140 pairs
        GroupDistances.Result exact = GroupDistances.within(ps, DistanceKind.EXPERT, OPTS);
        int within = 0;
        for (long seed = 0; seed < 20; seed++) {
            GroupDistances.Result s = GroupDistances.within(ps, DistanceKind.EXPERT, OPTS.withMaxPairs(700).withSeed(seed));
            assertFalse(s.exact());
            assertEquals(700, s.pairsUsed());
            assertTrue(s.standardError() > 0 && s.standardError() < s.standardDeviation() / Math.sqrt(700));
            assertEquals(exact.mean(), s.mean(), 5 * s.standardError(), "seed " + seed);
            if (Math.abs(s.mean() - exact.mean()) <= 2 * s.standardError()) within++;
            GroupDistances.Result again = GroupDistances.within(ps, DistanceKind.EXPERT,
                    OPTS.withMaxPairs(700).withSeed(seed).withThreads(1).withVector(false));
            assertEquals(s.mean(), again.mean(), 0.0, "seeded: identical whatever the threads and kernel");
        }
        assertTrue(within >= 15, "about 95% of estimates fall within 2 SE; got " + within + "/20");
        assertNotEquals(GroupDistances.within(ps, DistanceKind.EXPERT, OPTS.withMaxPairs(700).withSeed(1)).mean(),
                GroupDistances.within(ps, DistanceKind.EXPERT, OPTS.withMaxPairs(700).withSeed(2)).mean());
    }

    @Test
    void samplerDrawsDistinctPairsInRange() {
        long[] s = GroupDistances.sample(1000, OPTS.withMaxPairs(999).withSeed(5));
        assertEquals(999, s.length);
        for (int i = 1; i < s.length; i++) assertTrue(s[i] > s[i - 1]);
        assertTrue(s[0] >= 0 && s[s.length - 1] < 1000);
        assertThrows(BadInputException.class, () -> OPTS.withMaxPairs(0));
    }

    @Test
    void sparseExpertIdsAreRenumbered() {
        // ids up to 900 would need 902 match tables; the encoder keeps only the used ones. Distances are unchanged.
        List<Pathway> g = List.of(Pathway.parse("900,3-7"), Pathway.parse("3,900-7"), Pathway.parse("900-7,3"));
        assertEquals((2 + 2 + 2) / 3.0, GroupDistances.within(g, DistanceKind.EXPERT, OPTS).mean(), 1e-12);
    }
}
