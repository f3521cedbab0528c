package org.moescope.weights;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.moescope.safetensors.DType;
import org.moescope.safetensors.SafetensorsFile;
import org.moescope.safetensors.TensorInfo;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/** {@code weights inspect}: what a checkpoint or safetensors file holds, from the headers alone (no data is read). */
public final class Inspect {
    private Inspect() {
    }

    public record Tensor(String name, DType dtype, long[] shape, long bytes, String file) {
        public long elements() {
            long n = 1;
            for (long d : shape) n *= d;
            return n;
        }
    }

    public record FileEntry(String name, long bytes, int tensors) {
    }

    public record DtypeTotal(DType dtype, int tensors, long parameters, long bytes) {
    }

    /**
     * @param parameters the weights' values; a Q8_0 checkpoint's scale tensors are not parameters and are counted in
     *                   q8Scales instead (and left out of dtypes)
     */
    public record Report(Path path, boolean directory, ArchitectureSummary architecture, long parameters,
                         long tensorBytes, List<DtypeTotal> dtypes, List<FileEntry> files, List<Tensor> tensors,
                         Map<String, String> metadata, long q8Scales, long unusedParameters) {
    }

    public static Report run(WeightSource src, ArchitectureSummary architecture) {
        List<Tensor> tensors = new ArrayList<>();
        Map<DType, long[]> byDtype = new TreeMap<>(); // tensors, parameters, bytes
        long params = 0;
        long bytes = 0;
        long scales = 0;
        long unused = 0;
        boolean q8 = src.isDirectory() && Q8.isQ8(src.config());
        boolean fp8 = src.isDirectory() && "fp8".equals(src.config().path("quantization_config").path("quant_method")
                .asText(null)); // block scales of an FP8 checkpoint, counted apart as Q8_0's
        boolean mxfp4 = src.isDirectory()
                && "mxfp4".equals(src.config().path("quantization_config").path("quant_method").asText(null));
        for (String name : src.tensorNames()) {
            TensorInfo t = src.info(name);
            SafetensorsFile f = src.fileOf(name);
            tensors.add(new Tensor(name, t.dtype(), t.shape(), t.byteSize(), f.path().getFileName().toString()));
            bytes += t.byteSize();
            if (q8 && name.endsWith(Q8.SCALE_SUFFIX) || fp8 && name.endsWith(".weight" + Fp8.SCALE_SUFFIX)) {
                scales += t.numElements();
                continue;
            }
            // MXFP4 (gpt-oss): a byte of *_blocks holds two values; the *_scales exponents are not parameters.
            boolean mxfp4Part = mxfp4 && t.dtype() == DType.U8 && (name.endsWith("_blocks") || name.endsWith("_scales"));
            long values = !mxfp4Part ? t.numElements() : name.endsWith("_blocks") ? 2 * t.numElements() : 0;
            params += values;
            if (architecture != null && architecture.unusedTensors() != null && architecture.unusedTensors().test(name)) {
                unused += values;
            }
            long[] acc = byDtype.computeIfAbsent(t.dtype(), d -> new long[3]);
            acc[0]++;
            acc[1] += values;
            acc[2] += t.byteSize();
        }
        List<DtypeTotal> dtypes = new ArrayList<>();
        byDtype.forEach((d, a) -> dtypes.add(new DtypeTotal(d, (int) a[0], a[1], a[2])));
        List<FileEntry> files = new ArrayList<>();
        Map<String, String> metadata = new LinkedHashMap<>();
        for (SafetensorsFile f : src.files()) {
            files.add(new FileEntry(f.path().getFileName().toString(), size(f.path()), f.tensors().size()));
            metadata.putAll(f.metadata());
        }
        return new Report(src.path(), src.isDirectory(), architecture, params, bytes, dtypes, files, tensors, metadata,
                scales, unused);
    }

    private static long size(Path p) {
        try {
            return Files.size(p);
        } catch (IOException e) {
            return -1;
        }
    }

