package org.moescope.weights;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.moescope.checkpoint.Checkpoint;
import org.moescope.errors.BadInputException;
import org.moescope.gguf.GgmlBlocks;
import org.moescope.gguf.GgmlQuantiser;
import org.moescope.gguf.GgmlType;
import org.moescope.gguf.GgufModel;
import org.moescope.gguf.GgufValue;
import org.moescope.gguf.GgufTokenizer;
import org.moescope.gguf.GgufWriter;
import org.moescope.output.AtomicDirectory;
import org.moescope.output.AtomicFiles;
import org.moescope.safetensors.DType;
import org.moescope.safetensors.Numbers;
import org.moescope.safetensors.SafetensorsWriter;
import org.moescope.safetensors.TensorInfo;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code weights convert --to gguf} and back: a checkpoint (safetensors or GGUF) as a GGUF file of one ggml type, as
 * llama.cpp lays it out (names and metadata keys of {@link GgufModel}, experts packed per layer, q/k permuted for
 * llama's RoPE), and a GGUF file as an HF safetensors checkpoint. Tensors are converted one at a time.
 */
public final class GgufConvert {
    private GgufConvert() {
    }

    /** The types {@code --dtype} takes for GGUF output; q4_k_m is llama.cpp's mix of Q4_K and Q6_K. */
    public static final List<String> TYPES = List.of("f32", "f16", "bf16", "q8_0", "q4_0", "q4_k", "q4_k_m", "q5_k",
            "q6_k");

    /** {@code tokenizer}: the tokenizer.ggml.pre family written, or why the source's tokenizer was not written. */
    public record Result(Path out, String type, int tensors, long bytes, String tokenizer) {
    }

    private static final Pattern LAYER = Pattern.compile("blk\\.(\\d+)\\.(.+)");
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    public static Result toGguf(Path source, Path out, String typeName, boolean force) {
        String type = typeName.toLowerCase(Locale.ROOT);
        if (!TYPES.contains(type)) {
            throw new BadInputException("--dtype " + typeName + ": for --to gguf expected one of " + String.join(", ", TYPES));
        }
        if (Files.exists(out) && !force) {
            throw new BadInputException("--out " + out + ": exists; give --force to replace it");
        }
        if (Files.isDirectory(out)) {
            throw new BadInputException("--out " + out + ": is a directory; --to gguf writes one file");
        }
        try (Checkpoint ck = Checkpoint.open(source)) {
            JsonNode config = ck.config();
            String modelType = config.path("model_type").asText();
            GgufModel.Arch arch = GgufModel.byModelType(modelType);
            if (arch == null) {
                throw new BadInputException(ck.configSource() + ": model_type " + modelType
                        + " has no GGUF architecture here; supported: olmoe, qwen2_moe, qwen3_moe, mixtral");
            }
            if (Q8.isQ8(config)) {
                throw new BadInputException(source + ": a Q8_0 safetensors checkpoint; convert the float checkpoint");
            }
            refuseWhatGgufCannotSay(ck, config);
            GgufWriter w = new GgufWriter();
            if (!ck.tensorNames().contains("model.embed_tokens.weight")) {
                throw new BadInputException(source + ": missing tensor 'model.embed_tokens.weight'");
            }
            long vocab = ck.info("model.embed_tokens.weight").shape()[0];
            // llama.cpp sizes its vocabulary from the tokenizer (or, with none, from <arch>.vocab_size) and refuses a
            // file whose token_embd has another number of rows.
            w.put(arch.name() + ".vocab_size", GgufValue.u32(vocab));
            String tokenizer = tokenizer(w, source, vocab);
            metadata(w, arch, config, type); // after the tokenizer: config.json's bos/eos ids are the model's
            int layers = config.path("num_hidden_layers").asInt();
            int heads = config.path("num_attention_heads").asInt();
            int kvHeads = config.path("num_key_value_heads").asInt(heads);
            // GGUF name -> HF names (experts: one per expert, in expert order)
            Map<String, List<String>> plan = new LinkedHashMap<>();
            for (String hf : ck.tensorNames()) {
                String g = GgufModel.ggufName(hf, arch);
                if (g == null) {
                    throw new BadInputException(source + ": tensor '" + hf + "' has no GGUF name in a " + arch.name()
                            + " file");
                }
                plan.computeIfAbsent(g, k -> new ArrayList<>()).add(hf);
            }
            if (arch.outputRequired() && !plan.containsKey("output.weight")) {
                // Tied embeddings: llama.cpp's olmoe and qwen2moe loaders refuse a file without output.weight, so
                // the lm_head is written as the embedding's copy (read back as an untied model of the same values).
                plan.put("output.weight", new ArrayList<>(List.of("model.embed_tokens.weight")));
            }
            int count = 0;
            for (Map.Entry<String, List<String>> e : plan.entrySet()) {
                String g = e.getKey();
                List<String> parts = e.getValue();
                if (parts.size() > 1) {
                    parts.sort((a, b) -> Integer.compare(expertOf(a), expertOf(b)));
                }
                TensorInfo first = ck.info(parts.get(0));
                long[] shape = parts.size() > 1 ? new long[] {parts.size(), first.shape()[0], first.shape()[1]}
                        : first.shape();
                GgmlType t = typeFor(g, shape, type, layers);
                int permuteHeads = !arch.permutedQk() ? 0 : g.endsWith("attn_q.weight") ? heads
                        : g.endsWith("attn_k.weight") ? kvHeads : 0;
                w.tensor(g, t, shape, () -> {
                    java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
                    for (String hf : parts) bytes.writeBytes(encode(ck, hf, t));
                    byte[] b = bytes.toByteArray();
                    return permuteHeads > 0 ? GgufModel.permute(b, permuteHeads, t.rowBytes(shape[shape.length - 1])) : b;
                });
                count++;
            }
            w.write(out);
            try {
                return new Result(out, type, count, Files.size(out), tokenizer);
            } catch (java.io.IOException ex) {
                throw new BadInputException(out + ": cannot read back: " + ex.getMessage());
            }
        }
    }

    /**
     * The tokenizer.ggml.* keys of {@code source}'s tokenizer.json when it has one GGUF can carry, its vocabulary
     * padded to the embedding's {@code vocab} rows; returns the family written, or why none was. Without one the file
     * says {@code tokenizer.ggml.model = "none"}, llama.cpp's "no vocabulary" (it refuses a file without the key).
     */
    private static String tokenizer(GgufWriter w, Path source, long vocab) {
        Path file = source.resolve("tokenizer.json");
        if (!Files.isDirectory(source) || !Files.isRegularFile(file)) {
            w.put("tokenizer.ggml.model", GgufValue.of(GgufTokenizer.NONE));
            return "none (no tokenizer.json in " + source + ")";
        }
        JsonNode tj;
        try {
            tj = new com.fasterxml.jackson.databind.ObjectMapper().readTree(file.toFile());
        } catch (java.io.IOException e) {
            throw new BadInputException(file + ": not valid JSON (" + e.getMessage().lines().findFirst().orElse("")
                    + ")");
        }
        StringBuilder why = new StringBuilder();
        Map<String, GgufValue> keys = GgufTokenizer.fromTokenizerJson(tj, file.toString(), vocab, why);
        if (keys == null) {
            w.put("tokenizer.ggml.model", GgufValue.of(GgufTokenizer.NONE));
            return "not written: " + why;
        }
        keys.forEach(w::put);
        return keys.get("tokenizer.ggml.pre").value().toString();
    }

    /** What config.json may say that a GGUF file of these architectures has no key for. */
    private static void refuseWhatGgufCannotSay(Checkpoint ck, JsonNode c) {
        if (c.path("use_sliding_window").asBoolean(false)
                || (c.path("model_type").asText().equals("mixtral") && c.path("sliding_window").isNumber())) {
            throw new BadInputException(ck.configSource() + ": field \"sliding_window\": sliding-window attention has"
                    + " no GGUF key for this architecture");
        }
        JsonNode scaling = c.get("rope_scaling");
        if (scaling != null && !scaling.isNull()) {
            throw new BadInputException(ck.configSource() + ": field \"rope_scaling\": scaled RoPE is not supported");
        }
    }

    private static int expertOf(String hf) {
        Matcher m = Pattern.compile("\\.experts\\.(\\d+)\\.").matcher(hf);
        return m.find() ? Integer.parseInt(m.group(1)) : -1;
    }

    /**
     * The ggml type of one tensor: vectors (norms, biases) stay F32 as llama.cpp keeps them; a matrix whose rows are
     * not whole blocks of the type falls back to Q8_0, or F16 when not whole Q8_0 blocks either (llama.cpp falls
     * back to other types we do not compute with). q4_k_m is llama.cpp's Q4_K_M rule: output, and attn_v and
     * ffn_down on the layers use_more_bits picks, in Q6_K, the rest Q4_K.
     */
    static GgmlType typeFor(String gguf, long[] shape, String type, int layers) {
        if (shape.length == 1) return GgmlType.F32;
        GgmlType t;
        if (type.equals("q4_k_m")) {
            t = GgmlType.Q4_K;
            Matcher m = LAYER.matcher(gguf);
            if (gguf.equals("output.weight")) {
                t = GgmlType.Q6_K;
            } else if (m.matches() && (m.group(2).startsWith("attn_v.") || m.group(2).startsWith("ffn_down"))) {
                int l = Integer.parseInt(m.group(1));
                if (l < layers / 8 || l >= 7 * layers / 8 || (l - layers / 8) % 3 == 2) t = GgmlType.Q6_K;
            }
        } else {
            t = GgmlType.byName(type);
        }
        long cols = shape[shape.length - 1];
        if (cols % t.blockSize() != 0) t = cols % 32 == 0 ? GgmlType.Q8_0 : GgmlType.F16;
        return t;
    }

    /** The tensor's rows encoded in type t, row by row. */
    private static byte[] encode(Checkpoint ck, String hf, GgmlType t) {
        TensorInfo info = ck.info(hf);
        long[] s = info.shape();
        int cols = (int) s[s.length - 1];
        long rows = info.numElements() / cols;
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        float[] row = new float[cols];
        for (long r = 0; r < rows; r++) {
            readRow(ck, hf, info, r, cols, row);
            out.writeBytes(GgmlQuantiser.encode(t, row, 0, cols));
        }
        return out.toByteArray();
    }

    /** Row r of a float or ggml tensor, widened to float. */
    static void readRow(Checkpoint ck, String name, TensorInfo info, long r, int cols, float[] row) {
        MemorySegment seg = ck.segment(name);
        GgmlType g = ck.ggmlType(name);
        if (g != null) {
            GgmlBlocks.dequantise(g, seg, r * g.rowBytes(cols), 0, cols, row, 0);
            return;
        }
        long base = r * cols * info.dtype().byteSize();
        for (int c = 0; c < cols; c++) {
            row[c] = switch (info.dtype()) {
                case F32 -> seg.get(F32, base + 4L * c);
                case BF16 -> Numbers.bf16ToFloat(seg.get(I16, base + 2L * c));
                case F16 -> Numbers.f16ToFloat(seg.get(I16, base + 2L * c));
                default -> throw new BadInputException(ck.dir() + ": tensor '" + name + "' has dtype " + info.dtype()
                        + "; only F32, BF16 and F16 tensors convert to GGUF");
            };
        }
    }

    private static void metadata(GgufWriter w, GgufModel.Arch arch, JsonNode config, String type) {
        String p = arch.name() + ".";
        w.put("general.architecture", GgufValue.of(arch.name()));
        w.put("general.file_type", GgufValue.u32(fileType(type)));
        w.put("general.quantization_version", GgufValue.u32(2));
        for (Map.Entry<String, GgufValue> kv : GgufModel.archMetadata(arch, config).entrySet()) {
            w.put(kv.getKey(), kv.getValue());
        }
        int hidden = config.path("hidden_size").asInt();
        int heads = config.path("num_attention_heads").asInt();
        int headDim = config.path("head_dim").asInt(hidden / heads);
        w.put(p + "rope.dimension_count", GgufValue.u32(headDim));
        w.put(p + "attention.value_length", GgufValue.u32(headDim));
        for (String[] id : new String[][] {{"bos_token_id", "bos"}, {"eos_token_id", "eos"}, {"pad_token_id", "padding"}}) {
            JsonNode v = config.get(id[0]);
            if (v != null && v.canConvertToInt() && v.isIntegralNumber()) {
                w.put("tokenizer.ggml." + id[1] + "_token_id", GgufValue.u32(v.intValue()));
            }
        }
    }

    /** llama.cpp's LLAMA_FTYPE of a file mostly in this type. */
    private static long fileType(String type) {
        return switch (type) {
            case "f32" -> 0;
            case "f16" -> 1;
            case "q4_0" -> 2;
            case "q8_0" -> 7;
            case "q4_k" -> 14;
            case "q4_k_m" -> 15;
            case "q5_k" -> 16;
            case "q6_k" -> 18;
            case "bf16" -> 32;
            default -> throw new IllegalArgumentException(type);
        };
    }

    /** {@code weights convert} of a GGUF file: an HF safetensors checkpoint with float tensors of dtype {@code to}. */
    public static Convert.Result fromGguf(Path source, Path out, DType to, long maxShardBytes, boolean force) {
        if (to != DType.BF16 && to != DType.F16 && to != DType.F32) {
            throw new BadInputException("--dtype " + to + ": from GGUF expected bf16, f16 or f32");
        }
        Convert.checkNotInside(source, out);
        AtomicDirectory.checkWritable(out, force, "--out");
        try (Checkpoint ck = Checkpoint.open(source)) {
            List<SafetensorsWriter.Entry> entries = new ArrayList<>();
            long read = 0;
            for (String name : ck.tensorNames()) {
                TensorInfo t = ck.info(name);
                long n = t.numElements();
                entries.add(new SafetensorsWriter.Entry(name, to, t.shape(), ch -> {
                    float[] v = ck.readFloats(name);
                    SafetensorsWriter.Payload p = DTypeConversion.payload(MemorySegment.ofArray(v), DType.F32, n, to);
                    p.writeTo(ch);
                }));
                read += t.byteSize();
            }
            ObjectNode config = ((ObjectNode) ck.config()).deepCopy();
            List<CheckpointWriter.Shard> shards = new ArrayList<>();
            AtomicDirectory.write(out, force, "--out", tmp -> {
                shards.addAll(CheckpointWriter.writeWeights(tmp, entries, maxShardBytes));
                AtomicFiles.writeString(tmp.resolve(Checkpoint.CONFIG), CheckpointWriter.configWithDtype(config, to));
            });
            long written = shards.stream().mapToLong(CheckpointWriter.Shard::bytes).sum();
            return new Convert.Result(out, to, entries.size(), entries.size(), read, written, shards, List.of());
        }
    }
}
