package org.moescope.weights;

import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.core.util.Separators;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.moescope.checkpoint.Checkpoint;
import org.moescope.output.AtomicFiles;
import org.moescope.safetensors.DType;
import org.moescope.safetensors.SafetensorsWriter;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * Writes tensors as an HF checkpoint: one {@code model.safetensors}, or {@code model-0000i-of-0000N.safetensors}
 * shards plus {@code model.safetensors.index.json} when they exceed the shard size. Shards are filled in order like
 * huggingface_hub's splitter: a tensor that does not fit starts a new shard; one larger than the limit gets its own.
 */
public final class CheckpointWriter {
    /** HF's default for save_pretrained. */
    public static final long DEFAULT_MAX_SHARD = 5_000_000_000L;
    /** Shards carry format=pt: transformers refuses safetensors files without it. */
    public static final Map<String, String> SHARD_METADATA = Map.of("format", "pt");

    static final ObjectMapper JSON = new ObjectMapper();

    private CheckpointWriter() {
    }

    /** One written shard file. */
    public record Shard(String fileName, long bytes, List<String> tensors) {
    }

    /** Splits entries into shards of at most {@code maxShardBytes} tensor bytes each. */
    public static List<List<SafetensorsWriter.Entry>> plan(List<SafetensorsWriter.Entry> entries, long maxShardBytes) {
        List<List<SafetensorsWriter.Entry>> shards = new ArrayList<>();
        List<SafetensorsWriter.Entry> current = new ArrayList<>();
        long size = 0;
        for (SafetensorsWriter.Entry e : entries) {
            long b = e.byteSize();
            if (!current.isEmpty() && size + b > maxShardBytes) {
                shards.add(current);
                current = new ArrayList<>();
                size = 0;
            }
            current.add(e);
            size += b;
        }
        if (!current.isEmpty() || shards.isEmpty()) {
            shards.add(current);
        }
        return shards;
    }

    public static String shardName(int index, int count) {
        return count == 1 ? Checkpoint.SINGLE_FILE
                : String.format(Locale.ROOT, "model-%05d-of-%05d.safetensors", index + 1, count);
    }

    /** Writes the weight files into {@code dir} (an empty directory); returns the shards in order. */
    public static List<Shard> writeWeights(Path dir, List<SafetensorsWriter.Entry> entries, long maxShardBytes) {
        List<List<SafetensorsWriter.Entry>> planned = plan(entries, maxShardBytes);
        List<Shard> shards = new ArrayList<>();
        Map<String, String> weightMap = new TreeMap<>();
        long totalBytes = 0;
        long totalParams = 0;
        for (int i = 0; i < planned.size(); i++) {
            String name = shardName(i, planned.size());
            List<SafetensorsWriter.Entry> part = planned.get(i);
            Path file = dir.resolve(name);
            SafetensorsWriter.write(file, SHARD_METADATA, part);
            List<String> names = part.stream().map(SafetensorsWriter.Entry::name).toList();
            long headerAndData = fileSize(file);
            shards.add(new Shard(name, headerAndData, names));
            for (SafetensorsWriter.Entry e : part) {
                weightMap.put(e.name(), name);
                totalBytes += e.byteSize();
                totalParams += e.byteSize() / e.dtype().byteSize();
            }
        }
        if (planned.size() > 1) {
            ObjectNode index = JSON.createObjectNode();
            ObjectNode meta = index.putObject("metadata");
            meta.put("total_parameters", totalParams);
            meta.put("total_size", totalBytes);
            ObjectNode map = index.putObject("weight_map");
            weightMap.forEach(map::put);
            AtomicFiles.writeString(dir.resolve(Checkpoint.INDEX), pretty(index));
        }
        return shards;
    }

    private static long fileSize(Path p) {
        try {
            return java.nio.file.Files.size(p);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /**
     * config.json with its dtype set to {@code dtype}: whichever of {@code torch_dtype} (transformers 4.x) and
     * {@code dtype} (5.x) it has is updated; a config with neither gets {@code torch_dtype}, which both versions read.
     */
    public static String configWithDtype(JsonNode config, DType dtype) {
        ObjectNode copy = ((ObjectNode) config).deepCopy();
        boolean any = false;
        for (String field : List.of("torch_dtype", "dtype")) {
            if (copy.has(field)) {
                copy.put(field, dtype.torchName());
                any = true;
            }
        }
        if (!any) {
            copy.put("torch_dtype", dtype.torchName());
        }
        return pretty(copy);
    }

    /** JSON laid out as Python's json.dumps(indent=2) does, with a final newline. */
    static String pretty(JsonNode node) {
        DefaultPrettyPrinter printer = new DefaultPrettyPrinter()
                .withObjectIndenter(new DefaultIndenter("  ", "\n"))
                .withArrayIndenter(new DefaultIndenter("  ", "\n"))
                .withSeparators(Separators.createDefaultInstance()
                        .withObjectFieldValueSpacing(Separators.Spacing.AFTER));
        try {
            return JSON.writer(printer).writeValueAsString(node) + "\n";
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
