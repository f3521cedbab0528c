package org.moescope.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.moescope.errors.BadInputException;
import org.moescope.gguf.GgmlBlocks;
import org.moescope.gguf.GgmlType;
import org.moescope.gguf.GgufFile;
import org.moescope.gguf.GgufModel;
import org.moescope.safetensors.SafetensorsFile;
import org.moescope.safetensors.TensorInfo;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An HF checkpoint directory: {@code config.json} plus either {@code model.safetensors} or
 * {@code model.safetensors.index.json} with its shards. Each shard is mapped once; tensors are looked up by name
 * across shards. The config is kept as raw JSON: which fields mean what is the model's business (engine).
 *
 * <p>A GGUF file (llama.cpp's format) opens as the checkpoint it was converted from: {@link GgufModel} turns its
 * metadata into config.json's fields and its tensor names into HF's, and tensors in ggml block types keep their
 * bytes ({@link #ggmlType} says which type; their {@link TensorInfo} dtype is U8).
 */
public final class Checkpoint implements AutoCloseable {
    public static final String CONFIG = "config.json";
    public static final String SINGLE_FILE = "model.safetensors";
    public static final String INDEX = "model.safetensors.index.json";

    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private final Path dir;
    private final byte[] configBytes;
    private final JsonNode config;
    private final List<SafetensorsFile> shards;
    private final Map<String, SafetensorsFile> byTensor; // tensor name -> shard holding it, in file order
    private final GgufFile gguf;                          // the GGUF file, or null
    private final Map<String, GgufModel.Stored> ggufTensors; // HF name -> GGUF tensor view, or null
    private final Arena arena;                            // un-permuted q/k copies of a GGUF file, or null

    private Checkpoint(Path dir, byte[] configBytes, JsonNode config, List<SafetensorsFile> shards,
                       Map<String, SafetensorsFile> byTensor) {
        this(dir, configBytes, config, shards, byTensor, null, null, null);
    }

    private Checkpoint(Path dir, byte[] configBytes, JsonNode config, List<SafetensorsFile> shards,
                       Map<String, SafetensorsFile> byTensor, GgufFile gguf, Map<String, GgufModel.Stored> ggufTensors,
                       Arena arena) {
        this.dir = dir;
        this.configBytes = configBytes;
        this.config = config;
        this.shards = shards;
        this.byTensor = byTensor;
        this.gguf = gguf;
        this.ggufTensors = ggufTensors;
        this.arena = arena;
    }

    /** Whether {@code path} is a GGUF file rather than a checkpoint directory. */
    public static boolean isGguf(Path path) {
        return Files.isRegularFile(path) && GgufFile.hasMagic(path);
    }

    /**
     * One line of bad input for a model path that can be neither a checkpoint directory nor a GGUF file: a path that
     * does not exist, a file that does not begin with the GGUF magic, or a directory named *.gguf without config.json
     * (a GGUF model is one file). A truncated or malformed GGUF file is left to {@link GgufFile#open}, which names the
     * field.
     */
    public static void checkModelPath(Path path) {
        if (Files.isDirectory(path)) {
            Path name = path.getFileName();
            if (name != null && name.toString().toLowerCase(java.util.Locale.ROOT).endsWith(".gguf")
                    && !Files.exists(path.resolve(CONFIG))) {
                throw new BadInputException(path + ": is a directory (without " + CONFIG + "), not a GGUF file");
            }
        } else if (!Files.exists(path)) {
            throw new BadInputException(path + ": no such file or directory");
        } else if (!GgufFile.hasMagic(path)) {
            throw new BadInputException(path + ": neither a checkpoint directory nor a GGUF file (it does not begin "
                    + "with \"GGUF\")");
        }
    }

    /** Opens a checkpoint directory or a GGUF file. */
    public static Checkpoint open(Path dir) {
        checkModelPath(dir);
        if (isGguf(dir)) {
            return openGguf(dir);
        }
        if (!Files.isDirectory(dir)) {
            throw new BadInputException(dir + ": not a checkpoint directory (expected config.json and model.safetensors)");
        }
        Path configPath = dir.resolve(CONFIG);
        byte[] configBytes = readBytes(configPath);
        JsonNode config = parseJson(configPath, configBytes);
        if (!config.isObject()) {
            throw new BadInputException(configPath + ": not a JSON object");
        }
        List<SafetensorsFile> shards = new ArrayList<>();
        Map<String, SafetensorsFile> byTensor = new LinkedHashMap<>();
        try {
            Path single = dir.resolve(SINGLE_FILE);
            Path index = dir.resolve(INDEX);
            if (Files.exists(index)) {
                openSharded(index, shards, byTensor);
            } else if (Files.exists(single)) {
                SafetensorsFile f = SafetensorsFile.open(single);
                shards.add(f);
                f.tensors().forEach(t -> byTensor.put(t.name(), f));
            } else {
                throw new BadInputException(dir + ": no " + SINGLE_FILE + " or " + INDEX);
            }
        } catch (RuntimeException e) {
            shards.forEach(SafetensorsFile::close);
            throw e;
        }
        return new Checkpoint(dir, configBytes, config, List.copyOf(shards), Collections.unmodifiableMap(byTensor));
    }

    private static Checkpoint openGguf(Path file) {
        GgufFile f = GgufFile.open(file);
        Arena arena = Arena.ofShared();
        try {
            GgufModel.Opened m = GgufModel.open(f, arena);
            byte[] configBytes = JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(m.config());
            return new Checkpoint(file, configBytes, m.config(), List.of(), Map.of(), f,
                    Collections.unmodifiableMap(m.tensors()), arena);
        } catch (IOException | RuntimeException e) {
            arena.close();
            f.close();
            if (e instanceof RuntimeException r) throw r;
            throw new IllegalStateException(e);
        }
    }

    private static void openSharded(Path index, List<SafetensorsFile> shards, Map<String, SafetensorsFile> byTensor) {
        JsonNode root = parseJson(index, readBytes(index));
        JsonNode weightMap = root.get("weight_map");
        if (weightMap == null || !weightMap.isObject()) {
            throw new BadInputException(index + ": missing \"weight_map\" object");
        }
        Map<String, SafetensorsFile> opened = new LinkedHashMap<>();
        var fields = weightMap.fields();
        while (fields.hasNext()) {
            var e = fields.next();
            if (!e.getValue().isTextual()) {
                throw new BadInputException(index + ": weight_map entry '" + e.getKey() + "' is not a file name");
            }
            String shardName = e.getValue().textValue();
            Path shardPath = index.resolveSibling(shardName).normalize();
            if (!shardPath.getParent().equals(index.toAbsolutePath().getParent().normalize())
                    && !shardPath.getParent().equals(index.getParent().normalize())) {
                throw new BadInputException(index + ": shard name '" + shardName + "' leaves the checkpoint directory");
            }
            SafetensorsFile shard = opened.get(shardName);
            if (shard == null) {
                if (!Files.exists(shardPath)) {
                    throw new BadInputException(index + ": shard '" + shardName + "' (for tensor '" + e.getKey()
                            + "') does not exist");
                }
                shard = SafetensorsFile.open(shardPath);
                opened.put(shardName, shard);
                shards.add(shard);
            }
            if (!shard.contains(e.getKey())) {
                throw new BadInputException(index + ": tensor '" + e.getKey() + "' is not in shard '" + shardName + "'");
            }
            byTensor.put(e.getKey(), shard);
        }
        for (SafetensorsFile shard : shards) {
            for (TensorInfo t : shard.tensors()) {
                SafetensorsFile owner = byTensor.get(t.name());
                if (owner == null) {
                    throw new BadInputException(index + ": tensor '" + t.name() + "' in shard '"
                            + shard.path().getFileName() + "' is missing from weight_map");
                }
                if (owner != shard) {
                    throw new BadInputException(index + ": tensor '" + t.name() + "' appears in shards '"
                            + shard.path().getFileName() + "' and '" + owner.path().getFileName() + "'");
                }
            }
        }
    }

    private static byte[] readBytes(Path p) {
        try {
            if (Files.size(p) > 64L << 20) {
                throw new BadInputException(p + ": larger than 64 MB; not a config or index file");
            }
            return Files.readAllBytes(p);
        } catch (NoSuchFileException e) {
            throw new BadInputException(p + ": no such file");
        } catch (IOException e) {
            throw new BadInputException(p + ": cannot read: " + e.getMessage());
        }
    }

    private static JsonNode parseJson(Path p, byte[] bytes) {
        try {
            return JSON.readTree(bytes);
        } catch (IOException e) {
            String msg = e.getMessage() == null ? "" : e.getMessage().lines().findFirst().orElse("");
            throw new BadInputException(p + ": not valid JSON: " + msg);
        }
    }

    /** The checkpoint directory, or the GGUF file. */
    public Path dir() {
        return dir;
    }

    /** Where config.json's fields come from, for messages: DIR/config.json, or the GGUF file. */
    public Path configSource() {
        return gguf != null ? dir : dir.resolve(CONFIG);
    }

    /** The GGUF file this checkpoint reads, or null for safetensors. */
    public GgufFile gguf() {
        return gguf;
    }

    /** The ggml type of a GGUF tensor, or null for a safetensors tensor. */
    public GgmlType ggmlType(String name) {
        if (gguf == null) return null;
        return stored(name).type();
    }

    /** config.json as parsed JSON. */
    public JsonNode config() {
        return config;
    }

    /** SHA-256 (hex) of config.json's bytes: identifies the architecture a route file came from. */
    public String configSha256() {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(configBytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    public List<SafetensorsFile> shards() {
        return shards;
    }

    public boolean contains(String name) {
        return gguf != null ? ggufTensors.containsKey(name) : byTensor.containsKey(name);
    }

    /** All tensor names, in index/file order. */
    public List<String> tensorNames() {
        return List.copyOf(gguf != null ? ggufTensors.keySet() : byTensor.keySet());
    }

    public TensorInfo info(String name) {
        return gguf != null ? stored(name).info() : shardOf(name).info(name);
    }

    public MemorySegment segment(String name) {
        return gguf != null ? stored(name).segment() : shardOf(name).segment(name);
    }

    public float[] readFloats(String name) {
        if (gguf == null) {
            return shardOf(name).readFloats(name);
        }
        GgufModel.Stored s = stored(name);
        long n = s.info().numElements();
        if (n > Integer.MAX_VALUE - 8) {
            throw new BadInputException(dir + ": tensor '" + name + "' is too large to copy onto the heap");
        }
        float[] out = new float[(int) n];
        if (!s.type().computable()) {
            throw new BadInputException(dir + ": tensor '" + name + "' has ggml type " + s.type()
                    + "; supported: F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K");
        }
        GgmlBlocks.dequantise(s.type(), s.segment(), 0, 0, (int) n, out, 0);
        return out;
    }

    private GgufModel.Stored stored(String name) {
        GgufModel.Stored s = ggufTensors.get(name);
        if (s == null) {
            throw new BadInputException(dir + ": missing tensor '" + name + "'");
        }
        return s;
    }

    private SafetensorsFile shardOf(String name) {
        SafetensorsFile f = byTensor.get(name);
        if (f == null) {
            throw new BadInputException(dir + ": missing tensor '" + name + "'");
        }
        return f;
    }

    @Override
    public void close() {
        shards.forEach(SafetensorsFile::close);
        if (gguf != null) {
            gguf.close();
            arena.close();
        }
    }
}
