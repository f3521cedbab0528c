package org.moescope.model;

import java.util.Arrays;
import java.util.function.IntConsumer;
import java.util.function.IntPredicate;

/** Continuation of a prompt: one prefill, then one decode step per new token against the KV cache. */
public final class Generation {
    private Generation() {
    }

    /**
     * @param tokens          the new tokens (prompt excluded)
     * @param prefillSeconds  time of the prompt's forward pass
     * @param decodeSeconds   time of the decode steps after the first new token
     */
    public record Result(int[] tokens, int promptTokens, double prefillSeconds, double decodeSeconds) {
        /** Time to first token: the prefill plus choosing the first token. */
        public double timeToFirstToken() {
            return prefillSeconds;
        }
    }

    /** Greedy continuation; returns the new tokens only. */
    public static int[] greedy(MoeModel model, int[] prompt, int maxNewTokens, IntPredicate stop) {
        return generate(model, prompt, maxNewTokens, Sampler.greedy(model.config().vocabSize()), stop, null).tokens();
    }

    /**
     * Generates up to {@code maxNewTokens}, stopping after a token for which {@code stop} holds (EOS).
     * {@code onToken} sees each new token as soon as it is chosen (for streaming).
     */
    public static Result generate(MoeModel model, int[] prompt, int maxNewTokens, Sampler sampler, IntPredicate stop,
                                  IntConsumer onToken) {
        int[] history = Arrays.copyOf(prompt, prompt.length + maxNewTokens);
        if (maxNewTokens == 0) {
            return new Result(new int[0], prompt.length, 0, 0);
        }
        MoeModel.Session s = model.newSession(prompt.length + maxNewTokens);
        long t0 = System.nanoTime();
        float[] logits = model.forward(s, prompt, MoeModel.Logits.LAST, null);
        int n = 0;
        int next = sampler.next(logits, history, prompt.length);
        long t1 = System.nanoTime();
        while (true) {
            history[prompt.length + n++] = next;
            if (onToken != null) onToken.accept(next);
            if (n == maxNewTokens || (stop != null && stop.test(next))) break;
            logits = model.forward(s, new int[] {next}, MoeModel.Logits.LAST, null);
            next = sampler.next(logits, history, prompt.length + n);
        }
        long t2 = System.nanoTime();
        return new Result(Arrays.copyOfRange(history, prompt.length, prompt.length + n), prompt.length,
                (t1 - t0) / 1e9, (t2 - t1) / 1e9);
    }

    public static int argmax(float[] logits) {
        int best = 0;
        for (int i = 1; i < logits.length; i++) {
            if (logits[i] > logits[best]) best = i;
        }
        return best;
    }
}
