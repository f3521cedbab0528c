package org.moescope.gpu;

import org.moescope.backend.BackendStartupException;
import org.moescope.checkpoint.Checkpoint;
import org.moescope.errors.BadInputException;
import org.moescope.kernels.ScalarKernels;
import org.moescope.kernels.Weight;
import org.moescope.model.MoeModel;
import org.moescope.model.ModelConfig;
import org.moescope.model.MoeTransformer;
import org.moescope.model.RouteRecorder;
import org.moescope.safetensors.DType;

import java.nio.file.Path;
import java.util.Arrays;

/**
 * The forward pass on a device: the host splits a call into chunks of at most Tmax tokens, widens their embedding
 * rows, and hands each chunk to a {@link DeviceRunner}, layer by layer; it reads back only logits and, when a
 * recorder listens, the route arrays. The KV cache lives on the device, so one sequence is decoded at a time: a new
 * session (or a prefillBatch) takes the cache from the previous one.
 */
public final class DeviceModel implements MoeModel {
    /** Builds the runner once the weights and state exist (compiling task graphs, say). */
    public interface RunnerFactory {
        DeviceRunner create(ModelConfig config, DeviceWeights weights, DeviceState state);
    }

    private final MoeTransformer host; // validated checkpoint and config; its mapped embedding feeds the first layer
    private final ModelConfig c;
    private final DeviceState s;
    private final DeviceRunner runner;
    private final Weight embed;                               // (vocab, hidden) in the mapped checkpoint
    private final ScalarKernels widen = new ScalarKernels();  // widens the embedding rows of each chunk
    private Session active;                                   // the session whose KV cache is on the device

    private DeviceModel(MoeTransformer host, DeviceState s, DeviceRunner runner) {
        this.host = host;
        this.c = host.config();
        this.s = s;
        this.runner = runner;
        String name = "model.embed_tokens.weight";
        var info = host.checkpoint().info(name);
        DType dt = info.dtype();
        this.embed = new Weight(name, host.checkpoint().segment(name), dt, (int) info.shape()[0], (int) info.shape()[1]);
    }

    /**
     * @param tokens    tokens per chunk (Tmax)
     * @param cacheRows KV cache rows; capped at max_position_embeddings
     */
    public static DeviceModel load(Path dir, int tokens, int cacheRows, RunnerFactory factory) {
        MoeTransformer host = MoeTransformer.load(dir, new ScalarKernels());
        try {
            ModelConfig c = host.config();
            String missing = unsupportedWeights(host.checkpoint());
            if (missing == null) missing = unsupported(c);
            if (missing != null) {
                throw new BackendStartupException("the device backends cannot run this " + c.modelType()
                        + " checkpoint yet (" + missing + "; " + dir + "); use --backend cpu", null);
            }
            int rows = Math.min(cacheRows, c.maxPositionEmbeddings());
            DeviceWeights w = new DeviceWeights(host.checkpoint(), c);
            DeviceState s = new DeviceState(c, Math.max(1, Math.min(tokens, rows)), rows);
            return new DeviceModel(host, s, factory.create(c, w, s));
        } catch (RuntimeException | Error e) {
            host.close();
            throw e;
        }
    }

    /** The first stored weight format the device kernels cannot read (FP8, GGUF block types), or null: one pass. */
    private static String unsupportedWeights(Checkpoint ckpt) {
        for (String name : ckpt.tensorNames()) {
            if (ckpt.info(name).dtype() == DType.F8_E4M3) return "FP8 (F8_E4M3) weights";
            var ggml = ckpt.ggmlType(name);
            if (ggml != null && ggml.isBlockQuant()) return "GGUF block-quantised weights";
        }
        return null;
    }

