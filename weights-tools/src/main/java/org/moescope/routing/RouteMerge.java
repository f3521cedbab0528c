package org.moescope.routing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import org.moescope.errors.BadInputException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Joins route files of consecutive sample ranges of one trace (the parts a distributed trace writes, one per task)
 * into the file a single trace of all the samples writes: the same tensors, the samples in part order, and the
 * metadata of the parts with the per-sample lists (sample_ids, sample_groups, sample_loss_starts) concatenated,
 * "created" the earliest part's, and the part's own keys ("part_..."; docs/route-format.md) left out. Every other
 * metadata entry and every dimension but samples and tokens must agree between the parts.
 */
public final class RouteMerge {
    /** Metadata keys that only a part carries; a merged file has none. */
    public static final String PART_PREFIX = "part_";
    /** Part metadata: the part's samples are [part_first, part_last) of the part_total samples of the whole trace. */
    public static final String PART_FIRST = "part_first";
    public static final String PART_LAST = "part_last";
    public static final String PART_TOTAL = "part_total";

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Set<String> PER_SAMPLE_KEYS = Set.of("sample_ids", "sample_groups", "sample_loss_starts");

    private RouteMerge() {
    }

    /** The part name of samples [first, last): fixed-width, so that name order is sample order. */
    public static String partName(int first, int last) {
        return String.format(java.util.Locale.ROOT, "range-%09d-%09d.safetensors", first, last);
    }

    /**
     * The route files to merge from what the user gave: each file as given, each directory's visible *.safetensors
     * (temporary files of unfinished tasks are hidden) in name order.
     */
    public static List<Path> expand(List<Path> given) {
        List<Path> parts = new ArrayList<>();
        for (Path p : given) {
            if (Files.isDirectory(p)) {
                try (Stream<Path> s = Files.list(p)) {
                    List<Path> found = s.filter(f -> {
                        String n = f.getFileName().toString();
                        return !n.startsWith(".") && n.endsWith(".safetensors") && Files.isRegularFile(f);
                    }).sorted(Comparator.comparing(f -> f.getFileName().toString())).toList();
                    if (found.isEmpty()) throw new BadInputException(p + ": holds no route files (*.safetensors)");
                    parts.addAll(found);
                } catch (IOException e) {
                    throw new BadInputException(p + ": cannot list: " + e.getMessage());
                }
            } else if (Files.isRegularFile(p)) {
                parts.add(p);
            } else {
                throw new BadInputException(p + ": no such route file or directory");
            }
        }
        if (parts.isEmpty()) throw new BadInputException("no route files to merge");
        return parts;
    }

    /** Merges the parts, in the order given, into out (written atomically). */
    public static void merge(List<Path> parts, Path out) {
        List<RouteFile> files = new ArrayList<>();
        try {
            for (Path p : parts) {
                if (p.toAbsolutePath().normalize().equals(out.toAbsolutePath().normalize())) {
                    throw new BadInputException(out + ": is also one of the parts; write the merged file elsewhere");
                }
                files.add(RouteFile.open(p));
            }
            write(files, out);
        } finally {
            files.forEach(RouteFile::close);
        }
    }

    private static void write(List<RouteFile> files, Path out) {
        RouteFile first = files.get(0);
        RouteFile.Dims d0 = first.dims();
        int samples = 0;
        long tokens = 0;
        for (RouteFile f : files) {
            RouteFile.Dims d = f.dims();
            RouteFile.Dims same = new RouteFile.Dims(d0.samples(), d0.tokens(), d.layers(), d.topK(), d.experts(),
                    d.vocab(), d.hidden(), d.routerLogits(), d.logits(), d.hiddenMean(), d.sharedGate());
            if (!same.equals(d0)) {
                throw new BadInputException(f.path() + ": its tensors differ from " + first.path() + "'s ("
                        + d + " against " + d0 + "): not parts of one trace");
            }
            samples = Math.addExact(samples, d.samples());
            tokens += d.tokens();
        }
        checkRanges(files);
        Map<String, String> meta = mergedMetadata(files);
        RouteFile.Dims dims = new RouteFile.Dims(samples, tokens, d0.layers(), d0.topK(), d0.experts(), d0.vocab(),
                d0.hidden(), d0.routerLogits(), d0.logits(), d0.hiddenMean(), d0.sharedGate());
        long[] offsets = new long[samples + 1];
        int s = 0;
        for (RouteFile f : files) {
            long[] o = f.sampleOffsets();
            long base = offsets[s];
            for (int i = 0; i < f.numSamples(); i++) {
                offsets[s + i + 1] = base + o[i + 1];
            }
            s += f.numSamples();
        }
        try (RouteFileWriter w = new RouteFileWriter(out, dims, offsets, meta)) {
            int base = 0;
            for (RouteFile f : files) {
                int n = f.numSamples();
                float[] probs = f.routerProbsMean();
                float[] loss = f.loss();
                float[] hidden = dims.hiddenMean() ? f.hiddenMean() : null;
                int probWidth = (int) dims.rowWidth(RouteFile.Field.ROUTER_PROBS_MEAN);
                int hiddenWidth = (int) dims.rowWidth(RouteFile.Field.HIDDEN_MEAN);
                for (int i = 0; i < n; i++) {
                    int out0 = base + i;
                    w.writeTokenRows(RouteFile.Field.INPUT_IDS, out0, f.inputIds(i));
                    w.writeTokenRows(RouteFile.Field.TOPK_IDS, out0, f.topkIds(i));
                    w.writeTokenRows(RouteFile.Field.TOPK_WEIGHTS, out0, f.topkWeights(i));
                    w.writeSampleRow(RouteFile.Field.ROUTER_PROBS_MEAN, out0,
                            Arrays.copyOfRange(probs, i * probWidth, (i + 1) * probWidth));
                    w.writeSampleRow(RouteFile.Field.LOSS, out0, new float[] {loss[i]});
                    if (dims.routerLogits()) w.writeTokenRows(RouteFile.Field.ROUTER_LOGITS, out0, f.routerLogits(i));
                    if (dims.logits()) w.writeTokenRows(RouteFile.Field.LOGITS, out0, f.logits(i));
                    if (dims.hiddenMean()) {
                        w.writeSampleRow(RouteFile.Field.HIDDEN_MEAN, out0,
                                Arrays.copyOfRange(hidden, i * hiddenWidth, (i + 1) * hiddenWidth));
                    }
                    if (dims.sharedGate()) {
                        w.writeTokenRows(RouteFile.Field.SHARED_EXPERT_GATE, out0, f.sharedExpertGate(i));
                    }
                }
                base += n;
            }
            w.commit();
        }
    }

