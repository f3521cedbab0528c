package org.moescope.model;

import org.moescope.kernels.Kernels;
import org.moescope.kernels.ScalarKernels;

import java.util.Arrays;
import java.util.function.IntConsumer;
import java.util.function.IntPredicate;

/** Continuation of a prompt: one prefill, then one decode step per new token against the KV cache. */
public final class Generation {
    /** Next-token losses of recorded generations, on the host whichever backend produced the logits. */
    private static final Kernels LOSS = new ScalarKernels();

    private Generation() {
    }

    /**
     * @param tokens          the new tokens (prompt excluded)
     * @param prefillSeconds  time of the prompt's forward pass
     * @param decodeSeconds   time of the decode steps after the first new token
     * @param nll             when routes were recorded: the next-token NLL (natural log) at every position but the
     *                        last of prompt + new tokens, under the model's own logits (as a trace's loss); else null
     */
    public record Result(int[] tokens, int promptTokens, double prefillSeconds, double decodeSeconds, float[] nll) {
        /** Time to first token: the prefill plus choosing the first token. */
        public double timeToFirstToken() {
            return prefillSeconds;
        }
    }

    /** Greedy continuation; returns the new tokens only. */
    public static int[] greedy(MoeModel model, int[] prompt, int maxNewTokens, IntPredicate stop) {
        return generate(model, prompt, maxNewTokens, Sampler.greedy(model.config().vocabSize()), stop, null, null)
                .tokens();
    }

    /**
     * Generates up to {@code maxNewTokens}, stopping after a token for which {@code stop} holds (EOS).
     * {@code onToken} sees each new token as soon as it is chosen (for streaming).
     *
     * <p>With a {@code recorder}, the routes of the very forward calls that chose the tokens go to it: the prompt's
     * prefill, then each decode step, and one last step for the last new token (which no step would otherwise run), so
     * it sees every token of prompt + continuation once, in order. The prefill then also computes the logits of every
     * prompt position, for {@link Result#nll}.
     */
    public static Result generate(MoeModel model, int[] prompt, int maxNewTokens, Sampler sampler, IntPredicate stop,
                                  IntConsumer onToken, RouteRecorder recorder) {
        int[] history = Arrays.copyOf(prompt, prompt.length + maxNewTokens);
        int V = model.config().vocabSize();
        if (maxNewTokens == 0) {
            return new Result(new int[0], prompt.length, 0, 0, null);
        }
        MoeModel.Session s = model.newSession(prompt.length + maxNewTokens);
        long t0 = System.nanoTime();
        float[] nll = null;
        float[] logits;
        if (recorder == null) {
            logits = model.forward(s, prompt, MoeModel.Logits.LAST, null);
        } else {
            nll = new float[prompt.length + maxNewTokens - 1];
            float[] all = model.forward(s, prompt, MoeModel.Logits.ALL, recorder);
            int scored = prompt.length - 1; // rows 0 .. P-2 predict prompt tokens 1 .. P-1
            LOSS.crossEntropy(all, scored, V, Arrays.copyOfRange(prompt, 1, prompt.length), nll, new int[scored]);
            logits = Arrays.copyOfRange(all, (prompt.length - 1) * V, prompt.length * V);
        }
        int n = 0;
        float[] raw = recorder == null ? null : logits.clone(); // the sampler may change logits (repeat penalty)
        float[] stepNll = new float[1];
        int[] stepArgmax = new int[1];
        int next = sampler.next(logits, history, prompt.length);
        long t1 = System.nanoTime();
        while (true) {
            if (raw != null) {
                LOSS.crossEntropy(raw, 1, V, new int[] {next}, stepNll, stepArgmax);
                nll[prompt.length - 1 + n] = stepNll[0];
            }
            history[prompt.length + n++] = next;
            if (onToken != null) onToken.accept(next);
            if (n == maxNewTokens || (stop != null && stop.test(next))) break;
            logits = model.forward(s, new int[] {next}, MoeModel.Logits.LAST, recorder);
            if (raw != null) System.arraycopy(logits, 0, raw, 0, V);
            next = sampler.next(logits, history, prompt.length + n);
        }
        long t2 = System.nanoTime();
        if (recorder != null) {
            model.forward(s, new int[] {next}, MoeModel.Logits.NONE, recorder);
            nll = Arrays.copyOf(nll, prompt.length + n - 1);
        }
        return new Result(Arrays.copyOfRange(history, prompt.length, prompt.length + n), prompt.length,
                (t1 - t0) / 1e9, (t2 - t1) / 1e9, nll);
    }

    public static int argmax(float[] logits) {
        int best = 0;
        for (int i = 1; i < logits.length; i++) {
            if (logits[i] > logits[best]) best = i;
        }
        return best;
    }
}
