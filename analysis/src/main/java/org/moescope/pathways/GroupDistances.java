package org.moescope.pathways;

import org.moescope.errors.BadInputException;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.random.RandomGenerator;
import java.util.random.RandomGeneratorFactory;

/**
 * Mean pairwise pathway distance of a group (paper Sec. 4.1): the mean over all unordered pairs {i, j}, i ≠ j, of
 * the group, exact when the group has at most {@code maxPairs} pairs, otherwise estimated from a seeded uniform
 * sample of {@code maxPairs} distinct pairs and reported with its standard error. Also the mean over pairs across two
 * groups (the paper's cross-domain control, App. E.4).
 *
 * <p>The result does not depend on the number of threads: work is split into fixed units whose partial sums are added
 * in unit order.
 */
public final class GroupDistances {
    /** Default pair budget before sampling kicks in ({@code --max-pairs}). */
    public static final long DEFAULT_MAX_PAIRS = 1_000_000L;
    /** The most pairs a sample may hold (the sampler keeps them all in memory, 8 bytes each). */
    public static final long MAX_SAMPLED_PAIRS = 50_000_000L;

    private GroupDistances() {}

    /**
     * @param maxPairs  exact computation up to this many pairs; above it, this many distinct pairs are sampled
     * @param seed      seed of the pair sampler (L64X128MixRandom), so a sampled estimate is reproducible
     * @param threads   worker threads (the machine's cores by default)
     * @param useVector use the SIMD kernel when the JVM has jdk.incubator.vector (tests turn it off to check the
     *                  scalar kernel)
     */
    public record Options(long maxPairs, long seed, int threads, boolean useVector) {
        public Options {
            if (maxPairs < 1) throw new BadInputException("max-pairs must be at least 1, got " + maxPairs);
            if (threads < 1) throw new BadInputException("threads must be at least 1, got " + threads);
        }

        public static Options defaults() {
            return new Options(DEFAULT_MAX_PAIRS, 0L, Runtime.getRuntime().availableProcessors(), true);
        }

        public Options withMaxPairs(long value) {
            return new Options(value, seed, threads, useVector);
        }

        public Options withSeed(long value) {
            return new Options(maxPairs, value, threads, useVector);
        }

        public Options withThreads(int value) {
            return new Options(maxPairs, seed, value, useVector);
        }

        public Options withVector(boolean value) {
            return new Options(maxPairs, seed, threads, value);
        }
    }

    /**
     * A group's mean pairwise distance.
     *
     * @param kind              which distance the numbers hold
     * @param totalPairs        pairs in the group (n(n-1)/2 within a group, |A|·|B| across two)
     * @param pairsUsed         pairs actually measured
     * @param exact             true when every pair was measured
     * @param mean              mean distance over the measured pairs; NaN when there is no pair (a group of 0 or 1)
     * @param standardDeviation sample standard deviation (n-1) of the measured distances; NaN below two pairs
     * @param standardError     0 when exact; else the standard error of the sampled mean, sd/√n times the finite
     *                          population correction √((N-n)/(N-1)) because pairs are drawn without replacement
     */
    public record Result(DistanceKind kind, long totalPairs, long pairsUsed, boolean exact, double mean,
                         double standardDeviation, double standardError) {}

    /** Mean distance over the unordered pairs of one group. */
    public static Result within(List<Pathway> group, DistanceKind kind, Options options) {
        Encoded enc = Encoded.of(group, List.of(), kind.unit());
        int n = group.size();
        long total = (long) n * (n - 1) / 2;
        if (total == 0) return new Result(kind, 0, 0, true, Double.NaN, Double.NaN, 0.0);
        Work work = total <= options.maxPairs()
                ? new AllPairs(enc, probeLanes(enc, options))
                : SampledPairs.within(enc, n, sample(total, options), probeLanes(enc, options));
        return run(work, enc, kind, total, options);
    }

    /** Mean distance over the pairs (a, b), a from the first group and b from the second. */
    public static Result between(List<Pathway> first, List<Pathway> second, DistanceKind kind, Options options) {
        Encoded enc = Encoded.of(first, second, kind.unit());
        long total = (long) first.size() * second.size();
        if (total == 0) return new Result(kind, 0, 0, true, Double.NaN, Double.NaN, 0.0);
        Work work = total <= options.maxPairs()
                ? new AllCross(enc, first.size(), probeLanes(enc, options))
                : SampledPairs.between(enc, first.size(), second.size(), sample(total, options), probeLanes(enc, options));
        return run(work, enc, kind, total, options);
    }