    public static String toText(Report r) {
        StringBuilder sb = new StringBuilder();
        sb.append(r.directory() ? "checkpoint  " : "file        ").append(r.path()).append('\n');
        ArchitectureSummary a = r.architecture();
        if (a != null) {
            sb.append("architecture  ").append(a.modelType() == null ? "(no model_type)" : a.modelType()).append('\n');
            a.facts().forEach((k, v) -> sb.append(String.format(Locale.ROOT, "  %-24s %s%n", k, v)));
            if (a.problem() != null) {
                sb.append("  problem: ").append(a.problem()).append('\n');
            }
        }
        sb.append(String.format(Locale.ROOT, "parameters  %,d total (%s of tensor data)%n", r.parameters(),
                ByteSizes.format(r.tensorBytes())));
        if (a != null && a.activeParametersPerToken() != null) {
            sb.append(String.format(Locale.ROOT, "            %,d active per token (%.1f%%)%n",
                    a.activeParametersPerToken(), 100.0 * a.activeParametersPerToken() / Math.max(1, r.parameters())));
        }
        if (r.unusedParameters() > 0) {
            sb.append(String.format(Locale.ROOT, "            %,d in tensors inference does not read (multi-token "
                    + "prediction)%n", r.unusedParameters()));
        }
        if (a != null && a.expectedParameters() != null && a.expectedParameters() != r.parameters() - r.unusedParameters()) {
            sb.append(String.format(Locale.ROOT, "            config.json implies %,d: run 'weights verify'%n",
                    a.expectedParameters()));
        }
        for (DtypeTotal d : r.dtypes()) {
            sb.append(String.format(Locale.ROOT, "  %-5s %,d tensors, %,d parameters, %s%n", d.dtype(), d.tensors(),
                    d.parameters(), ByteSizes.format(d.bytes())));
        }
        if (r.q8Scales() > 0) {
            sb.append(String.format(Locale.ROOT, "  Q8_0 scales: %,d float32 values (%s), not counted as parameters%n",
                    r.q8Scales(), ByteSizes.format(4 * r.q8Scales())));
        }
        sb.append("files (").append(r.files().size()).append(")\n");
        for (FileEntry f : r.files()) {
            sb.append(String.format(Locale.ROOT, "  %-40s %12s  %,d tensors%n", f.name(), ByteSizes.format(f.bytes()),
                    f.tensors()));
        }
        int nameWidth = r.tensors().stream().mapToInt(t -> t.name().length()).max().orElse(4);
        sb.append("tensors (").append(r.tensors().size()).append(")\n");
        String row = "  %-" + nameWidth + "s  %-5s  %-18s  %14s%s%n";
        sb.append(String.format(Locale.ROOT, row, "name", "dtype", "shape", "bytes", r.files().size() > 1 ? "  file" : ""));
        for (Tensor t : r.tensors()) {
            sb.append(String.format(Locale.ROOT, row, t.name(), t.dtype(), java.util.Arrays.toString(t.shape()),
                    String.format(Locale.ROOT, "%,d", t.bytes()), r.files().size() > 1 ? "  " + t.file() : ""));
        }
        return sb.toString();
    }

    public static String toJson(Report r) {
        ObjectNode root = CheckpointWriter.JSON.createObjectNode();
        root.put("path", r.path().toString());
        root.put("kind", r.directory() ? "checkpoint" : "file");
        ArchitectureSummary a = r.architecture();
        if (a != null) {
            ObjectNode arch = root.putObject("architecture");
            arch.put("model_type", a.modelType());
            arch.set("facts", CheckpointWriter.JSON.valueToTree(a.facts()));
            if (a.problem() != null) arch.put("problem", a.problem());
        }
        ObjectNode p = root.putObject("parameters");
        p.put("total", r.parameters());
        if (r.unusedParameters() > 0) p.put("not_used_by_inference", r.unusedParameters());
        if (a != null && a.activeParametersPerToken() != null) p.put("active_per_token", a.activeParametersPerToken());
        if (a != null && a.expectedParameters() != null) p.put("expected_from_config", a.expectedParameters());
        p.put("tensor_bytes", r.tensorBytes());
        if (r.q8Scales() > 0) p.put("q8_scales", r.q8Scales());
        ArrayNode dt = root.putArray("dtypes");
        for (DtypeTotal d : r.dtypes()) {
            dt.addObject().put("dtype", d.dtype().name()).put("tensors", d.tensors()).put("parameters", d.parameters())
                    .put("bytes", d.bytes());
        }
        ArrayNode files = root.putArray("files");
        for (FileEntry f : r.files()) {
            files.addObject().put("name", f.name()).put("bytes", f.bytes()).put("tensors", f.tensors());
        }
        root.set("metadata", CheckpointWriter.JSON.valueToTree(r.metadata()));
        ArrayNode ts = root.putArray("tensors");
        for (Tensor t : r.tensors()) {
            ObjectNode o = ts.addObject();
            o.put("name", t.name()).put("dtype", t.dtype().name());
            ArrayNode shape = o.putArray("shape");
            for (long d : t.shape()) shape.add(d);
            o.put("bytes", t.bytes()).put("file", t.file());
        }
        return CheckpointWriter.pretty(root);
    }
}
