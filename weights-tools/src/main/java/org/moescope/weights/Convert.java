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
            List<CheckpointWriter.Shard> shards = new ArrayList<>();
            List<String> copied = new ArrayList<>();
            long total = read;
            int convertedCount = converted;
            AtomicDirectory.write(out, force, "--out", tmp -> {
                shards.addAll(CheckpointWriter.writeWeights(tmp, entries, maxShardBytes));
                AtomicFiles.writeString(tmp.resolve(Checkpoint.CONFIG), CheckpointWriter.configWithDtype(src.config(), to));
                copied.addAll(copyOtherFiles(source, tmp));
            });
            long written = shards.stream().mapToLong(CheckpointWriter.Shard::bytes).sum();
            return new Result(out, to, entries.size(), convertedCount, total, written, shards, copied);
        }
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
