package org.moescope.trace;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.moescope.kernels.Kernels;
import org.moescope.kernels.VectorKernels;
import org.moescope.model.MoeModel;
import org.moescope.model.ModelConfig;
import org.moescope.model.RouteRecorder;
import org.moescope.routing.RouteFile;
import org.moescope.routing.RouteFileWriter;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.LongConsumer;

/**
 * Runs samples through a model and records, per token and MoE layer, the experts chosen and their weights, and per
 * sample the token-averaged router softmax and the teacher-forced loss (docs/route-format.md). Samples are packed
 * into batches of about {@code batchTokens} tokens so that the matmuls see many tokens at once; each sample still
 * attends only to itself.
 */
public final class Tracer {
    /** Tokens per expert that a default batch aims for; see {@link #batchTokensFor}. */
    public static final int TOKENS_PER_EXPERT = 128;

    /**
     * Default tokens per forward call for a model: enough that each expert sees about {@value #TOKENS_PER_EXPERT}
     * tokens (tokens x experts per token / experts), at least 512. Why: an expert's matmuls run on its own tokens, and
     * with fewer than ~100 of them the staging of its weights and its last, partly empty 16-token panel cost more
     * (OLMoE-1B-7B's 64 experts at 512 tokens: experts at 77% of the FMA peak; at 1,024 tokens 85%). 512 for the
     * mini shape (32 experts, top-8), 1,024 for OLMoE-1B-7B (64, top-8).
     */
    public static int batchTokensFor(ModelConfig c) {
        return batchTokensFor(c.numExperts(), c.numExpertsPerTok());
    }

    /** {@link #batchTokensFor(ModelConfig)} for a layer of `experts` experts, `expertsPerToken` per token. */
    public static int batchTokensFor(int experts, int expertsPerToken) {
        return Math.max(512, TOKENS_PER_EXPERT * experts / expertsPerToken);
    }

    /**
     * What to save beyond the always-present tensors, and how many tokens to run per forward call (null: the model's
     * default, {@link #batchTokensFor}).
     */
    public record Options(boolean saveLogits, boolean saveRouterLogits, boolean saveHidden, Integer batchTokens) {
        public static Options defaults() {
            return new Options(false, false, false, null);
        }

        /** Tokens per forward call for this model. */
        public int tokensPerCall(ModelConfig c) {
            return batchTokens != null ? batchTokens : batchTokensFor(c);
        }
    }

    /**
     * @param loss    (N) mean next-token NLL per sample, NaN for one-token samples
     * @param correct (N) true when every predicted token from loss_start on is the argmax
     * @param tokens  tokens run by this call (a resumed trace leaves out those an earlier run did)
     */
    public record Result(float[] loss, boolean[] correct, long tokens, double seconds) {
    }

    private static final ObjectMapper JSON = new ObjectMapper();
    /** The loss runs on the host's cores, whichever backend produced the logits. */
    private static final Kernels LOSS_KERNELS = new VectorKernels();

    private Tracer() {
    }

    /**
     * @param out      route file to write; null computes losses and accuracy only
     * @param metadata extra {@code __metadata__} entries (model_path, data_path, ...) added to the standard ones
     * @param progress receives the number of tokens done so far; may be null
     */
    public static Result trace(MoeModel model, List<Sample> samples, Path out, Map<String, String> metadata,
                               Options opts, LongConsumer progress) {
        return run(model, samples, out, metadata, opts, progress, false, null);
    }

    /**
     * As {@link #trace}, but an interrupted run can be continued: the unfinished route file stays beside out as
     * ".NAME.partial" (RouteFileWriter.resumable) with a log of the finished samples, ".NAME.progress" (TraceLog).
     * Called again with the same model, samples, metadata and options, it goes on after the last finished batch and
     * returns what an uninterrupted run would; otherwise it starts over. Batches are formed from the first unfinished
     * sample exactly as an uninterrupted run forms them, so even the order of every sum is the same.
     *
     * @param notes receives one line when a partial run is continued or discarded; may be null
     */
    public static Result traceResumable(MoeModel model, List<Sample> samples, Path out, Map<String, String> metadata,
                                        Options opts, LongConsumer progress, Consumer<String> notes) {
        return run(model, samples, out, metadata, opts, progress, true, notes);
    }