    /** Distance between two pathways. */
    public static double distance(Pathway a, Pathway b, DistanceKind kind) {
        Encoded enc = Encoded.of(List.of(a, b), List.of(), kind.unit());
        int d = Levenshtein.bitParallel(enc.codes[0], enc.codes[1], enc.sigma);
        return enc.value(d, 0, 1, kind.normalised());
    }

    static double normalise(int distance, int lengthA, int lengthB) {
        int longer = Math.max(lengthA, lengthB);
        return longer == 0 ? 0.0 : (double) distance / longer;
    }

    private static int probeLanes(Encoded enc, Options options) {
        return PairKernel.create(enc.sigma, 0, options.useVector()).lanes();
    }

    /** Distinct pair indices in [0, population), uniformly drawn, sorted ascending. */
    static long[] sample(long population, Options options) {
        long count = options.maxPairs();
        if (count > MAX_SAMPLED_PAIRS) {
            throw new BadInputException("max-pairs " + count + " is more than " + MAX_SAMPLED_PAIRS
                    + " pairs, too many to sample; lower it");
        }
        RandomGenerator rng = RandomGeneratorFactory.of("L64X128MixRandom").create(options.seed());
        long[] s = new long[(int) count];
        if (population <= 8 * count) {
            // Dense: Knuth's selection sampling (Algorithm S) visits the population once and keeps each item with
            // probability (still needed) / (still left): a uniform subset, in increasing order, in O(population).
            // Draw-and-deduplicate would need many rounds here, the last few repeats being hard to replace.
            int have = 0;
            for (long t = 0; have < s.length; t++) {
                if ((double) (population - t) * rng.nextDouble() < s.length - have) s[have++] = t;
            }
            return s;
        }
        int have = 0;
        // Sparse: draw, sort, drop repeats, top up: the resulting set is invariant under relabelling the population,
        // so it is a uniform subset of the requested size; few repeats occur, so one or two rounds suffice.
        while (have < s.length) {
            for (int i = have; i < s.length; i++) s[i] = rng.nextLong(population);
            Arrays.sort(s);
            int w = 0;
            for (int r = 0; r < s.length; r++) if (w == 0 || s[r] != s[w - 1]) s[w++] = s[r];
            have = w;
        }
        return s;
    }

    // ---- encoding ---------------------------------------------------------------------------------------------

    /** Symbol sequences of both groups with dense codes in [0, sigma): first group first, then the second. */
    private record Encoded(int[][] codes, int sigma, int maxLength) {
        static Encoded of(List<Pathway> first, List<Pathway> second, DistanceKind.Unit unit) {
            int[][] codes = new int[first.size() + second.size()][];
            int i = 0;
            for (Pathway p : first) codes[i++] = p.symbols(unit);
            for (Pathway p : second) codes[i++] = p.symbols(unit);
            int maxSymbol = -1, maxLength = 0;
            for (int[] c : codes) {
                maxLength = Math.max(maxLength, c.length);
                for (int s : c) maxSymbol = Math.max(maxSymbol, s);
            }
            // Expert ids can be sparse (a parsed "900"): renumber the used symbols so the match tables stay small.
            int[] dense = new int[maxSymbol + 1];
            Arrays.fill(dense, -1);
            int sigma = 0;
            for (int[] c : codes) for (int s : c) if (dense[s] < 0) dense[s] = sigma++;
            for (int k = 0; k < codes.length; k++) {
                int[] c = codes[k].clone();
                for (int r = 0; r < c.length; r++) c[r] = dense[c[r]];
                codes[k] = c;
            }
            return new Encoded(codes, Math.max(1, sigma), maxLength);
        }

        double value(int distance, int a, int b, boolean normalised) {
            return normalised ? normalise(distance, codes[a].length, codes[b].length) : distance;
        }
    }

    // ---- work units ---------------------------------------------------------------------------------------------

    /** A fixed split of the pairs into units; each unit loads one set of patterns and streams texts past it. */
    private interface Work {
        int units();

        /** Measures the unit's pairs and adds them to acc (sum, sum of squares, count). */
        void run(int unit, PairKernel kernel, int[] out, int[] out2, Encoded enc, boolean normalised, double[] acc);
    }

    /**
     * Every pair of one group. Strings are ordered by length so a unit's lanes have similar block counts; unit u
     * loads sorted positions [u·lanes, u·lanes + lanes) as patterns and takes every later position as text.
     */
    private static final class AllPairs implements Work {
        private final int[] order;
        private final int lanes;

