package org.moescope.weights;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.moescope.safetensors.DType;
import org.moescope.safetensors.SafetensorsWriter;
import org.moescope.safetensors.TensorInfo;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

/**
 * Q8_0 weights (docs/weights-tools.md): a Linear weight W (rows, cols) stored as int8 values NAME (I8, (rows, cols))
 * and one float32 scale per 32 consecutive values of a row, NAME_scale (F32, (rows, cols / 32)); W[r, c] = q[r, c] ·
 * scale[r, c / 32]. A group's scale is max |x| / 127 and q = round(x / scale), so the error of each value is at most
 * half a scale step. Quantised: the projections (names ending in "_proj.weight") and lm_head; the router (mlp.gate),
 * the embeddings and the norms keep their dtype, because the router decides the routes this project records and
 * the others are small or read one row per token.
 */
public final class Q8 {
    /** Values per scale. */
    public static final int GROUP = 32;
    /** Suffix of a quantised weight's scale tensor: "....weight" has "....weight_scale". */
    public static final String SCALE_SUFFIX = "_scale";
    /** config.json's quantization_config.quant_method for these checkpoints. */
    public static final String QUANT_METHOD = "moescope_q8_0";

    private Q8() {
    }

    /** Whether `weights convert --dtype q8_0` quantises this tensor. */
    public static boolean quantizes(String name, TensorInfo t) {
        return quantizes(name, t.shape()) && t.dtype().isFloatingPoint();
    }

    /** Whether a weight of this name and shape is stored quantised in a Q8_0 checkpoint. */
    public static boolean quantizes(String name, long[] shape) {
        boolean linear = name.endsWith("_proj.weight") || name.equals("lm_head.weight");
        return linear && shape.length == 2 && shape[1] % GROUP == 0;
    }

    /** The tensors of a Q8_0 checkpoint for an architecture's tensor shapes: each quantised weight gains its scales. */
    public static Map<String, long[]> withScales(Map<String, long[]> shapes) {
        Map<String, long[]> all = new LinkedHashMap<>();
        shapes.forEach((name, shape) -> {
            all.put(name, shape);
            if (quantizes(name, shape)) {
                all.put(name + SCALE_SUFFIX, new long[] {shape[0], shape[1] / GROUP});
            }
        });
        return all;
    }

    /** Whether config.json says its checkpoint holds Q8_0 weights. */
    public static boolean isQ8(JsonNode config) {
        return QUANT_METHOD.equals(config.path("quantization_config").path("quant_method").asText(null));
    }

    /**
     * Quantises one row: q[i] and, per group g of GROUP values, scales[g]; n a multiple of GROUP. All-zero groups get
     * scale 0.
     */
    public static void quantizeRow(float[] row, int n, byte[] q, float[] scales) {
        for (int g = 0; g < n / GROUP; g++) {
            float max = 0f;
            for (int i = g * GROUP; i < (g + 1) * GROUP; i++) max = Math.max(max, Math.abs(row[i]));
            float scale = max / 127f;
            scales[g] = scale;
            float inv = scale == 0f ? 0f : 1f / scale;
            for (int i = g * GROUP; i < (g + 1) * GROUP; i++) {
                q[i] = (byte) Math.max(-127, Math.min(127, Math.round(row[i] * inv)));
            }
        }
    }

    /** Bytes of int8 values written per channel call: rows are gathered into chunks of about this size. */
    private static final int CHUNK = 1 << 20;

    /**
     * The I8 values and F32 scales of one quantised weight, in that order, streamed from the mapped source. The values
     * pass keeps the scales it computed (rows x cols/32 floats, 13 MB for OLMoE's lm_head) for the scales entry,
     * which CheckpointWriter writes right after it (entries go out in list order).
     */
    static List<SafetensorsWriter.Entry> entries(String name, TensorInfo t, MemorySegment src) {
        int rows = (int) t.shape()[0], cols = (int) t.shape()[1];
        int groups = cols / GROUP;
        float[][] kept = new float[1][];
        SafetensorsWriter.Entry values = new SafetensorsWriter.Entry(name, DType.I8, t.shape(), ch -> {
            float[] all = new float[rows * groups];
            int perChunk = Math.max(1, CHUNK / cols);
            byte[] chunk = new byte[Math.min(rows, perChunk) * cols];
            for (int r0 = 0; r0 < rows; r0 += perChunk) {
                int first = r0, n = Math.min(perChunk, rows - r0);
                // Rows are independent, so a chunk's rows are quantised on all cores; the output does not change.
                IntStream.range(0, n).parallel().forEach(i -> {
                    float[] row = new float[cols];
                    byte[] q = new byte[cols];
                    float[] scales = new float[groups];
                    readRow(src, t.dtype(), first + i, cols, row);
                    quantizeRow(row, cols, q, scales);
                    System.arraycopy(q, 0, chunk, i * cols, cols);
                    System.arraycopy(scales, 0, all, (first + i) * groups, groups);
                });
                ByteBuffer b = ByteBuffer.wrap(chunk, 0, n * cols);
                while (b.hasRemaining()) ch.write(b);
            }
            kept[0] = all;
        });
        SafetensorsWriter.Entry scaleEntry = new SafetensorsWriter.Entry(name + SCALE_SUFFIX, DType.F32,
                new long[] {rows, groups}, ch -> {
            float[] all = kept[0];
            kept[0] = null;
            if (all == null) {
                throw new IllegalStateException(name + ": scales written before the values");
            }
            ByteBuffer b = ByteBuffer.allocate(4 * all.length).order(ByteOrder.LITTLE_ENDIAN);
            b.asFloatBuffer().put(all);
            while (b.hasRemaining()) ch.write(b);
        });
        return List.of(values, scaleEntry);
    }

    private static void readRow(MemorySegment src, DType dtype, int r, int cols, float[] row) {
        MemorySegment dst = MemorySegment.ofArray(row);
        DTypeConversion.convert(src, dtype, (long) r * cols, dst, DType.F32, cols);
    }

    /** config.json with quantization_config for Q8_0 (the dtype fields stay: the other tensors keep theirs). */
    static String config(JsonNode config) {
        ObjectNode copy = ((ObjectNode) config).deepCopy();
        ObjectNode q = copy.putObject("quantization_config");
        q.put("quant_method", QUANT_METHOD);
        q.put("group_size", GROUP);
        return CheckpointWriter.pretty(copy);
    }
}
