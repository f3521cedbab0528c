package org.moescope.weights;

import org.moescope.checkpoint.Checkpoint;
import org.moescope.errors.BadInputException;
import org.moescope.output.AtomicDirectory;
import org.moescope.output.AtomicFiles;
import org.moescope.safetensors.DType;
import org.moescope.safetensors.SafetensorsWriter;
import org.moescope.safetensors.TensorInfo;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

/**
 * {@code weights convert}: rewrites a checkpoint in another floating-point dtype, resharded, with config.json's dtype
 * updated and the other files (tokenizer, generation config) copied. Streaming: each tensor is converted from the
 * mapped source through one bounded buffer, so memory use does not grow with the model.
 */
public final class Convert {
    /** Files of the source that describe the old weights and are not copied. */
    private static final Set<String> NOT_COPIED = Set.of(Checkpoint.CONFIG, Checkpoint.INDEX, Manifest.DEFAULT_NAME);

    private Convert() {
    }

    public record Result(Path out, DType dtype, int tensors, int converted, long bytesRead, long bytesWritten,
                         List<CheckpointWriter.Shard> shards, List<String> copiedFiles) {
    }

    public static Result run(Path source, Path out, DType to, long maxShardBytes, boolean force) {
        if (to != DType.BF16 && to != DType.F16 && to != DType.F32) {
            throw new BadInputException("--dtype " + to + ": expected bf16, f16 or f32");
        }
        checkNotInside(source, out);
        AtomicDirectory.checkWritable(out, force, "--out");
        try (WeightSource src = WeightSource.openDirectory(source)) {
            List<SafetensorsWriter.Entry> entries = new ArrayList<>();
            long read = 0;
            int converted = 0;
            for (String name : src.tensorNames()) {
                TensorInfo t = src.info(name);
                if (!DTypeConversion.canConvert(t.dtype(), to)) {
                    // integer tensors (e.g. buffers) keep their dtype
                    entries.add(SafetensorsWriter.raw(name, t.dtype(), t.shape(), src.segment(name)));
                } else {
                    entries.add(new SafetensorsWriter.Entry(name, to, t.shape(),
                            DTypeConversion.payload(src.segment(name), t.dtype(), t.numElements(), to)));
                    if (t.dtype() != to) {
                        converted++;
                    }
                }
                read += t.byteSize();
            }
            return write(source, out, force, maxShardBytes, entries, CheckpointWriter.configWithDtype(src.config(), to),
                    to, read, converted);
        }
    }

    /**
     * {@code weights convert --dtype q8_0}: the projections and lm_head as int8 with a float32 scale per 32 values
     * ({@link Q8}), everything else as it was; config.json gains quantization_config. Result.dtype is I8.
     */
    public static Result runQ8(Path source, Path out, long maxShardBytes, boolean force) {
        checkNotInside(source, out);
        AtomicDirectory.checkWritable(out, force, "--out");
        try (WeightSource src = WeightSource.openDirectory(source)) {
            if (Q8.isQ8(src.config())) {
                throw new BadInputException(source + ": already Q8_0 (config.json quantization_config)");
            }
            List<SafetensorsWriter.Entry> entries = new ArrayList<>();
            long read = 0;
            int converted = 0;
            for (String name : src.tensorNames()) {
                TensorInfo t = src.info(name);
                if (Q8.quantizes(name, t)) {
                    entries.addAll(Q8.entries(name, t, src.segment(name)));
                    converted++;
                } else {
                    entries.add(SafetensorsWriter.raw(name, t.dtype(), t.shape(), src.segment(name)));
                }
                read += t.byteSize();
            }
            return write(source, out, force, maxShardBytes, entries, Q8.config(src.config()), DType.I8, read, converted);
        }
    }

    private static Result write(Path source, Path out, boolean force, long maxShardBytes,
                                List<SafetensorsWriter.Entry> entries, String config, DType to, long read,
                                int converted) {
        List<CheckpointWriter.Shard> shards = new ArrayList<>();
        List<String> copied = new ArrayList<>();
        AtomicDirectory.write(out, force, "--out", tmp -> {
            shards.addAll(CheckpointWriter.writeWeights(tmp, entries, maxShardBytes));
            AtomicFiles.writeString(tmp.resolve(Checkpoint.CONFIG), config);
            copied.addAll(copyOtherFiles(source, tmp));
        });
        long written = shards.stream().mapToLong(CheckpointWriter.Shard::bytes).sum();
        return new Result(out, to, entries.size(), converted, read, written, shards, copied);
    }

    /** Writing into the source (or a directory holding it) would destroy the input when --force replaces it. */
    static void checkNotInside(Path source, Path out) {
        Path s = source.toAbsolutePath().normalize();
        Path o = out.toAbsolutePath().normalize();
        if (s.startsWith(o)) {
            throw new BadInputException("--out " + out + ": is the input checkpoint or contains it");
        }
    }

    private static List<String> copyOtherFiles(Path source, Path dest) throws IOException {
        List<String> copied = new ArrayList<>();
        try (Stream<Path> files = Files.list(source)) {
            for (Path f : files.sorted().toList()) {
                String name = f.getFileName().toString();
                boolean weights = name.endsWith(".safetensors");
                if (weights || name.startsWith(".") || NOT_COPIED.contains(name) || !Files.isRegularFile(f)) {
                    continue;
                }
                Files.copy(f, dest.resolve(name));
                copied.add(name);
            }
        }
        return copied;
    }
}