        AllPairs(Encoded enc, int lanes) {
            this.order = new int[enc.codes.length];
            for (int i = 0; i < order.length; i++) order[i] = i;
            sortByLength(order, 0, order.length, enc);
            this.lanes = lanes;
        }

        @Override
        public int units() {
            return (order.length + lanes - 1) / lanes;
        }

        @Override
        public void run(int unit, PairKernel kernel, int[] out, int[] out2, Encoded enc, boolean normalised, double[] acc) {
            int first = unit * lanes;
            int count = Math.min(lanes, order.length - first);
            kernel.load(enc.codes, order, first, count);
            int t = first + 1;
            for (; t + 1 < order.length; t += 2) {
                kernel.distances(enc.codes[order[t]], enc.codes[order[t + 1]], out, out2);
                collect(t, out, enc, normalised, acc, first, count);
                collect(t + 1, out2, enc, normalised, acc, first, count);
            }
            if (t < order.length) {
                kernel.distances(enc.codes[order[t]], out);
                collect(t, out, enc, normalised, acc, first, count);
            }
        }

        /** Lane l holds sorted position first + l; only pairs with that position before t are new. */
        private void collect(int t, int[] out, Encoded enc, boolean normalised, double[] acc, int first, int count) {
            for (int l = 0; l < count && first + l < t; l++) {
                add(acc, enc.value(out[l], order[first + l], order[t], normalised));
            }
        }
    }

    /**
     * Every pair across two groups: unit u loads the second group's length-sorted strings [u·lanes, u·lanes + lanes)
     * as patterns and takes every string of the first group as text.
     */
    private static final class AllCross implements Work {
        private final int[] patterns; // second-group code indices, sorted by length
        private final int sizeA;
        private final int lanes;

        AllCross(Encoded enc, int sizeA, int lanes) {
            this.patterns = new int[enc.codes.length - sizeA];
            for (int i = 0; i < patterns.length; i++) patterns[i] = sizeA + i;
            sortByLength(patterns, 0, patterns.length, enc);
            this.sizeA = sizeA;
            this.lanes = lanes;
        }

        @Override
        public int units() {
            return (patterns.length + lanes - 1) / lanes;
        }

        @Override
        public void run(int unit, PairKernel kernel, int[] out, int[] out2, Encoded enc, boolean normalised, double[] acc) {
            int first = unit * lanes;
            int count = Math.min(lanes, patterns.length - first);
            kernel.load(enc.codes, patterns, first, count);
            int text = 0;
            for (; text + 1 < sizeA; text += 2) {
                kernel.distances(enc.codes[text], enc.codes[text + 1], out, out2);
                for (int l = 0; l < count; l++) add(acc, enc.value(out[l], patterns[first + l], text, normalised));
                for (int l = 0; l < count; l++) add(acc, enc.value(out2[l], patterns[first + l], text + 1, normalised));
            }
            if (text < sizeA) {
                kernel.distances(enc.codes[text], out);
                for (int l = 0; l < count; l++) add(acc, enc.value(out[l], patterns[first + l], text, normalised));
            }
        }
    }

    /** Sorts a[from, to) by (code length, index). */
    private static void sortByLength(int[] a, int from, int to, Encoded enc) {
        long[] keys = new long[to - from];
        for (int r = from; r < to; r++) keys[r - from] = ((long) enc.codes[a[r]].length << 32) | a[r];
        Arrays.sort(keys);
        for (int r = from; r < to; r++) a[r] = (int) keys[r - from];
    }

    /** An explicit list of pairs grouped by text: unit u is one text and up to lanes patterns. */
    private static final class SampledPairs implements Work {
        private final int[] text;     // (units) text index
        private final int[] start;    // (units + 1) unit u's patterns are patterns[start[u] .. start[u+1])
        private final int[] patterns; // (pairs) pattern index

        private SampledPairs(int[] text, int[] start, int[] patterns) {
            this.text = text;
            this.start = start;
            this.patterns = patterns;
        }

        /** Sorted pair indices k = j(j-1)/2 + i (0 ≤ i < j < n) of one group: text j, pattern i. */
        static SampledPairs within(Encoded enc, int n, long[] picked, int lanes) {
            int[] textOf = new int[picked.length];
            int[] patternOf = new int[picked.length];
            for (int p = 0; p < picked.length; p++) {
                long k = picked[p];
                long j = (long) ((1 + Math.sqrt(1 + 8.0 * k)) / 2);
                while (j * (j - 1) / 2 > k) j--;
                while ((j + 1) * j / 2 <= k) j++;
                textOf[p] = (int) j;
                patternOf[p] = (int) (k - j * (j - 1) / 2);
            }
            return build(enc, textOf, patternOf, lanes);
        }