    private static Result run(MoeModel model, List<Sample> samples, Path out, Map<String, String> metadata,
                              Options opts, LongConsumer progress, boolean resumable, Consumer<String> notes) {
        long startNs = System.nanoTime();
        ModelConfig c = model.config();
        int n = samples.size();
        long[] offsets = new long[n + 1];
        for (int i = 0; i < n; i++) {
            offsets[i + 1] = offsets[i] + samples.get(i).ids().length;
        }
        RouteFile.Dims dims = new RouteFile.Dims(n, offsets[n], c.numMoeLayers(), c.numExpertsPerTok(), c.numExperts(),
                c.vocabSize(), c.hiddenSize(), opts.saveRouterLogits(), opts.saveLogits(), opts.saveHidden(),
                c.hasSharedExpertGate());
        float[] loss = new float[n];
        boolean[] correct = new boolean[n];
        Map<String, String> meta = standardMetadata(model, samples, metadata);
        boolean resume = resumable && out != null;
        int first = 0;
        TraceLog log = null;
        try (RouteFileWriter writer = out == null ? null
                : resume ? RouteFileWriter.resumable(out, dims, offsets, meta)
                : new RouteFileWriter(out, dims, offsets, meta)) {
            if (resume) {
                Path logPath = TraceLog.pathFor(out);
                if (writer.reopened()) {
                    TraceLog.Done done = TraceLog.read(logPath, loss, correct);
                    first = done.done();
                    log = TraceLog.resume(logPath, done.validBytes());
                    if (notes != null) {
                        notes.accept("resuming " + out + ": " + first + " of " + n + " samples were traced by an earlier run");
                    }
                } else {
                    if (notes != null && Files.exists(logPath)) {
                        notes.accept("starting " + out + " over: the unfinished run beside it had other samples, "
                                + "model or options");
                    }
                    log = TraceLog.start(logPath);
                }
            }
            long resumedTokens = offsets[first];
            if (progress != null && first > 0) {
                progress.accept(resumedTokens);
            }
            float[] logitBuffer = null;
            int perCall = opts.tokensPerCall(c);
            while (first < n) {
                int last = batchEnd(samples, first, perCall); // exclusive
                logitBuffer = runBatch(model, samples, first, last, dims, opts, writer, loss, correct, logitBuffer);
                if (log != null) {
                    writer.sync();
                    log.append(first, last, loss, correct);
                }
                if (progress != null) {
                    progress.accept(offsets[last]);
                }
                first = last;
            }
            if (writer != null) {
                writer.commit();
            }
            if (log != null) {
                log.delete();
                log = null;
            }
            return new Result(loss, correct, offsets[n] - resumedTokens, (System.nanoTime() - startNs) / 1e9);
        } finally {
            if (log != null) {
                log.close();
            }
        }
    }

    /**
     * The end (exclusive) of the batch that starts at sample first: samples are added while the batch stays within
     * perCall tokens, and a batch holds at least one sample. Every trace forms its batches this way from its first
     * sample, so a trace of samples [a, b) where a and b are batch boundaries of a trace of all samples runs the same
     * batches as that trace (how a distributed trace splits the work: {@link #batchStarts}).
     */
    public static int batchEnd(List<Sample> samples, int first, int perCall) {
        int n = samples.size();
        int last = first;
        long tokens = 0;
        do {
            tokens += samples.get(last).ids().length;
            last++;
        } while (last < n && tokens + samples.get(last).ids().length <= perCall);
        return last;
    }

    /** The first sample of every batch of a trace of samples at perCall tokens per call, then samples.size(). */
    public static int[] batchStarts(List<Sample> samples, int perCall) {
        List<Integer> starts = new ArrayList<>();
        int first = 0;
        while (first < samples.size()) {
            starts.add(first);
            first = batchEnd(samples, first, perCall);
        }
        starts.add(samples.size());
        return starts.stream().mapToInt(Integer::intValue).toArray();
    }

