package org.moescope.routing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.moescope.errors.BadInputException;
import org.moescope.safetensors.DType;
import org.moescope.safetensors.SafetensorsFile;
import org.moescope.safetensors.TensorInfo;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * A route file written by {@code moescope trace}: the contract is docs/route-format.md. Opening validates every
 * tensor's dtype and shape against the others; per-token data is read one sample at a time so that files far larger
 * than the heap can be analysed.
 */
public final class RouteFile implements AutoCloseable {
    /** The tensors of the format: name, dtype, and whether a row belongs to a token or to a sample. */
    public enum Field {
        INPUT_IDS("input_ids", DType.I32, true, false),
        SAMPLE_OFFSETS("sample_offsets", DType.I64, false, false),
        TOPK_IDS("topk_ids", DType.I32, true, false),
        TOPK_WEIGHTS("topk_weights", DType.F32, true, false),
        ROUTER_PROBS_MEAN("router_probs_mean", DType.F32, false, false),
        LOSS("loss", DType.F32, false, false),
        ROUTER_LOGITS("router_logits", DType.F32, true, true),
        LOGITS("logits", DType.F32, true, true),
        HIDDEN_MEAN("hidden_mean", DType.F32, false, true),
        SHARED_EXPERT_GATE("shared_expert_gate", DType.F32, true, true);

        public final String tensorName;
        public final DType dtype;
        public final boolean perToken;
        public final boolean optional;

        Field(String tensorName, DType dtype, boolean perToken, boolean optional) {
            this.tensorName = tensorName;
            this.dtype = dtype;
            this.perToken = perToken;
            this.optional = optional;
        }
    }

