package org.moescope.weights;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.moescope.checkpoint.Checkpoint;
import org.moescope.errors.BadInputException;
import org.moescope.gguf.GgmlBlocks;
import org.moescope.gguf.GgmlQuantiser;
import org.moescope.gguf.GgmlType;
import org.moescope.gguf.GgufChat;
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
import java.nio.channels.WritableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code weights convert --to gguf} and back: a checkpoint (safetensors or GGUF) as a GGUF file of one ggml type, as
 * llama.cpp lays it out (names and metadata keys of {@link GgufModel}, experts packed per layer, q/k permuted for
 * llama's RoPE), and a GGUF file as an HF safetensors checkpoint; and {@code weights init --to gguf}, a random
 * checkpoint straight to GGUF. Tensors are streamed to the file a chunk of rows at a time.
 */
public final class GgufConvert {
    private GgufConvert() {
    }

    /** The types {@code --dtype} takes for GGUF output; q4_k_m is llama.cpp's mix of Q4_K and Q6_K. */
    public static final List<String> TYPES = List.of("f32", "f16", "bf16", "q8_0", "q4_0", "q4_k", "q4_k_m", "q5_k",
            "q6_k");

    /**
     * {@code tokenizer}: the tokenizer.ggml.pre family written, or why the source's tokenizer was not written;
     * {@code chat}: the chat templates written, or why none was.
     */
    public record Result(Path out, String type, int tensors, long bytes, String tokenizer, String chat) {
    }

    /**
     * What the source's tokenizer_config.json / chat_template.jinja say about chat, as transformers reads them (the
     * CLI reads them with the engine's ChatConfig): templates by name, and the named special tokens (bos_token, ...).
     */
    public record Chat(Map<String, String> templates, Map<String, String> specialTokens) {
    }

    /** {@link #toGguf(Path, Path, String, boolean, Chat)} without chat keys. */
    public static Result toGguf(Path source, Path out, String typeName, boolean force) {
        return toGguf(source, out, typeName, force, null);
    }

    private static final com.fasterxml.jackson.databind.ObjectMapper JSON = new com.fasterxml.jackson.databind.ObjectMapper();
    private static final Pattern LAYER = Pattern.compile("blk\\.(\\d+)\\.(.+)");
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /**
     * Writes {@code source} as one GGUF file; {@code chat} (or null) adds the chat template and the special tokens'
     * ids, which win over config.json's bos/eos/pad ids as in llama.cpp's converter.
     */
    public static Result toGguf(Path source, Path out, String typeName, boolean force, Chat chat) {
        String type = checkedType(typeName, out, force);
        try (Checkpoint ck = Checkpoint.open(source)) {
            JsonNode config = ck.config();
            if (Q8.isQ8(config)) {
                throw new BadInputException(source + ": a Q8_0 safetensors checkpoint; convert the float checkpoint");
            }
            GgufModel.Arch arch = arch(config, ck.configSource().toString());
            GgufWriter w = new GgufWriter();
            if (!ck.tensorNames().contains("model.embed_tokens.weight")) {
                throw new BadInputException(source + ": missing tensor 'model.embed_tokens.weight'");
            }
            long vocabRows = ck.info("model.embed_tokens.weight").shape()[0];
            // llama.cpp sizes its vocabulary from the tokenizer (or, with none, from <arch>.vocab_size) and refuses a
            // file whose token_embd has another number of rows.
            w.put(arch.name() + ".vocab_size", GgufValue.u32(vocabRows));
            Map<String, GgufValue> vocab = new LinkedHashMap<>();
            String tokenizer = tokenizer(vocab, source, vocabRows);
            vocab.forEach(w::put);
            metadata(w, arch, config, type); // after the tokenizer: config.json's bos/eos ids are the model's
            String chatWritten = chat(w, vocab, chat); // after the metadata: its special tokens win, as in llama.cpp
            Map<String, long[]> shapes = new LinkedHashMap<>();
            for (String hf : ck.tensorNames()) shapes.put(hf, ck.info(hf).shape());
            int count = write(w, arch, config, type, shapes, (hf, first, rows, into) -> {
                TensorInfo info = ck.info(hf);
                int cols = (int) info.shape()[info.shape().length - 1];
                float[] row = new float[cols];
                for (int r = 0; r < rows; r++) {
                    readRow(ck, hf, info, first + r, cols, row);
                    System.arraycopy(row, 0, into, r * cols, cols);
                }
            }, Runtime.getRuntime().availableProcessors(), source.toString(), out);
            return new Result(out, type, count, size(out), tokenizer, chatWritten);
        }
    }

    /**
     * {@code weights init --to gguf}: a random checkpoint of {@code plan} written straight as a GGUF file of one ggml
     * type, tensor by tensor, as {@code weights init --dtype f32} followed by {@code weights convert --to gguf} would
     * write it (the same values, quantised the same way), without the float checkpoint in between (a 30B-parameter
     * model would need 120 GB of F32 or 60 GB of BF16 on disk for an 18 GB Q4_K_M file). No tokenizer is written.
     */
    public static Result init(List<Init.TensorPlan> plan, JsonNode config, String configSource, long seed,
                              String typeName, Path out, boolean force, int threads) {
        String type = checkedType(typeName, out, force);
        GgufModel.Arch arch = arch(config, configSource);
        Map<String, long[]> shapes = new LinkedHashMap<>();
        Map<String, Init.TensorPlan> byName = new LinkedHashMap<>();
        for (Init.TensorPlan t : plan) {
            shapes.put(t.name(), t.shape());
            byName.put(t.name(), t);
        }
        GgufWriter w = new GgufWriter();
        long[] embed = shapes.get("model.embed_tokens.weight");
        if (embed == null) {
            throw new BadInputException(configSource + ": no tensor 'model.embed_tokens.weight' in the plan");
        }
        w.put(arch.name() + ".vocab_size", GgufValue.u32(embed[0])); // no vocabulary: llama.cpp sizes it from this
        w.put("tokenizer.ggml.model", GgufValue.of(GgufTokenizer.NONE));
        metadata(w, arch, config, type);
        int count = write(w, arch, config, type, shapes, (hf, first, rows, into) -> {
            Init.TensorPlan t = byName.get(hf);
            long[] shape = t.shape();
            int cols = (int) shape[shape.length - 1];
            Init.floats(t, seed, first * cols, rows * cols, into);
        }, threads, configSource, out);
        return new Result(out, type, count, size(out), "none (weights init writes no tokenizer)", "none");
    }

    /** Rows first .. first+rows-1 of a source tensor, widened to float, into (rows, cols); called from any thread. */
    @FunctionalInterface
    interface Rows {
        void read(String hf, long first, int rows, float[] into);
    }

    private static String checkedType(String typeName, Path out, boolean force) {
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
        return type;
    }

    private static GgufModel.Arch arch(JsonNode config, String configSource) {
        String modelType = config.path("model_type").asText();
        GgufModel.Arch arch = GgufModel.byModelType(modelType);
        if (arch == null) {
            throw new BadInputException(configSource + ": model_type " + modelType
                    + " has no GGUF architecture here; supported: olmoe, qwen2_moe, qwen3_moe, mixtral");
        }
        refuseWhatGgufCannotSay(configSource, config);
        return arch;
    }

    private static long size(Path out) {
        try {
            return Files.size(out);
        } catch (java.io.IOException ex) {
            throw new BadInputException(out + ": cannot read back: " + ex.getMessage());
        }
    }

    /**
     * Values read and quantised per task: about four of weights init's blocks of 2^20 values, so a task outweighs its
     * hand-over and, where a row count allows, starts and ends on a block boundary (a random block is generated
     * whole, so a task that cuts one generates it twice).
     */
    private static final int CHUNK_VALUES = 4 << 20;

    /**
     * Writes every tensor of {@code shapes} (HF names, in order; experts packed per layer) to
     * {@code out}. Each tensor streams: its rows are read in order on this thread and quantised in chunks on a pool of
     * {@code threads}, at most 2 × threads chunks ahead of the file, so memory holds a few chunks, not a tensor.
     * @return the number of GGUF tensors
     */
    private static int write(GgufWriter w, GgufModel.Arch arch, JsonNode config, String type,
                             Map<String, long[]> shapes, Rows rows, int threads, String source, Path out) {
        int layers = config.path("num_hidden_layers").asInt();
        int heads = config.path("num_attention_heads").asInt();
        int kvHeads = config.path("num_key_value_heads").asInt(heads);
        // GGUF name -> HF names (experts: one per expert, in expert order)
        Map<String, List<String>> plan = new LinkedHashMap<>();
        for (String hf : shapes.keySet()) {
            String g = GgufModel.ggufName(hf, arch);
            if (g == null) {
                throw new BadInputException(source + ": tensor '" + hf + "' has no GGUF name in a " + arch.name()
                        + " file");
            }
            plan.computeIfAbsent(g, k -> new ArrayList<>()).add(hf);
        }
        if (arch.outputRequired() && !plan.containsKey("output.weight")) {
            // Tied embeddings: llama.cpp's olmoe and qwen2moe loaders refuse a file without output.weight, so the
            // lm_head is written as the embedding's copy (read back as an untied model of the same values).
            plan.put("output.weight", new ArrayList<>(List.of("model.embed_tokens.weight")));
        }
        ExecutorService pool = Init.pool("gguf-quantise", threads);
        try {
            int window = 2 * Math.max(1, threads);
            for (Map.Entry<String, List<String>> e : plan.entrySet()) {
                String g = e.getKey();
                List<String> parts = e.getValue();
                if (parts.size() > 1) {
                    parts.sort((a, b) -> Integer.compare(expertOf(a), expertOf(b)));
                }
                long[] first = shapes.get(parts.get(0));
                long[] shape = parts.size() > 1 ? new long[] {parts.size(), first[0], first[1]} : first;
                GgmlType t = typeFor(g, shape, type, layers);
                int permuteHeads = !arch.permutedQk() ? 0 : g.endsWith("attn_q.weight") ? heads
                        : g.endsWith("attn_k.weight") ? kvHeads : 0;
                w.tensor(g, t, shape, ch -> {
                    if (permuteHeads == 0) {
                        quantise(rows, parts, shapes, t, pool, window, ch);
                        return;
                    }
                    // llama's q/k permutation moves rows across the whole matrix: one attention matrix in memory
                    java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
                    WritableByteChannel collect = java.nio.channels.Channels.newChannel(bytes);
                    quantise(rows, parts, shapes, t, pool, window, collect);
                    byte[] b = GgufModel.permute(bytes.toByteArray(), permuteHeads, t.rowBytes(shape[shape.length - 1]));
                    GgufWriter.Body.of(b).writeTo(ch);
                });
            }
            w.write(out);
            return plan.size();
        } finally {
            pool.shutdownNow();
        }
    }

    /**
     * A pool thread's float rows, kept between tasks: a fresh 16 MB array per task let the collector grow the heap to
     * its maximum (5.7 GB of anonymous memory while writing a 30B-parameter file) before collecting.
     */
    private static final ThreadLocal<float[][]> CHUNK = ThreadLocal.withInitial(() -> new float[1][0]);

    private static float[] chunkValues(int n) {
        float[][] held = CHUNK.get();
        if (held[0].length < n) held[0] = new float[n];
        return held[0];
    }

    /**
     * The rows of {@code parts} (one source tensor, or a layer's experts in order) in type t: chunks of rows read and
     * quantised as tasks on the pool, at most {@code window} ahead, written in order.
     */
    private static void quantise(Rows rows, List<String> parts, Map<String, long[]> shapes, GgmlType t,
                                 ExecutorService pool, int window, WritableByteChannel ch) throws java.io.IOException {
        ArrayDeque<Future<byte[]>> inFlight = new ArrayDeque<>();
        try {
            for (String hf : parts) {
                long[] shape = shapes.get(hf);
                int cols = (int) shape[shape.length - 1];
                long n = 1;
                for (long d : shape) n *= d;
                n /= cols;
                int chunk = (int) Math.max(1, Math.min(n, CHUNK_VALUES / cols));
                for (long r = 0; r < n; r += chunk) {
                    long first = r;
                    int k = (int) Math.min(chunk, n - r);
                    if (inFlight.size() >= window) GgufWriter.Body.of(inFlight.poll().get()).writeTo(ch);
                    inFlight.add(pool.submit(() -> {
                        float[] values = chunkValues(k * cols);
                        rows.read(hf, first, k, values);
                        int rowBytes = (int) t.rowBytes(cols);
                        byte[] out = new byte[k * rowBytes];
                        for (int i = 0; i < k; i++) {
                            System.arraycopy(GgmlQuantiser.encode(t, values, i * cols, cols), 0, out, i * rowBytes, rowBytes);
                        }
                        return out;
                    }));
                }
            }
            while (!inFlight.isEmpty()) GgufWriter.Body.of(inFlight.poll().get()).writeTo(ch);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted while quantising");
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException re) throw re; // a BadInputException of a source stays one
            throw new IllegalStateException("quantising: " + e.getCause(), e.getCause());
        } finally {
            inFlight.forEach(f -> f.cancel(true));
        }
    }

    /**
     * The tokenizer.ggml.* keys of {@code source}'s tokenizer.json when it has one GGUF can carry, its vocabulary
     * padded to the embedding's {@code vocab} rows; returns the family written, or why none was. Without one the file
     * says {@code tokenizer.ggml.model = "none"}, llama.cpp's "no vocabulary" (it refuses a file without the key).
     */
    private static String tokenizer(Map<String, GgufValue> w, Path source, long vocab) {
        Path file = source.resolve("tokenizer.json");
        if (!Files.isDirectory(source) || !Files.isRegularFile(file)) {
            w.put("tokenizer.ggml.model", GgufValue.of(GgufTokenizer.NONE));
            return "none (no tokenizer.json in " + source + ")";
        }
        JsonNode tj;
        try {
            tj = JSON.readTree(file.toFile());
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
        w.putAll(keys);
        String family = keys.get("tokenizer.ggml.pre").value().toString();
        int ids = ((List<?>) keys.get("tokenizer.ggml.tokens").value()).size();
        return ids <= vocab ? family : family + " (" + ids + " token ids for " + vocab
                + " embedding rows: llama.cpp will refuse this file)";
    }

    /**
     * The chat keys ({@link GgufChat#keys}): the special tokens' ids need the vocabulary just written. Returns what
     * was written, for the command's line.
     */
    @SuppressWarnings("unchecked")
    private static String chat(GgufWriter w, Map<String, GgufValue> vocab, Chat chat) {
        if (chat == null) {
            return "none";
        }
        List<String> tokens = vocab.containsKey("tokenizer.ggml.tokens")
                ? (List<String>) vocab.get("tokenizer.ggml.tokens").value() : List.of();
        List<Long> types = vocab.containsKey("tokenizer.ggml.token_type")
                ? (List<Long>) vocab.get("tokenizer.ggml.token_type").value() : List.of();
        GgufChat.keys(chat.templates(), chat.specialTokens(), tokens, types).forEach(w::put);
        return chat.templates().isEmpty() ? "none" : String.join(", ", chat.templates().keySet());
    }

    /** What config.json may say that a GGUF file of these architectures has no key for. */
    private static void refuseWhatGgufCannotSay(String configSource, JsonNode c) {
        if (c.path("use_sliding_window").asBoolean(false)
                || (c.path("model_type").asText().equals("mixtral") && c.path("sliding_window").isNumber())) {
            throw new BadInputException(configSource + ": field \"sliding_window\": sliding-window attention has"
                    + " no GGUF key for this architecture");
        }
        JsonNode scaling = c.get("rope_scaling");
        if (scaling != null && !scaling.isNull()) {
            throw new BadInputException(configSource + ": field \"rope_scaling\": scaled RoPE is not supported");
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
        // Vectors, and the routers (ffn_gate_inp, ffn_gate_inp_shexp) as llama.cpp's converter and llama-quantize
        // keep them: the routers decide every expert choice, and they are small.
        if (shape.length == 1 || gguf.contains(".ffn_gate_inp")) return GgmlType.F32;
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

    /**
     * {@code weights convert} of a GGUF file: an HF safetensors checkpoint with float tensors of dtype {@code to},
     * config.json from the metadata, and the file's tokenizer as tokenizer.json and its chat template and special
     * tokens as tokenizer_config.json ({@link GgufChat}). The result's {@code copiedFiles} lists those two as written,
     * or "tokenizer.json not written: why" when the file's tokenizer is one this reader does not turn into a
     * tokenizer.json (the weights are converted all the same).
     */
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
            Map<String, JsonNode> files = new LinkedHashMap<>();
            List<String> notes = new ArrayList<>();
            if (GgufTokenizer.present(ck.gguf())) {
                try {
                    files.put("tokenizer.json", GgufTokenizer.toTokenizerJson(ck.gguf()));
                } catch (BadInputException e) {
                    notes.add("tokenizer.json not written: " + e.getMessage());
                }
            }
            ObjectNode chat = GgufChat.toTokenizerConfig(ck.gguf());
            if (!chat.isEmpty()) files.put("tokenizer_config.json", chat);
            List<CheckpointWriter.Shard> shards = new ArrayList<>();
            AtomicDirectory.write(out, force, "--out", tmp -> {
                shards.addAll(CheckpointWriter.writeWeights(tmp, entries, maxShardBytes));
                AtomicFiles.writeString(tmp.resolve(Checkpoint.CONFIG), CheckpointWriter.configWithDtype(config, to));
                for (Map.Entry<String, JsonNode> f : files.entrySet()) {
                    AtomicFiles.writeString(tmp.resolve(f.getKey()), JSON.writerWithDefaultPrettyPrinter()
                            .writeValueAsString(f.getValue()) + "\n");
                }
            });
            long written = shards.stream().mapToLong(CheckpointWriter.Shard::bytes).sum();
            notes.addAll(0, files.keySet());
            return new Convert.Result(out, to, entries.size(), entries.size(), read, written, shards, notes);
        }
    }
}
