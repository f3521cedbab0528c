package org.moescope.serve;

import org.moescope.model.MoeModel;
import org.moescope.model.MoeTransformer;
import org.moescope.model.RouteRecorder;
import org.moescope.model.Sampler;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalInt;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.IntPredicate;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Continuous batching: one thread runs forward steps over every admitted sequence at once
 * ({@link MoeTransformer#step}): each decoding sequence contributes its last token, sequences still reading their prompt
 * contribute a chunk of it (oldest first, within the step's token budget), so long prompts are prefilled while the
 * running streams keep getting a token per step. New sequences join between steps; a cancelled one (its client went
 * away) leaves at the start of the next step and gives back its KV-cache rows.
 */
final class Scheduler implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(Scheduler.class.getName());

    /** What a sequence's owner hears, on the scheduler thread: keep it short (no I/O). */
    interface Listener {
        /** A new token; return true to end the sequence here (a stop string matched). */
        boolean token(TokenOut token);

        /**
         * A step ran in which the sequence got no token (its prompt is being read, or waits for room in the step):
         * the owner writes something to its client, so that a client that went away is noticed at every step.
         */
        void waited();

        /** The sequence ended: stop (EOS or a stop string), length, cancelled, shutdown or error. */
        void finished(String reason);
    }

    /**
     * A generated token: its log-probability under the model and the topLogprobs best alternatives (when asked), and
     * when routes were asked, per MoE layer the experts chosen at the position whose logits chose this token and
     * the weights applied to them.
     */
    record TokenOut(int id, float logprob, int[] topIds, float[] topLogprobs, int[][] experts, float[][] weights) {
    }

    /** A generation request as the scheduler needs it. */
    record Job(int[] prompt, int maxTokens, Sampler sampler, IntPredicate eos, boolean routes, int topLogprobs,
               Listener listener) {
    }

    /** No KV-cache room for the request now (HTTP 429). */
    static final class Busy extends RuntimeException {
        Busy(String message) {
            super(message, null, false, false);
        }
    }

    /** The server is shutting down (HTTP 503). */
    static final class Closing extends RuntimeException {
        Closing() {
            super("the server is shutting down", null, false, false);
        }
    }

    /** An admitted sequence: its range of the shared cache and where it is. */
    final class Sequence {
        final Job job;
        final int base;
        final int rows;
        final int[] history; // prompt, then the generated tokens
        int prefilled;
        int generated;
        final long admitted = System.nanoTime();
        long lastToken;
        volatile boolean cancelled;
        int[][] experts;     // (moe layers, k) of this step, when routes are asked
        float[][] weights;
        int row;             // this step's row of the sequence's last token

        Sequence(Job job, int base, int rows) {
            this.job = job;
            this.base = base;
            this.rows = rows;
            this.history = Arrays.copyOf(job.prompt(), job.prompt().length + job.maxTokens());
        }

        /** Frees the sequence at the start of the next step (the client went away). */
        void cancel() {
            cancelled = true;
        }

        int promptLength() {
            return job.prompt().length;
        }
    }

    private final MoeTransformer model;
    private final MoeModel.Session cache;
    private final KvBudget budget;
    private final int context;
    private final int stepTokens;
    private final int validVocab;
    final Metrics metrics;
    private final LinkedBlockingQueue<Sequence> incoming = new LinkedBlockingQueue<>();
    private final List<Sequence> active = new ArrayList<>(); // scheduler thread only
    private volatile int running;
    private volatile int waiting;
    private volatile boolean closing;
    private volatile boolean abort;
    private final Thread thread;

    /**
     * @param kvRows     rows of the shared KV cache (the budget: --max-sessions x --context)
     * @param context    the longest sequence (prompt + completion)
     * @param stepTokens tokens per step: decode tokens first, prefill chunks in the rest
     */
    Scheduler(MoeTransformer model, int kvRows, int context, int stepTokens, int validVocab) {
        this.model = model;
        this.cache = model.newSharedCache(kvRows, context);
        this.budget = new KvBudget(kvRows);
        this.context = context;
        this.stepTokens = stepTokens;
        this.validVocab = validVocab;
        this.metrics = new Metrics(() -> running, () -> waiting, budget::used, kvRows);
        this.thread = Thread.ofPlatform().name("moescope-batch").daemon(true).unstarted(this::loop);
    }

    int context() {
        return context;
    }

    void start() {
        thread.start();
    }

    /**
     * Admits a sequence: reserves prompt + maxTokens rows of the cache or refuses.
     *
     * @throws Busy    when the cache has no such range free now
     * @throws Closing after shutdown began
     */
    Sequence submit(Job job) {
        if (closing) throw new Closing();
        int need = job.prompt().length + job.maxTokens();
        OptionalInt base = budget.reserve(need);
        if (base.isEmpty()) {
            throw new Busy("the KV cache is full (" + budget.used() + " of " + budget.rows() + " rows reserved; this "
                    + "request needs " + need + "); retry later");
        }
        Sequence s = new Sequence(job, base.getAsInt(), need);
        metrics.promptTokens.addAndGet(job.prompt().length);
        incoming.add(s);
        return s;
    }

    /**
     * Runs steps over throwaway sequences until C2 has compiled the kernels, so the first clients do not meet the
     * slow interpreted ones (their results are the same bits: lane sums and exp have one order in every compilation
     * state, see VectorKernels.sumLanes and Exp). Call before start.
     */
    void warmUp(int steps) {
        int[] prompt = new int[Math.min(16, context / 2)];
        for (int i = 0; i < prompt.length; i++) prompt[i] = (i * 7 + 3) % validVocab;
        int n = Math.min(4, Math.max(1, budget.rows() / context));
        for (int i = 0; i < steps; i++) {
            List<MoeTransformer.StepSlice> slices = new ArrayList<>();
            for (int j = 0; j < n; j++) {
                int pos = (i + j) % (context - prompt.length);
                int[] toks = (i + j) % 3 == 0 ? prompt : new int[] {prompt[(i + j) % prompt.length]};
                slices.add(new MoeTransformer.StepSlice(j * context, pos, toks, true));
            }
            model.step(cache, slices, null);
        }
    }

    private void loop() {
        while (true) {
            try {
                if (!runOnce()) return;
            } catch (RuntimeException | Error e) {
                // A bug of ours (the requests were checked): fail the running sequences, keep serving.
                LOG.log(Level.SEVERE, "forward step failed; ending " + active.size() + " sequences", e);
                for (Sequence s : new ArrayList<>(active)) end(s, "error");
            }
        }
    }

    /** One step; false when the scheduler has stopped. */
    private boolean runOnce() {
        Sequence fresh;
        while ((fresh = incoming.poll()) != null) active.add(fresh);
        for (Sequence s : new ArrayList<>(active)) {
            if (s.cancelled) end(s, "cancelled");
            else if (abort) end(s, "shutdown");
        }
        count();
        if (active.isEmpty()) {
            if (closing) return false;
            try {
                Sequence s = incoming.poll(50, TimeUnit.MILLISECONDS);
                if (s != null) active.add(s);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
            return true;
        }
        List<MoeTransformer.StepSlice> slices = new ArrayList<>();
        List<Sequence> withLogits = new ArrayList<>();
        int tokens = 0;
        for (Sequence s : active) { // decode tokens first: running streams never wait for a prompt
            if (s.prefilled < s.promptLength()) continue;
            int pos = s.promptLength() + s.generated - 1;
            slices.add(new MoeTransformer.StepSlice(s.base, pos, new int[] {s.history[pos]}, true));
            s.row = tokens++;
            withLogits.add(s);
        }
        int room = Math.max(stepTokens - tokens, 16);
        for (Sequence s : active) { // then prompt chunks, oldest first
            if (s.prefilled >= s.promptLength() || room == 0) continue;
            int n = Math.min(room, s.promptLength() - s.prefilled);
            boolean last = s.prefilled + n == s.promptLength();
            slices.add(new MoeTransformer.StepSlice(s.base, s.prefilled,
                    Arrays.copyOfRange(s.history, s.prefilled, s.prefilled + n), last));
            s.prefilled += n;
            tokens += n;
            room -= n;
            if (last) {
                s.row = tokens - 1;
                withLogits.add(s);
            }
        }
        // Logit rows come back in slice order: decode slices, then the prompts that finished in this step.
        List<Sequence> routed = withLogits.stream().filter(s -> s.job.routes()).toList();
        float[] logits = model.step(cache, slices, routed.isEmpty() ? null : recorder(routed));
        metrics.steps.incrementAndGet();
        metrics.batchSequences.observe(slices.size());
        metrics.batchTokens.observe(tokens);
        int V = model.config().vocabSize();
        for (int i = 0; i < withLogits.size(); i++) {
            next(withLogits.get(i), logits, i * V, V);
        }
        for (Sequence s : active) {
            if (!withLogits.contains(s)) s.job.listener().waited();
        }
        count();
        return true;
    }

    private RouteRecorder recorder(List<Sequence> routed) {
        int layers = model.config().numMoeLayers();
        int k = model.config().numExpertsPerTok();
        for (Sequence s : routed) {
            s.experts = new int[layers][];
            s.weights = new float[layers][];
        }
        return (moeLayer, tokens, moeInput, routerLogits, routerProbs, topkIds, topkWeights) -> {
            for (Sequence s : routed) {
                s.experts[moeLayer] = Arrays.copyOfRange(topkIds, s.row * k, s.row * k + k);
                s.weights[moeLayer] = Arrays.copyOfRange(topkWeights, s.row * k, s.row * k + k);
            }
        };
    }

    /** Chooses the sequence's next token from its logit row and tells its listener. */
    private void next(Sequence s, float[] logits, int off, int V) {
        float[] row = Arrays.copyOfRange(logits, off, off + V);
        int n = Math.min(validVocab, V);
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) max = Math.max(max, row[i]);
        double sum = 0;
        for (int i = 0; i < n; i++) sum += Math.exp(row[i] - max);
        double logZ = max + Math.log(sum);
        int[] topIds = null;
        float[] topLogprobs = null;
        if (s.job.topLogprobs() > 0) {
            topIds = topK(row, n, s.job.topLogprobs());
            topLogprobs = new float[topIds.length];
            for (int i = 0; i < topIds.length; i++) topLogprobs[i] = (float) (row[topIds[i]] - logZ);
        }
        float[] raw = row.clone();
        int pos = s.promptLength() + s.generated;
        int id = s.job.sampler().next(row, s.history, pos);
        s.history[pos] = id;
        s.generated++;
        long now = System.nanoTime();
        if (s.generated == 1) metrics.timeToFirstToken.observe((now - s.admitted) / 1e9);
        else metrics.interTokenLatency.observe((now - s.lastToken) / 1e9);
        s.lastToken = now;
        metrics.generationTokens.incrementAndGet();
        boolean stopHere = s.job.listener().token(new TokenOut(id, (float) (raw[id] - logZ), topIds, topLogprobs,
                s.experts, s.weights));
        if (stopHere || s.job.eos().test(id)) end(s, "stop");
        else if (s.generated == s.job.maxTokens()) end(s, "length");
    }

    /** The k best ids of row[0..n), best first (ties: lower id). */
    static int[] topK(float[] row, int n, int k) {
        k = Math.min(k, n);
        int[] best = new int[k];
        int size = 0;
        for (int i = 0; i < n; i++) {
            if (size == k && row[i] <= row[best[k - 1]]) continue;
            int j = size < k ? size++ : k - 1;
            while (j > 0 && row[best[j - 1]] < row[i]) {
                best[j] = best[j - 1];
                j--;
            }
            best[j] = i;
        }
        return best;
    }

    private void end(Sequence s, String reason) {
        active.remove(s);
        budget.release(s.base, s.rows);
        try {
            s.job.listener().finished(reason);
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "listener failed", e);
        }
    }

    private void count() {
        int r = 0, w = 0;
        for (Sequence s : active) {
            if (s.prefilled < s.promptLength()) w++;
            else r++;
        }
        running = r;
        waiting = w + incoming.size();
    }

    /**
     * Stops admitting; lets the running sequences finish for up to graceMillis, then ends the rest ("shutdown") and
     * stops the thread.
     */
    void shutdown(long graceMillis) {
        closing = true;
        long deadline = System.nanoTime() + graceMillis * 1_000_000L;
        while (thread.isAlive() && System.nanoTime() < deadline) {
            try {
                thread.join(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        abort = true;
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        shutdown(0);
    }
}