    /**
     * What the device kernels lack for this config, or null: they implement OLMoE's block (pre-norm RMSNorm, q/k norm
     * over the whole projection, softmax → top-k router, every layer MoE, no biases, full causal attention).
     */
    public static String unsupported(ModelConfig c) {
        if (c.mxfp4Experts()) return "MXFP4 expert weights";
        if (c.mla() != null) return "multi-head latent attention";
        if (c.postNorm()) return "post-norm blocks";
        if (c.norm() != ModelConfig.Norm.RMS) return "LayerNorm";
        if (c.qkNorm() == ModelConfig.QkNorm.NONE) return "no q/k norm";
        if (c.qkNorm() == ModelConfig.QkNorm.PER_HEAD) return "per-head q/k norm";
        if (c.qkvBias() || c.oBias() || c.lmHeadBias()) return "biases";
        if (java.util.Arrays.stream(c.slidingWindows()).anyMatch(w -> w > 0)) return "sliding-window attention";
        if (c.qDim() != c.hiddenSize()) return "head_dim other than hidden_size / num_attention_heads";
        if (c.rotaryDim() != c.headDim()) return "partial RoPE";
        if (c.ropeScaling() != null) return "YaRN RoPE";
        if (c.attentionSinks()) return "attention sinks";
        if (!c.hasDefaultAttentionScale() || c.embeddingMultiplier() != 1f
                || c.residualMultiplier() != 1f || c.logitsScaling() != 1f) return "attention/embedding/residual/logit multipliers";
        if (c.numMoeLayers() != c.numHiddenLayers()) return "dense MLP layers";
        if (c.router() != org.moescope.model.Router.SOFTMAX_TOPK) return "the " + c.router().label + " router";
        if (c.hasSharedExpert()) return "a shared expert";
        if (!(c.names().experts() instanceof org.moescope.model.TensorNames.PerExpert)) return "packed expert tensors";
        return null;
    }

    public DeviceState state() {
        return s;
    }

    @Override
    public ModelConfig config() {
        return c;
    }

    @Override
    public Checkpoint checkpoint() {
        return host.checkpoint();
    }

    @Override
    public String weightStorage() {
        return host.weightStorage();
    }

    @Override
    public String backend() {
        return runner.describe();
    }

    private final class Session implements MoeModel.Session {
        final int capacity;
        int length;

        Session(int capacity) {
            this.capacity = capacity;
        }

        @Override
        public int length() {
            return length;
        }

        @Override
        public int capacity() {
            return capacity;
        }
    }

    @Override
    public MoeModel.Session newSession(int capacity) {
        if (capacity > s.cacheRows) {
            throw new BadInputException("sequence of " + capacity + " tokens exceeds the device KV cache of "
                    + s.cacheRows + " rows");
        }
        active = new Session(capacity);
        return active;
    }

    @Override
    public float[] forward(MoeModel.Session session, int[] tokens, Logits want, RouteRecorder recorder) {
        if (!(session instanceof Session sess) || sess != active) {
            throw new IllegalStateException("this session's KV cache was taken by a newer session or a prefillBatch "
                    + "(the device keeps one sequence at a time)");
        }
        int T = tokens.length;
        if (T == 0) {
            throw new BadInputException("empty token sequence");
        }
        if (sess.length + T > sess.capacity) {
            throw new BadInputException("sequence of " + (sess.length + T) + " tokens exceeds the session's capacity "
                    + sess.capacity);
        }
        int[] position = new int[T];
        for (int t = 0; t < T; t++) {
            position[t] = sess.length + t;
        }
        int[] rows = switch (want) {
            case NONE -> null;
            case LAST -> new int[] {T - 1};
            case ALL -> allRows(T);
        };
        float[] logits = run(tokens, position, position, new int[T], rows, null, recorder);
        sess.length += T;
        return logits;
    }

    @Override
    public float[] prefillBatch(int[][] sequences, int[] logitRows, float[] logits, RouteRecorder recorder) {
        active = null;
        int T = 0;
        for (int[] seq : sequences) {
            if (seq.length == 0) {
                throw new BadInputException("empty token sequence");
            }
            if (seq.length > s.cacheRows) {
                throw new BadInputException("sequence of " + seq.length + " tokens exceeds the device KV cache of "
                        + s.cacheRows + " rows");
            }
            T += seq.length;
        }
        int[] tokens = new int[T];
        int[] position = new int[T];
        int[] cacheRow = new int[T];
        int[] visibleFrom = new int[T];
        // Sequences share the cache: each starts at row 0 unless it fits after the previous ones.
        int t = 0;
        int row = 0;
        for (int[] seq : sequences) {
            if (row + seq.length > s.cacheRows) {
                row = 0;
            }
            for (int i = 0; i < seq.length; i++, t++) {
                tokens[t] = seq[i];
                position[t] = i;
                cacheRow[t] = row + i;
                visibleFrom[t] = row;
            }
            row += seq.length;
        }
        return run(tokens, position, cacheRow, visibleFrom, logitRows, logits, recorder);
    }

    private static int[] allRows(int n) {
        int[] r = new int[n];
        for (int i = 0; i < n; i++) r[i] = i;
        return r;
    }