    /** Parts that say which samples they hold (part_first/last/total) must follow each other and cover them all. */
    private static void checkRanges(List<RouteFile> files) {
        boolean any = files.stream().anyMatch(f -> f.metadata().containsKey(PART_FIRST));
        if (!any) return;
        long expected = 0;
        String total = null;
        for (RouteFile f : files) {
            Map<String, String> m = f.metadata();
            long from = partNumber(f, PART_FIRST), to = partNumber(f, PART_LAST);
            String t = m.get(PART_TOTAL);
            if (from != expected) {
                throw new BadInputException(f.path() + ": holds samples from " + from + ", expected " + expected
                        + " (a part is missing or out of order)");
            }
            if (to - from != f.numSamples()) {
                throw new BadInputException(f.path() + ": part_first..part_last says " + (to - from)
                        + " samples, the file has " + f.numSamples());
            }
            if (total != null && !total.equals(t)) {
                throw new BadInputException(f.path() + ": part of a trace of " + t + " samples, the others of " + total);
            }
            total = t;
            expected = to;
        }
        if (total == null || expected != Long.parseLong(total)) {
            throw new BadInputException("the parts hold samples 0.." + expected + " of " + total
                    + ": the last parts are missing");
        }
    }

    private static long partNumber(RouteFile f, String key) {
        String v = f.metadata().get(key);
        try {
            return Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw new BadInputException(f.path() + ": metadata '" + key + "' is " + (v == null ? "missing" : "'" + v + "'")
                    + ", expected a sample index");
        }
    }

    private static Map<String, String> mergedMetadata(List<RouteFile> files) {
        Map<String, String> first = files.get(0).metadata();
        boolean lossStarts = files.stream().anyMatch(f -> f.metadata().containsKey("sample_loss_starts"));
        for (RouteFile f : files) {
            for (String k : union(first.keySet(), f.metadata().keySet())) {
                if (k.startsWith(PART_PREFIX) || k.equals("created") || PER_SAMPLE_KEYS.contains(k)) continue;
                if (!java.util.Objects.equals(first.get(k), f.metadata().get(k))) {
                    throw new BadInputException(f.path() + ": metadata '" + k + "' differs from "
                            + files.get(0).path() + "'s: not parts of one trace");
                }
            }
        }
        Map<String, String> out = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : first.entrySet()) {
            String k = e.getKey();
            if (k.startsWith(PART_PREFIX)) continue;
            if (k.equals("created") && lossStarts && !out.containsKey("sample_loss_starts")) {
                out.put("sample_loss_starts", concatenated(files, "sample_loss_starts"));
            }
            switch (k) {
                case "sample_ids", "sample_groups", "sample_loss_starts" -> out.put(k, concatenated(files, k));
                case "created" -> out.put(k, files.stream().map(f -> f.metadata().get("created"))
                        .filter(java.util.Objects::nonNull).min(Comparator.naturalOrder()).orElse(e.getValue()));
                default -> out.put(k, e.getValue());
            }
        }
        if (lossStarts && !out.containsKey("sample_loss_starts")) {
            out.put("sample_loss_starts", concatenated(files, "sample_loss_starts"));
        }
        return out;
    }

    private static List<String> union(Set<String> a, Set<String> b) {
        List<String> keys = new ArrayList<>(a);
        for (String k : b) if (!a.contains(k)) keys.add(k);
        return keys;
    }

    /** The JSON arrays of key of every part joined; a part without sample_loss_starts has all 1s. */
    private static String concatenated(List<RouteFile> files, String key) {
        ArrayNode all = JSON.createArrayNode();
        for (RouteFile f : files) {
            String raw = f.metadata().get(key);
            if (raw == null) {
                for (int i = 0; i < f.numSamples(); i++) {
                    if (key.equals("sample_loss_starts")) all.add(1);
                    else all.addNull();
                }
                continue;
            }
            try {
                JsonNode arr = JSON.readTree(raw);
                if (!arr.isArray() || arr.size() != f.numSamples()) {
                    throw new BadInputException(f.path() + ": metadata '" + key + "' is not a JSON array of "
                            + f.numSamples() + " entries");
                }
                all.addAll((ArrayNode) arr);
            } catch (IOException e) {
                throw new BadInputException(f.path() + ": metadata '" + key + "' is not valid JSON");
            }
        }
        return all.toString();
    }
}
