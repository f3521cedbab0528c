package org.moescope.weights;

import com.fasterxml.jackson.databind.JsonNode;
import org.moescope.checkpoint.Checkpoint;
import org.moescope.errors.BadInputException;
import org.moescope.safetensors.SafetensorsFile;
import org.moescope.safetensors.TensorInfo;

import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The tensors the weights tools read: an HF checkpoint directory (config.json plus one file or an index and shards)
 * or a single safetensors file. Tensors are listed in storage order (shards by file name, then by offset), which is
 * the order the model wrote them in, not the index's alphabetical order.
 */
public final class WeightSource implements AutoCloseable {
    private final Path path;
    private final Checkpoint checkpoint;   // null for a single file
    private final List<SafetensorsFile> files;
    private final Map<String, SafetensorsFile> byName; // storage order

    private WeightSource(Path path, Checkpoint checkpoint, List<SafetensorsFile> files) {
        this.path = path;
        this.checkpoint = checkpoint;
        this.files = files.stream().sorted(Comparator.comparing(f -> f.path().getFileName().toString())).toList();
        this.byName = new LinkedHashMap<>();
        for (SafetensorsFile f : this.files) {
            List<TensorInfo> ts = new ArrayList<>(f.tensors());
            ts.sort(Comparator.comparingLong(TensorInfo::begin).thenComparing(TensorInfo::name));
            for (TensorInfo t : ts) {
                byName.put(t.name(), f);
            }
        }
    }

    /** Opens a checkpoint directory or a .safetensors file; every header and the index are validated here. */
    public static WeightSource open(Path path) {
        refuseGguf(path);
        if (Files.isDirectory(path)) {
            Checkpoint c = Checkpoint.open(path);
            return new WeightSource(path, c, c.shards());
        }
        if (!Files.exists(path)) {
            throw new BadInputException(path + ": no such file or directory");
        }
        return new WeightSource(path, null, List.of(SafetensorsFile.open(path)));
    }

    /** Opens a checkpoint directory; a single file is bad input here (the command needs config.json). */
    public static WeightSource openDirectory(Path dir) {
        refuseGguf(dir);
        if (!Files.isDirectory(dir)) {
            throw new BadInputException(dir + ": not a checkpoint directory (expected config.json and model.safetensors)");
        }
        return open(dir);
    }

    /**
     * These tools read safetensors headers, dtypes and bytes; a GGUF file's block types have none of those, so it is
     * named as what it is rather than misread as a safetensors file.
     */
    private static void refuseGguf(Path path) {
        if (Checkpoint.isGguf(path)) {
            throw new BadInputException(path + ": a GGUF file; weights inspect, verify and diff read safetensors "
                    + "checkpoints (weights convert " + path + " --dtype bf16 --out DIR makes one)");
        }
    }

    public Path path() {
        return path;
    }

    public boolean isDirectory() {
        return checkpoint != null;
    }

    /** The checkpoint's config.json; null for a single file. */
    public JsonNode config() {
        return checkpoint == null ? null : checkpoint.config();
    }

    public Path configPath() {
        return checkpoint == null ? null : path.resolve(Checkpoint.CONFIG);
    }

    /** The index file when the checkpoint is sharded, else null. */
    public Path indexPath() {
        Path index = path.resolve(Checkpoint.INDEX);
        return checkpoint != null && Files.exists(index) ? index : null;
    }

    /** The safetensors files, by file name. */
    public List<SafetensorsFile> files() {
        return files;
    }

    public List<String> tensorNames() {
        return List.copyOf(byName.keySet());
    }

    public boolean contains(String name) {
        return byName.containsKey(name);
    }

    public TensorInfo info(String name) {
        return fileOf(name).info(name);
    }

    public MemorySegment segment(String name) {
        return fileOf(name).segment(name);
    }

    public SafetensorsFile fileOf(String name) {
        SafetensorsFile f = byName.get(name);
        if (f == null) {
            throw new BadInputException(path + ": no tensor named '" + name + "'");
        }
        return f;
    }

    @Override
    public void close() {
        if (checkpoint != null) {
            checkpoint.close();
        } else {
            files.forEach(SafetensorsFile::close);
        }
    }
}