    /**
     * One forward call over samples [first, last): their loss and accuracy, and their rows of the route file.
     *
     * @param logitBuffer the array the previous batch's logits went to (null at first), reused when large enough
     * @return the array this batch's logits went to, for the next batch
     */
    private static float[] runBatch(MoeModel model, List<Sample> samples, int first, int last, RouteFile.Dims dims,
                                    Options opts, RouteFileWriter writer, float[] loss, boolean[] correct,
                                    float[] logitBuffer) {
        ModelConfig c = model.config();
        int count = last - first;
        int[][] seqs = new int[count][];
        int[] start = new int[count + 1]; // token offsets within the batch
        for (int i = 0; i < count; i++) {
            seqs[i] = samples.get(first + i).ids();
            start[i + 1] = start[i] + seqs[i].length;
        }
        int T = start[count];
        // Logit rows: every row when saving logits, else only the positions whose next token is scored.
        List<Integer> rowList = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            int from = opts.saveLogits() ? 0 : samples.get(first + i).lossStart() - 1;
            int to = opts.saveLogits() ? seqs[i].length : seqs[i].length - 1;
            for (int p = from; p < to; p++) rowList.add(start[i] + p);
        }
        int[] logitRows = rowList.stream().mapToInt(Integer::intValue).toArray();
        int[] rowOfToken = new int[T];
        java.util.Arrays.fill(rowOfToken, -1);
        for (int r = 0; r < logitRows.length; r++) rowOfToken[logitRows[r]] = r;