    /** Runs T tokens in chunks of at most Tmax; a chunk also ends where a sequence restarts at a lower cache row. */
    private float[] run(int[] tokens, int[] position, int[] cacheRow, int[] visibleFrom, int[] logitRows, float[] into,
                        RouteRecorder recorder) {
        int T = tokens.length;
        int H = c.hiddenSize();
        int V = c.vocabSize();
        int L = c.numHiddenLayers();
        int E = c.numExperts();
        int K = c.numExpertsPerTok();
        for (int id : tokens) {
            if (id < 0 || id >= V) {
                throw new BadInputException("token id " + id + " is out of range [0, " + V + ")");
            }
        }
        int[] rowsOf = new int[T]; // logit row index of each token, -1 if none
        Arrays.fill(rowsOf, -1);
        if (logitRows != null) {
            for (int r = 0; r < logitRows.length; r++) rowsOf[logitRows[r]] = r;
        }
        float[] out = logitRows == null ? null : MoeModel.logitsArray(into, logitRows.length, V);
        boolean oneChunk = T <= s.tokens && !reusesRows(cacheRow, 0, T);
        Recorded rec = recorder == null || oneChunk ? null : new Recorded(L, T, H, E, K);
        int[] chunkRow = new int[s.tokens]; // logit row of each chunk logit slot
        int start = 0;
        while (start < T) {
            int n = 1;
            while (start + n < T && n < s.tokens && !reusesRows(cacheRow, start, start + n + 1)) n++;
            int slots = 0;
            for (int i = 0; i < n; i++) {
                int t = start + i;
                s.pos[i] = position[t];
                s.cacheRow[i] = cacheRow[t];
                s.visibleFrom[i] = visibleFrom[t];
                widen.row(embed, tokens[t], s.x, i * H);
                if (rowsOf[t] >= 0) {
                    s.logitRows[slots] = i;
                    chunkRow[slots++] = rowsOf[t];
                }
            }
            s.meta[0] = n;
            s.meta[1] = slots;
            for (int l = 0; l < L; l++) {
                runner.layer(l);
                if (recorder != null) {
                    runner.routesToHost(l); // right after the layer: TornadoVM fetches from the plan's current graph
                    if (rec != null) {
                        rec.copy(l, s.layers[l], start, n);
                    }
                }
            }
            if (slots > 0) {
                runner.head();
                for (int r = 0; r < slots; r++) {
                    System.arraycopy(s.logits, r * V, out, chunkRow[r] * V, V);
                }
            }
            start += n;
        }
        if (recorder != null) {
            for (int l = 0; l < L; l++) {
                DeviceState.Layer b = s.layers[l];
                if (rec == null) {
                    recorder.onLayer(l, T, b.xb, b.routerLogits, b.probs, b.ids, b.weights);
                } else {
                    recorder.onLayer(l, T, rec.xb[l], rec.logits[l], rec.probs[l], rec.ids[l], rec.weights[l]);
                }
            }
        }
        return out;
    }

    /**
     * Whether a sequence restarts at a lower cache row within tokens [from, to). Without a restart the rows rise, so
     * no row is written twice in one chunk (every token's k and v are written before any token attends).
     */
    private static boolean reusesRows(int[] cacheRow, int from, int to) {
        for (int t = from + 1; t < to; t++) {
            if (cacheRow[t] <= cacheRow[t - 1]) return true;
        }
        return false;
    }

    /** Route arrays of a whole call assembled from its chunks, as the recorder expects them. */
    private static final class Recorded {
        final float[][] xb;      // (layers) x (T, hidden)
        final float[][] logits;  // (layers) x (T, experts)
        final float[][] probs;   // (layers) x (T, experts)
        final int[][] ids;       // (layers) x (T, k)
        final float[][] weights; // (layers) x (T, k)
        final int H, E, K;

        Recorded(int L, int T, int H, int E, int K) {
            this.H = H;
            this.E = E;
            this.K = K;
            xb = new float[L][T * H];
            logits = new float[L][T * E];
            probs = new float[L][T * E];
            ids = new int[L][T * K];
            weights = new float[L][T * K];
        }

        void copy(int l, DeviceState.Layer b, int start, int n) {
            System.arraycopy(b.xb, 0, xb[l], start * H, n * H);
            System.arraycopy(b.routerLogits, 0, logits[l], start * E, n * E);
            System.arraycopy(b.probs, 0, probs[l], start * E, n * E);
            System.arraycopy(b.ids, 0, ids[l], start * K, n * K);
            System.arraycopy(b.weights, 0, weights[l], start * K, n * K);
        }
    }

    @Override
    public void close() {
        try {
            runner.close();
        } finally {
            host.close();
        }
    }
}
