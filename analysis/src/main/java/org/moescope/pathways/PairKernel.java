package org.moescope.pathways;

/**
 * Computes Levenshtein distances from a few patterns ("lanes") to one text at a time. The group metrics load a set
 * of patterns once and stream many texts past them. Two implementations: {@link VectorPairKernel} runs the
 * bit-parallel algorithm for several patterns at once in SIMD lanes (jdk.incubator.vector), {@link ScalarPairKernel}
 * runs one pattern with plain longs, for JVMs started without the incubator module.
 */
abstract class PairKernel {
    private static final boolean VECTOR_MODULE = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();

    /**
     * A kernel for symbols in [0, sigma) and patterns of at most maxLength symbols. The SIMD kernel is used when the
     * JVM has the incubator module and the preferred vector holds at least two longs.
     */
    static PairKernel create(int sigma, int maxLength, boolean allowVector) {
        if (allowVector && VECTOR_MODULE && VectorPairKernel.preferredLanes() >= 2) {
            return new VectorPairKernel(sigma, maxLength);
        }
        return new ScalarPairKernel(sigma, maxLength);
    }

    static boolean vectorAvailable() {
        return VECTOR_MODULE && VectorPairKernel.preferredLanes() >= 2;
    }

    /** How many patterns one {@link #load} takes. */
    abstract int lanes();

    /**
     * Loads patterns {@code codes[indices[from + l]]} for l < count (count ≤ lanes); lanes from count on hold the empty
     * pattern.
     */
    abstract void load(int[][] codes, int[] indices, int from, int count);

    /** {@code out[l]} = distance from loaded pattern l to text, for every lane. */
    abstract void distances(int[] text, int[] out);

    /** Both texts against the loaded patterns; same as two {@link #distances(int[], int[])} calls. */
    void distances(int[] textA, int[] textB, int[] outA, int[] outB) {
        distances(textA, outA);
        distances(textB, outB);
    }
}
