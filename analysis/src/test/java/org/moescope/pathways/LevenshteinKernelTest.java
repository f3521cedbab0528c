package org.moescope.pathways;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/** The bit-parallel kernels against the plain dynamic programme, at the word-boundary lengths. */
class LevenshteinKernelTest {
    private static final int[] LENGTHS = {0, 1, 2, 63, 64, 65, 127, 128, 129, 191, 500};

    @Test
    void handWorked() {
        assertEquals(3, Levenshtein.dynamicProgramme(codes("kitten"), codes("sitting")));
        assertEquals(3, Levenshtein.bitParallel(codes("kitten"), codes("sitting"), 128));
        assertEquals(0, Levenshtein.bitParallel(codes(""), codes(""), 128));
        assertEquals(4, Levenshtein.bitParallel(codes("abcd"), codes(""), 128));
        assertEquals(4, Levenshtein.bitParallel(codes(""), codes("abcd"), 128));
    }

    @Test
    void laneKernelsMatchTheDynamicProgramme() {
        SplittableRandom rnd = new SplittableRandom(11);
        for (boolean vector : new boolean[]{false, true}) {
            for (int rep = 0; rep < 6; rep++) {
                int sigma = rep < 3 ? 12 : 2 + rnd.nextInt(60); // characters, or expert ids
                int[][] patterns = new int[LENGTHS.length][];
                for (int i = 0; i < LENGTHS.length; i++) patterns[i] = random(rnd, LENGTHS[i], sigma);
                PairKernel kernel = PairKernel.create(sigma, 500, vector);
                int lanes = kernel.lanes();
                int[] order = new int[patterns.length];
                for (int i = 0; i < order.length; i++) order[i] = (i * 7 + rep) % order.length; // mix lengths in a load
                int[] out = new int[lanes], out2 = new int[lanes];
                for (int from = 0; from < order.length; from += lanes) {
                    int count = Math.min(lanes, order.length - from);
                    kernel.load(patterns, order, from, count);
                    for (int lt : LENGTHS) {
                        int[] text = random(rnd, lt, sigma);
                        int[] text2 = random(rnd, LENGTHS[rnd.nextInt(LENGTHS.length)], sigma);
                        kernel.distances(text, out);
                        for (int l = 0; l < count; l++) {
                            assertEquals(Levenshtein.dynamicProgramme(patterns[order[from + l]], text), out[l]);
                        }
                        for (int l = count; l < lanes; l++) assertEquals(text.length, out[l], "empty lane");
                        kernel.distances(text, text2, out, out2);
                        for (int l = 0; l < count; l++) {
                            int[] p = patterns[order[from + l]];
                            assertEquals(Levenshtein.dynamicProgramme(p, text), out[l], "two-text call, first");
                            assertEquals(Levenshtein.dynamicProgramme(p, text2), out2[l], "two-text call, second");
                        }
                    }
                }
            }
        }
    }

    @Test
    void singlePairBitParallelOnManyRandomStrings() {
        SplittableRandom rnd = new SplittableRandom(12);
        for (int rep = 0; rep < 400; rep++) {
            int sigma = 1 + rnd.nextInt(12);
            int[] a = random(rnd, rnd.nextInt(200), sigma);
            int[] b = rnd.nextBoolean() ? mutate(rnd, a, sigma) : random(rnd, rnd.nextInt(200), sigma);
            assertEquals(Levenshtein.dynamicProgramme(a, b), Levenshtein.bitParallel(a, b, sigma));
        }
    }

    static int[] random(SplittableRandom rnd, int n, int sigma) {
        return rnd.ints(n, 0, sigma).toArray();
    }

    /** A few random edits of a, so distances are small as well as large. */
    static int[] mutate(SplittableRandom rnd, int[] a, int sigma) {
        int[] b = a.clone();
        for (int e = rnd.nextInt(5); e > 0 && b.length > 0; e--) b[rnd.nextInt(b.length)] = rnd.nextInt(sigma);
        return b;
    }

    private static int[] codes(String s) {
        return s.chars().toArray();
    }
}
