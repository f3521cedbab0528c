package org.moescope.model;

import org.moescope.checkpoint.Checkpoint;

/**
 * What trace, generate and bench need from a loaded MoE checkpoint, whatever runs it: {@link MoeTransformer} on the CPU
 * (Vector API) or a GPU backend found through {@link org.moescope.backend.Backend}. Both compute the same forward pass
 * (see MoeTransformer) and report the same routes; logits may differ by float rounding.
 */
public interface MoeModel extends AutoCloseable {
    ModelConfig config();

    Checkpoint checkpoint();

    /**
     * How the checkpoint stores its routed experts' weights, for reports: "bfloat16", "q8_0" (an I8 + scales
     * checkpoint or a GGUF Q8_0 file alike), "q4_k+q6_k" for a mix (most bytes first); see Weight.storage.
     */
    String weightStorage();

    /** Where the forward pass runs, for reports: "cpu", or the GPU backend and its device. */
    default String backend() {
        return "cpu";
    }

    /** A sequence being decoded: its KV cache (wherever the backend keeps it) and length. Capacity is fixed. */
    interface Session {
        int length();

        int capacity();
    }

    Session newSession(int capacity);

    /** Which positions of a call need logits. */
    enum Logits { NONE, LAST, ALL }

    /**
     * Runs {@code tokens} at positions session.length() onward and appends them to the session's KV cache.
     *
     * @param s a session from this model's {@link #newSession}
     * @return logits, (tokens, vocab) for ALL, (vocab) for LAST, null for NONE
     */
    float[] forward(Session s, int[] tokens, Logits want, RouteRecorder recorder);

    /**
     * Prefills several independent sequences in one call. Each starts at position 0 and attends only to itself; no
     * cache survives the call.
     *
     * @param logitRows which rows of the concatenated tokens need logits (null: none)
     * @param logits    where to put the logits when it holds at least logitRows.length x vocab floats, else null: a
     *                  trace hands back the array of the previous batch instead of allocating one per batch (206 MB
     *                  for 1,024 tokens of OLMoE-1B-7B)
     * @return logits (logitRows.length, vocab) at the start of the array used (the one passed in when large enough,
     *         else a new one), or null when logitRows is null
     */
    float[] prefillBatch(int[][] sequences, int[] logitRows, float[] logits, RouteRecorder recorder);

    /** The array prefillBatch puts rows x vocab logits in: `into` when it is large enough, else a new one. */
    static float[] logitsArray(float[] into, int rows, int vocab) {
        return into != null && into.length >= (long) rows * vocab ? into : new float[rows * vocab];
    }

    /** prefillBatch into a new array. */
    default float[] prefillBatch(int[][] sequences, int[] logitRows, RouteRecorder recorder) {
        return prefillBatch(sequences, logitRows, null, recorder);
    }

    @Override
    void close();
}
