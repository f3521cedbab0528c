package org.moescope.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.moescope.errors.BadInputException;
import org.moescope.safetensors.SafetensorsFile;
import org.moescope.safetensors.TensorInfo;

import java.io.IOException;
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

    private Checkpoint(Path dir, byte[] configBytes, JsonNode config, List<SafetensorsFile> shards,
                       Map<String, SafetensorsFile> byTensor) {
        this.dir = dir;
        this.configBytes = configBytes;
        this.config = config;
        this.shards = shards;
        this.byTensor = byTensor;
    }

    public static Checkpoint open(Path dir) {
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

    public Path dir() {
        return dir;
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
        return byTensor.containsKey(name);
    }

    /** All tensor names, in index/file order. */
    public List<String> tensorNames() {
        return List.copyOf(byTensor.keySet());
    }

    public TensorInfo info(String name) {
        return shardOf(name).info(name);
    }

    public MemorySegment segment(String name) {
        return shardOf(name).segment(name);
    }

    public float[] readFloats(String name) {
        return shardOf(name).readFloats(name);
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
    }
}