    /**
     * Sizes of a route file; the optional fields are present when their flag is set. layers counts MoE layers only.
     * sharedGate: the model has a gated shared expert, whose gate value per token and layer is recorded.
     */
    public record Dims(int samples, long tokens, int layers, int topK, int experts, int vocab, int hidden,
                       boolean routerLogits, boolean logits, boolean hiddenMean, boolean sharedGate) {
        /** Dims of a model without a gated shared expert. */
        public Dims(int samples, long tokens, int layers, int topK, int experts, int vocab, int hidden,
                    boolean routerLogits, boolean logits, boolean hiddenMean) {
            this(samples, tokens, layers, topK, experts, vocab, hidden, routerLogits, logits, hiddenMean, false);
        }

        public boolean has(Field f) {
            return switch (f) {
                case ROUTER_LOGITS -> routerLogits;
                case LOGITS -> logits;
                case HIDDEN_MEAN -> hiddenMean;
                case SHARED_EXPERT_GATE -> sharedGate;
                default -> true;
            };
        }

        /** Values per row (per token or per sample) of a field. */
        public long rowWidth(Field f) {
            return switch (f) {
                case INPUT_IDS, LOSS, SAMPLE_OFFSETS -> 1;
                case TOPK_IDS, TOPK_WEIGHTS -> (long) layers * topK;
                case ROUTER_PROBS_MEAN, ROUTER_LOGITS -> (long) layers * experts;
                case LOGITS -> vocab;
                case HIDDEN_MEAN -> (long) layers * hidden;
                case SHARED_EXPERT_GATE -> layers;
            };
        }

        public long[] shape(Field f) {
            return switch (f) {
                case INPUT_IDS -> new long[] {tokens};
                case SAMPLE_OFFSETS -> new long[] {samples + 1L};
                case TOPK_IDS, TOPK_WEIGHTS -> new long[] {tokens, layers, topK};
                case ROUTER_PROBS_MEAN -> new long[] {samples, layers, experts};
                case LOSS -> new long[] {samples};
                case ROUTER_LOGITS -> new long[] {tokens, layers, experts};
                case LOGITS -> new long[] {tokens, vocab};
                case HIDDEN_MEAN -> new long[] {samples, layers, hidden};
                case SHARED_EXPERT_GATE -> new long[] {tokens, layers};
            };
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final ValueLayout.OfInt LE_I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat LE_F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final SafetensorsFile file;
    private final Dims dims;
    private final long[] sampleOffsets; // (N+1)

    private RouteFile(SafetensorsFile file, Dims dims, long[] sampleOffsets) {
        this.file = file;
        this.dims = dims;
        this.sampleOffsets = sampleOffsets;
    }

    public static RouteFile open(Path path) {
        SafetensorsFile f = SafetensorsFile.open(path);
        try {
            for (Field field : Field.values()) {
                if (!field.optional && !f.contains(field.tensorName)) {
                    throw new BadInputException(path + ": not a route file: tensor '" + field.tensorName + "' is missing");
                }
            }
            long[] offsets = f.readLongs(Field.SAMPLE_OFFSETS.tensorName);
            TensorInfo topk = f.info(Field.TOPK_IDS.tensorName);
            TensorInfo probs = f.info(Field.ROUTER_PROBS_MEAN.tensorName);
            if (topk.rank() != 3 || probs.rank() != 3) {
                throw new BadInputException(path + ": topk_ids and router_probs_mean must have rank 3");
            }
            int n = offsets.length - 1;
            long t = f.info(Field.INPUT_IDS.tensorName).numElements();
            int vocab = f.contains(Field.LOGITS.tensorName) ? (int) dim(f.info(Field.LOGITS.tensorName), 1) : 0;
            int hidden = f.contains(Field.HIDDEN_MEAN.tensorName) ? (int) dim(f.info(Field.HIDDEN_MEAN.tensorName), 2) : 0;
            Dims dims = new Dims(n, t, (int) topk.shape()[1], (int) topk.shape()[2], (int) probs.shape()[2], vocab, hidden,
                    f.contains(Field.ROUTER_LOGITS.tensorName), f.contains(Field.LOGITS.tensorName),
                    f.contains(Field.HIDDEN_MEAN.tensorName), f.contains(Field.SHARED_EXPERT_GATE.tensorName));
            for (Field field : Field.values()) {
                if (!dims.has(field)) continue;
                TensorInfo info = f.info(field.tensorName);
                if (info.dtype() != field.dtype || !Arrays.equals(info.shape(), dims.shape(field))) {
                    throw new BadInputException(path + ": tensor '" + field.tensorName + "' is " + info.dtype()
                            + info.shapeString() + ", expected " + field.dtype + Arrays.toString(dims.shape(field)));
                }
            }
            if (n < 0 || offsets[0] != 0 || offsets[n] != t) {
                throw new BadInputException(path + ": sample_offsets must start at 0 and end at " + t);
            }
            for (int i = 0; i < n; i++) {
                if (offsets[i + 1] <= offsets[i]) {
                    throw new BadInputException(path + ": sample_offsets not increasing at sample " + i);
                }
            }
            return new RouteFile(f, dims, offsets);
        } catch (RuntimeException e) {
            f.close();
            throw e;
        }
    }

    private static long dim(TensorInfo info, int axis) {
        if (info.rank() <= axis) {
            throw new BadInputException("tensor '" + info.name() + "' has rank " + info.rank());
        }
        return info.shape()[axis];
    }

    public Path path() {
        return file.path();
    }

    public Dims dims() {
        return dims;
    }

    public int numSamples() {
        return dims.samples();
    }

    public int numLayers() {
        return dims.layers();
    }

    public int numExperts() {
        return dims.experts();
    }

    public int topK() {
        return dims.topK();
    }

    public Map<String, String> metadata() {
        return file.metadata();
    }

    /** (N+1) token offsets of the samples. */
    public long[] sampleOffsets() {
        return sampleOffsets.clone();
    }

    public int sampleLength(int sample) {
        return (int) (sampleOffsets[sample + 1] - sampleOffsets[sample]);
    }

    /** The token ids of one sample. */
    public int[] inputIds(int sample) {
        return (int[]) rows(Field.INPUT_IDS, sample);
    }

    /** (tokens of the sample, L, k) expert ids. */
    public int[] topkIds(int sample) {
        return (int[]) rows(Field.TOPK_IDS, sample);
    }

    /** (tokens of the sample, L, k) applied weights. */
    public float[] topkWeights(int sample) {
        return (float[]) rows(Field.TOPK_WEIGHTS, sample);
    }

    /** (tokens of the sample, L, E) router logits; requires the file to have them. */
    public float[] routerLogits(int sample) {
        return (float[]) rows(Field.ROUTER_LOGITS, sample);
    }

    /** (tokens of the sample, V) logits; requires the file to have them. */
    public float[] logits(int sample) {
        return (float[]) rows(Field.LOGITS, sample);
    }

    /** (tokens of the sample, L) the shared expert's sigmoid gate; requires the file to have it. */
    public float[] sharedExpertGate(int sample) {
        return (float[]) rows(Field.SHARED_EXPERT_GATE, sample);
    }

    /** (N, L, E) token-averaged router softmax of every sample. */
    public float[] routerProbsMean() {
        return file.readFloats(Field.ROUTER_PROBS_MEAN.tensorName);
    }

    /** (N) per-sample mean next-token NLL. */
    public float[] loss() {
        return file.readFloats(Field.LOSS.tensorName);
    }

    /** (N, L, H) token-averaged hidden state at each MoE block's input; requires the file to have it. */
    public float[] hiddenMean() {
        require(Field.HIDDEN_MEAN);
        return file.readFloats(Field.HIDDEN_MEAN.tensorName);
    }

    public boolean has(Field f) {
        return dims.has(f);
    }

    private void require(Field f) {
        if (!dims.has(f)) {
            throw new BadInputException(file.path() + ": route file has no '" + f.tensorName + "' (rerun trace with the option that saves it)");
        }
    }

    private Object rows(Field f, int sample) {
        require(f);
        long width = dims.rowWidth(f);
        long first = sampleOffsets[sample] * width;
        int count = Math.toIntExact((sampleOffsets[sample + 1] - sampleOffsets[sample]) * width);
        MemorySegment seg = file.segment(f.tensorName);
        if (f.dtype == DType.I32) {
            int[] out = new int[count];
            MemorySegment.copy(seg, LE_I32, first * 4, out, 0, count);
            return out;
        }
        float[] out = new float[count];
        MemorySegment.copy(seg, LE_F32, first * 4, out, 0, count);
        return out;
    }

    /** Each sample's {@code "id"} from the input JSONL (null where absent), in sample order. */
    public List<String> sampleIds() {
        return stringList("sample_ids");
    }

    /** Each sample's {@code "group"} from the input JSONL (null where absent), in sample order. */
    public List<String> sampleGroups() {
        return stringList("sample_groups");
    }

    private List<String> stringList(String key) {
        String raw = file.metadata().get(key);
        if (raw == null) {
            return Collections.nCopies(dims.samples(), null);
        }
        try {
            JsonNode arr = JSON.readTree(raw);
            if (!arr.isArray() || arr.size() != dims.samples()) {
                throw new BadInputException(file.path() + ": metadata '" + key + "' is not a JSON array of "
                        + dims.samples() + " entries");
            }
            List<String> out = new ArrayList<>(arr.size());
            arr.forEach(v -> out.add(v.isNull() ? null : v.asText()));
            return Collections.unmodifiableList(out);
        } catch (IOException e) {
            throw new BadInputException(file.path() + ": metadata '" + key + "' is not valid JSON");
        }
    }

    @Override
    public void close() {
        file.close();
    }
}
