package org.moescope.weights;

import com.fasterxml.jackson.databind.JsonNode;
import org.moescope.checkpoint.Checkpoint;
import org.moescope.errors.BadInputException;
import org.moescope.safetensors.DType;
import org.moescope.safetensors.SafetensorsFile;
import org.moescope.safetensors.TensorInfo;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * {@code weights verify}: everything that can be wrong with a checkpoint short of running it. Opening it already
 * validates every header and the index against the shards (failures there are bad input, one line); this adds the
 * checks that look at the whole: shapes against config.json, every value finite, the index's totals, stray shards,
 * dtypes against config.json, and optionally a SHA-256 manifest.
 */
public final class Verify {
    private Verify() {
    }

    public enum Severity { ERROR, WARNING }

    /** One thing found; {@code subject} is a tensor or file name. */
    public record Finding(Severity severity, String check, String subject, String message) {
        @Override
        public String toString() {
            return severity.name().toLowerCase(java.util.Locale.ROOT) + " [" + check + "] " + subject + ": " + message;
        }
    }

    /** {@code manifestFiles} is -1 when no manifest was checked. */
    public record Report(Path path, int tensors, long parameters, long tensorBytes, int files, boolean shapesChecked,
                         int manifestFiles, List<Finding> findings) {
        public boolean ok() {
            return findings.stream().noneMatch(f -> f.severity() == Severity.ERROR);
        }

        public long errors() {
            return findings.stream().filter(f -> f.severity() == Severity.ERROR).count();
        }
    }

    /**
     * @param expectedShapes every tensor the config implies, or null to skip the shape check (unknown architecture)
     * @param manifest a sha256sum-style file to check, or null
     */
    public static Report run(WeightSource src, Map<String, long[]> expectedShapes, Path manifest) {
        return run(src, expectedShapes, null, manifest);
    }

    /**
     * @param unused tensors the architecture stores but inference never reads (a multi-token-prediction layer), or
     *               null: they are not shape-checked and get one warning instead of an error each
     */
    public static Report run(WeightSource src, Map<String, long[]> expectedShapes, java.util.function.Predicate<String> unused,
                             Path manifest) {
        if (!src.isDirectory()) {
            throw new BadInputException(src.path() + ": not a checkpoint directory (verify needs config.json)");
        }
        Path dir = src.path();
        List<Finding> findings = new ArrayList<>();
        int manifestFiles = -1;
        if (manifest != null) {
            List<Manifest.Entry> entries = Manifest.parse(manifest); // before the scan: a bad manifest fails fast
            for (Manifest.Check c : Manifest.check(dir, entries)) {
                if (c.actual() == null) {
                    findings.add(new Finding(Severity.ERROR, "manifest", c.path(), "listed in " + manifest.getFileName()
                            + " but missing"));
                } else if (!c.ok()) {
                    findings.add(new Finding(Severity.ERROR, "manifest", c.path(), "sha256 " + c.actual()
                            + " differs from the manifest's " + c.expected()));
                }
            }
            manifestFiles = entries.size();
        }
        long params = 0;
        long bytes = 0;
        boolean q8 = Q8.isQ8(src.config());
        int[] fp8 = Fp8.blockSize(src.config(), dir.toString());
        for (String name : src.tensorNames()) {
            TensorInfo t = src.info(name);
            if (!(q8 && name.endsWith(Q8.SCALE_SUFFIX)) && !(fp8 != null && name.endsWith(Fp8.SCALE_SUFFIX))) {
                params += t.numElements(); // a Q8_0 checkpoint's scales are not parameters (as in inspect)
            }
            bytes += t.byteSize();
            checkValues(t, src.segment(name), findings);
        }
        if (expectedShapes != null) {
            Map<String, long[]> shapes = q8 ? Q8.withScales(expectedShapes) : expectedShapes;
            checkShapes(src, fp8 != null ? Fp8.withScales(shapes, src.tensorNames(), fp8) : shapes, unused, findings);
        }
        checkDtypes(src, q8 || fp8 != null, findings);
        checkIndex(src, bytes, params, findings);
        return new Report(dir, src.tensorNames().size(), params, bytes, src.files().size(), expectedShapes != null,
                manifestFiles, findings);
    }

    private static void checkValues(TensorInfo t, MemorySegment data, List<Finding> findings) {
        if (t.dtype().isFloatingPoint()) {
            NonFiniteScan.Result r = NonFiniteScan.scan(t, data);
            if (!r.allFinite()) {
                findings.add(new Finding(Severity.ERROR, "values", t.name(), r.nan() + " NaN and " + r.inf()
                        + " Inf of " + t.numElements() + "; first at flat index " + r.firstIndex() + " = "
                        + NonFiniteScan.multiIndex(r.firstIndex(), t.shape())));
            }
        } else {
            touch(data); // still make every page come in: a short or unreadable file fails here, not in a kernel
        }
    }

