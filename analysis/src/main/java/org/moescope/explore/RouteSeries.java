package org.moescope.explore;

import org.moescope.errors.BadInputException;
import org.moescope.routing.RouteFile;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The route files behind one explorer page: a single checkpoint, or the same samples traced through a series of
 * checkpoints (a monitor output directory holds such a series in {@code routes/}). Every file must have the same
 * samples (token offsets) and the same router shape as the first, so that a sample and an expert mean the same thing
 * at every checkpoint.
 *
 * @param entries  the checkpoints in training order: by the files' {@code step} metadata when every file has one,
 *                 otherwise in the order given
 * @param samples  N
 * @param tokens   T
 * @param layers   L (MoE layers)
 * @param topK     k
 * @param experts  E
 * @param metadata the first file's metadata (model type, router kind, tokenizer hints)
 */
public record RouteSeries(List<Entry> entries, int samples, long tokens, int layers, int topK, int experts,
                          Map<String, String> metadata) {
    /** One checkpoint: its name (metadata {@code checkpoint}, else the file name), step (-1 when unknown), file. */
    public record Entry(String name, long step, Path file) {
    }

    public RouteSeries {
        entries = List.copyOf(entries);
        metadata = Map.copyOf(metadata);
    }

    /**
     * Resolves {@code --routes} arguments: a route file; a directory of route files; or a monitor output directory
     * (its {@code routes/} sub-directory). Files are opened and checked against each other here, before any work.
     */
    public static RouteSeries resolve(List<Path> inputs) {
        if (inputs == null || inputs.isEmpty()) throw new BadInputException("--routes: give at least one route file or directory");
        Set<Path> files = new LinkedHashSet<>();
        for (Path in : inputs) {
            if (Files.isRegularFile(in)) {
                files.add(in);
            } else if (Files.isDirectory(in)) {
                Path dir = Files.isDirectory(in.resolve("routes")) ? in.resolve("routes") : in;
                List<Path> found = routeFilesIn(dir);
                if (found.isEmpty()) {
                    throw new BadInputException("--routes " + in + ": no .safetensors route files in " + dir);
                }
                files.addAll(found);
            } else {
                throw new BadInputException("--routes " + in + ": no such file or directory");
            }
        }
        List<Entry> entries = new ArrayList<>();
        RouteFile.Dims first = null;
        long[] firstOffsets = null;
        Path firstFile = null;
        Map<String, String> metadata = null;
        for (Path f : files) {
            try (RouteFile r = RouteFile.open(f)) {
                RouteFile.Dims d = r.dims();
                if (first == null) {
                    first = d;
                    firstOffsets = r.sampleOffsets();
                    firstFile = f;
                    metadata = r.metadata();
                } else {
                    if (d.samples() != first.samples() || d.tokens() != first.tokens()
                            || !Arrays.equals(r.sampleOffsets(), firstOffsets)) {
                        throw new BadInputException(f + ": has " + d.samples() + " samples of " + d.tokens() + " tokens, "
                                + firstFile + " has " + first.samples() + " of " + first.tokens()
                                + " (or other sample lengths): the files of a series must trace the same samples");
                    }
                    if (d.layers() != first.layers() || d.experts() != first.experts() || d.topK() != first.topK()) {
                        throw new BadInputException(f + ": routes " + d.layers() + " layers, " + d.experts() + " experts, top-"
                                + d.topK() + "; " + firstFile + " routes " + first.layers() + ", " + first.experts()
                                + ", top-" + first.topK() + ": the files of a series must come from one architecture");
                    }
                }
                entries.add(new Entry(nameOf(f, r.metadata()), stepOf(f, r.metadata()), f));
            }
        }
        if (first.samples() == 0) throw new BadInputException(firstFile + ": has no samples");
        if (entries.stream().allMatch(e -> e.step() >= 0)) {
            entries.sort(Comparator.comparingLong(Entry::step)); // stable: equal steps keep the order given
        }
        return new RouteSeries(entries, first.samples(), first.tokens(), first.layers(), first.topK(), first.experts(),
                metadata);
    }

    private static List<Path> routeFilesIn(Path dir) {
        try (var s = Files.list(dir)) {
            // Hidden names are a writer's unfinished files (.NAME.partial, .NAME.RANDOM.tmp), never results.
            return s.filter(p -> Files.isRegularFile(p) && p.getFileName().toString().endsWith(".safetensors")
                    && !p.getFileName().toString().startsWith(".")).sorted().toList();
        } catch (IOException e) {
            throw new BadInputException("--routes " + dir + ": cannot list: " + e.getMessage());
        }
    }

    private static String nameOf(Path f, Map<String, String> meta) {
        String n = meta.get("checkpoint");
        if (n != null && !n.isBlank()) return n;
        String file = f.getFileName().toString();
        return file.endsWith(".safetensors") ? file.substring(0, file.length() - ".safetensors".length()) : file;
    }

    private static long stepOf(Path f, Map<String, String> meta) {
        String s = meta.get("step");
        if (s == null) return -1;
        try {
            long v = Long.parseLong(s.strip());
            if (v < 0) throw new NumberFormatException();
            return v;
        } catch (NumberFormatException e) {
            throw new BadInputException(f + ": metadata 'step' is \"" + s + "\", not a step number");
        }
    }

    public int checkpoints() {
        return entries.size();
    }
}
