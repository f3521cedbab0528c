package org.moescope.weights;

import com.fasterxml.jackson.databind.JsonNode;
import org.moescope.errors.BadInputException;

/**
 * Block-scaled FP8 checkpoints as DeepSeek-V3/R1 and the GLM-4.5 FP8 releases ship them (config.json
 * quantization_config {quant_method "fp8", fmt "e4m3", weight_block_size [bn, bk]}): a weight W (rows, cols) is stored
 * as F8_E4M3 values q plus {@code W.weight_scale_inv}, F32 (ceil(rows / bn), ceil(cols / bk)), and
 * W[r, c] = q[r, c] · scale[r / bn, c / bk]. Which weights are FP8 is read from the file (every Linear but lm_head and
 * the routers, in DeepSeek's); the engine reads them as they are, no dequantised copy.
 */
public final class Fp8 {
    /** The scale tensor of weight W is W's name with this suffix in place of ".weight" → "weight_scale_inv". */
    public static final String SCALE_SUFFIX = "_scale_inv";

    private Fp8() {
    }

    /** quantization_config's block [bn, bk] when config.json declares block-scaled FP8, else null; bad fields → one line. */
    public static int[] blockSize(JsonNode config, String where) {
        JsonNode q = config.get("quantization_config");
        if (q == null || q.isNull() || !"fp8".equals(q.path("quant_method").asText(null))) {
            return null;
        }
        String fmt = q.path("fmt").asText("e4m3");
        if (!fmt.equals("e4m3")) {
            throw new BadInputException(where + ": field \"quantization_config.fmt\" " + fmt + " is not supported; "
                    + "supported: e4m3");
        }
        String scheme = q.path("activation_scheme").asText("dynamic");
        if (!scheme.equals("dynamic")) {
            throw new BadInputException(where + ": field \"quantization_config.activation_scheme\" " + scheme
                    + " is not supported; supported: dynamic (weights only)");
        }
        JsonNode b = q.get("weight_block_size");
        if (b == null || !b.isArray() || b.size() != 2 || !b.get(0).canConvertToInt() || !b.get(1).canConvertToInt()
                || b.get(0).intValue() <= 0 || b.get(1).intValue() <= 0) {
            throw new BadInputException(where + ": field \"quantization_config.weight_block_size\" must be two positive "
                    + "integers, got " + b + " (per-tensor FP8 is not supported)");
        }
        return new int[] {b.get(0).intValue(), b.get(1).intValue()};
    }

    /**
     * shapes plus, for each 2-D weight W among them whose {@code W.weight_scale_inv} is in {@code stored}, that scale's
     * shape (ceil(rows / bn), ceil(cols / bk)).
     */
    public static java.util.Map<String, long[]> withScales(java.util.Map<String, long[]> shapes,
                                                           java.util.Collection<String> stored, int[] block) {
        java.util.Map<String, long[]> all = new java.util.LinkedHashMap<>(shapes);
        for (String name : stored) {
            String base = name.endsWith(".weight" + SCALE_SUFFIX)
                    ? name.substring(0, name.length() - SCALE_SUFFIX.length()) : null;
            long[] shape = base == null ? null : shapes.get(base);
            if (shape != null && shape.length == 2) {
                all.put(name, new long[] {(shape[0] + block[0] - 1) / block[0], (shape[1] + block[1] - 1) / block[1]});
            }
        }
        return all;
    }

    /** The value of one F8_E4M3 (E4M3FN) byte: sign, 4 exponent bits (bias 7), 3 mantissa bits; 0x7F/0xFF are NaN. */
    public static float e4m3(byte b) {
        // The 7 magnitude bits placed at a float's exponent/mantissa boundary read as 2^(e-127)(1+m/8) (or a denormal
        // m·2^-129 when e is 0); 2^120 rescales both to E4M3's 2^(e-7)(1+m/8) and m/8·2^-6.
        int bits = ((b & 0x7F) << 20) | ((b & 0x80) << 24);
        if ((b & 0x7F) == 0x7F) return Float.NaN;
        return Float.intBitsToFloat(bits) * 0x1p120f;
    }
}