        /** Sorted pair indices k = a·|B| + b across two groups: text a, pattern b. */
        static SampledPairs between(Encoded enc, int sizeA, int sizeB, long[] picked, int lanes) {
            int[] textOf = new int[picked.length];
            int[] patternOf = new int[picked.length];
            for (int p = 0; p < picked.length; p++) {
                long k = picked[p];
                textOf[p] = (int) (k / sizeB);
                patternOf[p] = sizeA + (int) (k % sizeB); // second group's codes follow the first's
            }
            return build(enc, textOf, patternOf, lanes);
        }

        /** textOf must be non-decreasing. Within a text, patterns are sorted by length so lanes pad little. */
        private static SampledPairs build(Encoded enc, int[] textOf, int[] patternOf, int lanes) {
            List<int[]> units = new ArrayList<>(); // {text, from, to}
            int p = 0;
            while (p < textOf.length) {
                int q = p;
                while (q < textOf.length && textOf[q] == textOf[p]) q++;
                sortByLength(patternOf, p, q, enc);
                for (int s = p; s < q; s += lanes) units.add(new int[]{textOf[p], s, Math.min(q, s + lanes)});
                p = q;
            }
            int[] text = new int[units.size()];
            int[] start = new int[units.size() + 1];
            for (int u = 0; u < units.size(); u++) {
                text[u] = units.get(u)[0];
                start[u] = units.get(u)[1];
            }
            start[units.size()] = patternOf.length;
            return new SampledPairs(text, start, patternOf);
        }

        @Override
        public int units() {
            return text.length;
        }

        @Override
        public void run(int unit, PairKernel kernel, int[] out, int[] out2, Encoded enc, boolean normalised, double[] acc) {
            int from = start[unit], count = start[unit + 1] - from;
            kernel.load(enc.codes, patterns, from, count);
            kernel.distances(enc.codes[text[unit]], out);
            for (int l = 0; l < count; l++) add(acc, enc.value(out[l], patterns[from + l], text[unit], normalised));
        }
    }

    private static void add(double[] acc, double value) {
        acc[0] += value;
        acc[1] += value * value;
        acc[2] += 1;
    }

    // ---- driver ---------------------------------------------------------------------------------------------------

    private static Result run(Work work, Encoded enc, DistanceKind kind, long total, Options options) {
        int units = work.units();
        double[] partial = new double[3 * units]; // (units, 3) sum, sum of squares, count
        AtomicInteger next = new AtomicInteger();
        Runnable worker = () -> {
            PairKernel kernel = PairKernel.create(enc.sigma, enc.maxLength, options.useVector());
            int[] out = new int[kernel.lanes()], out2 = new int[kernel.lanes()];
            double[] acc = new double[3];
            for (int u; (u = next.getAndIncrement()) < units; ) {
                acc[0] = acc[1] = acc[2] = 0;
                work.run(u, kernel, out, out2, enc, kind.normalised(), acc);
                System.arraycopy(acc, 0, partial, 3 * u, 3);
            }
        };
        int threads = Math.min(options.threads(), Math.max(1, units));
        if (threads == 1) {
            worker.run();
        } else {
            Thread[] pool = new Thread[threads];
            Throwable[] failure = new Throwable[1];
            for (int t = 0; t < threads; t++) {
                pool[t] = Thread.ofPlatform().name("pathway-distances-" + t).start(() -> {
                    try {
                        worker.run();
                    } catch (Throwable e) {
                        synchronized (failure) {
                            if (failure[0] == null) failure[0] = e;
                        }
                        next.set(units); // stop the others early
                    }
                });
            }
            for (Thread t : pool) {
                try {
                    t.join();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted while measuring pathway distances", e);
                }
            }
            if (failure[0] instanceof RuntimeException re) throw re;
            if (failure[0] instanceof Error err) throw err;
        }
        double sum = 0, sumSq = 0, count = 0;
        for (int u = 0; u < units; u++) {
            sum += partial[3 * u];
            sumSq += partial[3 * u + 1];
            count += partial[3 * u + 2];
        }
        long used = (long) count;
        double mean = sum / count;
        double variance = used > 1 ? Math.max(0, (sumSq - sum * mean) / (count - 1)) : Double.NaN;
        double sd = Math.sqrt(variance);
        boolean exact = used == total;
        double se = exact ? 0.0 : sd / Math.sqrt(count) * Math.sqrt((double) (total - used) / (total - 1));
        return new Result(kind, total, used, exact, mean, sd, se);
    }
}
