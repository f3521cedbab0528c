package org.moescope.model;

import java.util.function.IntPredicate;

/** Greedy continuation from token ids (sampling strategies arrive with the tokenizer work). */
public final class Generation {
    private Generation() {
    }

    /**
     * Prefills {@code prompt}, then appends the argmax token {@code maxNewTokens} times, stopping early after a token
     * for which {@code stop} holds (EOS). Returns the new tokens only.
     */
    public static int[] greedy(OlmoeModel model, int[] prompt, int maxNewTokens, IntPredicate stop) {
        OlmoeModel.Session s = model.newSession(prompt.length + maxNewTokens);
        int[] out = new int[maxNewTokens];
        if (maxNewTokens == 0) {
            return out;
        }
        float[] logits = model.forward(s, prompt, OlmoeModel.Logits.LAST, null);
        for (int i = 0; i < maxNewTokens; i++) {
            int next = argmax(logits);
            out[i] = next;
            if ((stop != null && stop.test(next)) || i == maxNewTokens - 1) {
                return java.util.Arrays.copyOf(out, i + 1);
            }
            logits = model.forward(s, new int[] {next}, OlmoeModel.Logits.LAST, null);
        }
        return out;
    }

    public static int argmax(float[] logits) {
        int best = 0;
        for (int i = 1; i < logits.length; i++) {
            if (logits[i] > logits[best]) best = i;
        }
        return best;
    }
}