        Recorder rec = new Recorder(c, T, start, opts);
        // A batch of one-token samples scores nothing, but its routes are still recorded: it runs without logits.
        boolean anyScored = logitRows.length > 0;
        float[] logits = model.prefillBatch(seqs, anyScored ? logitRows : null, logitBuffer, rec);
        if (!anyScored) {
            logits = logitBuffer == null ? new float[0] : logitBuffer; // kept for the next batch
        }
        int V = c.vocabSize();
        int[] target = new int[logitRows.length]; // the next token of each logit row (0 after a sample's last token)
        for (int i = 0; i < count; i++) {
            for (int p = 0; p < seqs[i].length - 1; p++) {
                int row = rowOfToken[start[i] + p];
                if (row >= 0) target[row] = seqs[i][p + 1];
            }
        }
        float[] nll = new float[logitRows.length];
        int[] predicted = new int[logitRows.length];
        LOSS_KERNELS.crossEntropy(logits, logitRows.length, V, target, nll, predicted);
        for (int i = 0; i < count; i++) {
            Sample s = samples.get(first + i);
            double sum = 0;
            boolean allRight = true;
            int scored = 0;
            for (int p = s.lossStart() - 1; p < s.ids().length - 1; p++) {
                int row = rowOfToken[start[i] + p];
                sum += nll[row];
                allRight &= predicted[row] == target[row];
                scored++;
            }
            loss[first + i] = scored == 0 ? Float.NaN : (float) (sum / scored);
            correct[first + i] = scored > 0 && allRight;
        }
        if (writer == null) {
            return logits;
        }
        int L = c.numMoeLayers(), E = c.numExperts(), K = c.numExpertsPerTok(), H = c.hiddenSize();
        for (int i = 0; i < count; i++) {
            int sample = first + i;
            int a = start[i], len = seqs[i].length;
            writer.writeTokenRows(RouteFile.Field.INPUT_IDS, sample, seqs[i]);
            writer.writeTokenRows(RouteFile.Field.TOPK_IDS, sample, java.util.Arrays.copyOfRange(rec.topkIds, a * L * K, (a + len) * L * K));
            writer.writeTokenRows(RouteFile.Field.TOPK_WEIGHTS, sample,
                    java.util.Arrays.copyOfRange(rec.topkWeights, a * L * K, (a + len) * L * K));
            float[] mean = java.util.Arrays.copyOfRange(rec.probSum, i * L * E, (i + 1) * L * E);
            for (int j = 0; j < mean.length; j++) mean[j] /= len;
            writer.writeSampleRow(RouteFile.Field.ROUTER_PROBS_MEAN, sample, mean);
            writer.writeSampleRow(RouteFile.Field.LOSS, sample, new float[] {loss[sample]});
            if (opts.saveRouterLogits()) {
                writer.writeTokenRows(RouteFile.Field.ROUTER_LOGITS, sample,
                        java.util.Arrays.copyOfRange(rec.routerLogits, a * L * E, (a + len) * L * E));
            }
            if (opts.saveLogits()) {
                float[] rows = new float[len * V];
                for (int p = 0; p < len; p++) {
                    System.arraycopy(logits, rowOfToken[a + p] * V, rows, p * V, V);
                }
                writer.writeTokenRows(RouteFile.Field.LOGITS, sample, rows);
            }
            if (rec.sharedGate != null) {
                writer.writeTokenRows(RouteFile.Field.SHARED_EXPERT_GATE, sample,
                        java.util.Arrays.copyOfRange(rec.sharedGate, a * L, (a + len) * L));
            }
            if (opts.saveHidden()) {
                float[] hm = java.util.Arrays.copyOfRange(rec.hiddenSum, i * L * H, (i + 1) * L * H);
                for (int j = 0; j < hm.length; j++) hm[j] /= len;
                writer.writeSampleRow(RouteFile.Field.HIDDEN_MEAN, sample, hm);
            }
        }
        return logits;
    }

    /** Copies the router's outputs of each layer into (token, layer, ·) order and sums per sample. */
    private static final class Recorder implements RouteRecorder {
        final int L, E, K, H;
        final int[] sampleOf;       // (T) batch-local sample index of each token
        final int[] topkIds;        // (T, L, k)
        final float[] topkWeights;  // (T, L, k)
        final float[] probSum;      // (samples, L, E) sum over the sample's tokens; accumulated in double below
        final float[] routerLogits; // (T, L, E) or null
        final float[] hiddenSum;    // (samples, L, H) or null
        final float[] sharedGate;   // (T, L) the shared expert's gate, or null without one

        Recorder(ModelConfig c, int T, int[] start, Options opts) {
            L = c.numMoeLayers();
            E = c.numExperts();
            K = c.numExpertsPerTok();
            H = c.hiddenSize();
            int samples = start.length - 1;
            sampleOf = new int[T];
            for (int i = 0; i < samples; i++) {
                for (int t = start[i]; t < start[i + 1]; t++) sampleOf[t] = i;
            }
            topkIds = new int[T * L * K];
            topkWeights = new float[T * L * K];
            probSum = new float[samples * L * E];
            routerLogits = opts.saveRouterLogits() ? new float[T * L * E] : null;
            hiddenSum = opts.saveHidden() ? new float[samples * L * H] : null;
            sharedGate = c.hasSharedExpertGate() ? new float[T * L] : null;
        }

        @Override
        public void onSharedExpert(int layer, int tokens, float[] gate) {
            for (int t = 0; t < tokens; t++) sharedGate[t * L + layer] = gate[t];
        }

        @Override
        public void onLayer(int layer, int tokens, float[] moeInput, float[] logits, float[] probs, int[] ids, float[] w) {
            int samples = probSum.length / (L * E);
            double[] sum = new double[samples * E];
            double[] hsum = hiddenSum == null ? null : new double[samples * H];
            for (int t = 0; t < tokens; t++) {
                System.arraycopy(ids, t * K, topkIds, (t * L + layer) * K, K);
                System.arraycopy(w, t * K, topkWeights, (t * L + layer) * K, K);
                if (routerLogits != null) {
                    System.arraycopy(logits, t * E, routerLogits, (t * L + layer) * E, E);
                }
                int s = sampleOf[t];
                for (int e = 0; e < E; e++) sum[s * E + e] += probs[t * E + e];
                if (hsum != null) {
                    for (int h = 0; h < H; h++) hsum[s * H + h] += moeInput[t * H + h];
                }
            }
            for (int s = 0; s < samples; s++) {
                for (int e = 0; e < E; e++) probSum[(s * L + layer) * E + e] = (float) sum[s * E + e];
                if (hsum != null) {
                    for (int h = 0; h < H; h++) hiddenSum[(s * L + layer) * H + h] = (float) hsum[s * H + h];
                }
            }
        }
    }

    /**
     * Writes the route file of one sequence whose routes were recorded while it ran (generate --routes): the rows of
     * {@code routes}, in token order, and its loss, the mean of {@code nll} (the next-token NLL at every position but
     * the last). The file has the layout of a trace of that one sample.
     */
    public static void writeSequence(MoeModel model, Sample sample, SequenceRoutes routes, float[] nll, Path out,
                                     Map<String, String> metadata) {
        ModelConfig c = model.config();
        int n = sample.ids().length;
        if (routes.tokens() != n || nll.length != n - 1) {
            throw new IllegalStateException("routes of " + routes.tokens() + " tokens, " + nll.length
                    + " losses, for a sample of " + n);
        }
        int L = c.numMoeLayers(), E = c.numExperts(), K = c.numExpertsPerTok();
        RouteFile.Dims dims = new RouteFile.Dims(1, n, L, K, E, c.vocabSize(), c.hiddenSize(), false, false, false,
                c.hasSharedExpertGate());
        double sum = 0;
        for (float v : nll) sum += v;
        float loss = n > 1 ? (float) (sum / (n - 1)) : Float.NaN;
        float[] mean = new float[L * E];
        for (int i = 0; i < mean.length; i++) mean[i] = (float) (routes.probSum[i] / n);
        try (RouteFileWriter writer = new RouteFileWriter(out, dims, new long[] {0, n},
                standardMetadata(model, List.of(sample), metadata))) {
            writer.writeTokenRows(RouteFile.Field.INPUT_IDS, 0, sample.ids());
            writer.writeTokenRows(RouteFile.Field.TOPK_IDS, 0, java.util.Arrays.copyOf(routes.topkIds, n * L * K));
            writer.writeTokenRows(RouteFile.Field.TOPK_WEIGHTS, 0, java.util.Arrays.copyOf(routes.topkWeights, n * L * K));
            writer.writeSampleRow(RouteFile.Field.ROUTER_PROBS_MEAN, 0, mean);
            writer.writeSampleRow(RouteFile.Field.LOSS, 0, new float[] {loss});
            if (routes.sharedGate != null) {
                writer.writeTokenRows(RouteFile.Field.SHARED_EXPERT_GATE, 0, java.util.Arrays.copyOf(routes.sharedGate, n * L));
            }
            writer.commit();
        }
    }

    private static Map<String, String> standardMetadata(MoeModel model, List<Sample> samples, Map<String, String> extra) {
        ModelConfig c = model.config();
        Map<String, String> m = new LinkedHashMap<>();
        m.put("format", "moescope-routes");
        m.put("format_version", "1");
        m.put("config_sha256", model.checkpoint().configSha256());
        m.put("model_type", c.modelType());
        m.put("dtype", c.dtype() == null ? "unknown" : c.dtype());
        m.put("num_layers", Integer.toString(c.numMoeLayers()));
        m.put("moe_layers", JSON.valueToTree(c.moeLayers()).toString());
        m.put("router_kind", c.router().label);
        m.put("num_experts", Integer.toString(c.numExperts()));
        m.put("top_k", Integer.toString(c.numExpertsPerTok()));
        m.put("vocab_size", Integer.toString(c.vocabSize()));
        m.put("hidden_size", Integer.toString(c.hiddenSize()));
        m.put("norm_topk_prob", Boolean.toString(c.normTopkProb()));
        m.put("sample_ids", JSON.valueToTree(samples.stream().map(Sample::id).toList()).toString());
        m.put("sample_groups", JSON.valueToTree(samples.stream().map(Sample::group).toList()).toString());
        if (samples.stream().anyMatch(s -> s.lossStart() != 1)) {
            m.put("sample_loss_starts", JSON.valueToTree(samples.stream().map(Sample::lossStart).toList()).toString());
        }
        m.put("created", Instant.now().truncatedTo(ChronoUnit.SECONDS).toString());
        m.putAll(extra);
        return m;
    }
}