    private static long touch(MemorySegment data) {
        long sum = 0;
        for (long i = 0; i + 8 <= data.byteSize(); i += 4096) {
            sum += data.get(LittleEndian.I64, i);
        }
        return sum;
    }

    private static void checkShapes(WeightSource src, Map<String, long[]> expected,
                                    java.util.function.Predicate<String> unused, List<Finding> findings) {
        for (Map.Entry<String, long[]> e : expected.entrySet()) {
            if (!src.contains(e.getKey())) {
                findings.add(new Finding(Severity.ERROR, "shapes", e.getKey(), "missing; config.json implies shape "
                        + Arrays.toString(e.getValue())));
                continue;
            }
            TensorInfo t = src.info(e.getKey());
            if (!Arrays.equals(t.shape(), e.getValue())) {
                findings.add(new Finding(Severity.ERROR, "shapes", e.getKey(), "shape " + t.shapeString()
                        + " but config.json implies " + Arrays.toString(e.getValue())));
            }
        }
        List<String> notRead = new ArrayList<>();
        for (String name : src.tensorNames()) {
            if (expected.containsKey(name)) continue;
            if (unused != null && unused.test(name)) {
                notRead.add(name);
            } else {
                findings.add(new Finding(Severity.ERROR, "shapes", name, "not part of the architecture config.json describes"));
            }
        }
        if (!notRead.isEmpty()) {
            findings.add(new Finding(Severity.WARNING, "shapes", notRead.getFirst(), notRead.size() + " tensor(s) of "
                    + "multi-token-prediction layers: stored, not used by inference, shapes not checked"));
        }
    }

    /** q8: a Q8_0 or FP8 checkpoint, whose float32 scales are not weights in the stated dtype. */
    private static void checkDtypes(WeightSource src, boolean q8, List<Finding> findings) {
        Map<DType, Integer> counts = new TreeMap<>();
        for (String name : src.tensorNames()) {
            DType d = src.info(name).dtype();
            if (d.isFloatingPoint() && !(q8 && (name.endsWith(Q8.SCALE_SUFFIX) || name.endsWith(Fp8.SCALE_SUFFIX)))) {
                counts.merge(d, 1, Integer::sum);
            }
        }
        JsonNode config = src.config();
        String stated = null;
        for (String field : List.of("dtype", "torch_dtype")) {
            if (config.hasNonNull(field) && config.get(field).isTextual()) {
                stated = config.get(field).textValue();
                break;
            }
        }
        if (counts.size() > 1) {
            findings.add(new Finding(Severity.WARNING, "dtypes", Checkpoint.CONFIG, "floating-point tensors mix dtypes "
                    + counts));
        }
        if (stated != null) {
            for (DType d : counts.keySet()) {
                if (!d.torchName().equals(stated)) {
                    findings.add(new Finding(Severity.WARNING, "dtypes", Checkpoint.CONFIG, "says " + stated + " but "
                            + counts.get(d) + " tensors are " + d));
                }
            }
        }
    }

    private static void checkIndex(WeightSource src, long bytes, long params, List<Finding> findings) {
        Path index = src.indexPath();
        Set<String> used = new HashSet<>();
        for (SafetensorsFile f : src.files()) {
            used.add(f.path().getFileName().toString());
        }
        if (index != null) {
            JsonNode root;
            try {
                root = CheckpointWriter.JSON.readTree(index.toFile());
            } catch (IOException e) {
                throw new BadInputException(index + ": not valid JSON: " + e.getMessage().lines().findFirst().orElse(""));
            }
            JsonNode meta = root.get("metadata");
            if (meta != null && meta.isObject()) {
                checkTotal(meta, "total_size", bytes, "the tensors' bytes", index, findings);
                checkTotal(meta, "total_parameters", params, "the tensors' elements", index, findings);
            }
        }
        try (Stream<Path> files = Files.list(src.path())) {
            for (Path f : files.sorted().toList()) {
                String name = f.getFileName().toString();
                if (name.startsWith("model") && name.endsWith(".safetensors") && !used.contains(name)) {
                    findings.add(new Finding(Severity.WARNING, "index", name, "weight file not referenced by "
                            + (index != null ? Checkpoint.INDEX : "the checkpoint (it uses " + Checkpoint.SINGLE_FILE + ")")));
                }
            }
        } catch (IOException e) {
            throw new BadInputException(src.path() + ": cannot list: " + e.getMessage());
        }
    }

    private static void checkTotal(JsonNode meta, String field, long actual, String what, Path index,
                                   List<Finding> findings) {
        JsonNode n = meta.get(field);
        if (n == null || n.isNull()) {
            return;
        }
        if (!n.canConvertToLong() || n.longValue() != actual) {
            findings.add(new Finding(Severity.WARNING, "index", index.getFileName().toString(), "metadata." + field
                    + " is " + n + " but " + what + " add up to " + actual));
        }
    }
}
