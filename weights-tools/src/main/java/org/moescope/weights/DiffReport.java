package org.moescope.weights;

import org.moescope.errors.BadInputException;
import org.moescope.output.AtomicFiles;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/** Text tables and CSV files for {@code weights diff}; columns are documented in docs/weights-tools.md. */
public final class DiffReport {
    private DiffReport() {
    }

    public static final String TENSORS_HEADER = "tensor,component,layer,elements,norm_a,norm_b,norm_diff,rel_change";
    public static final String GROUPS_HEADER = "component,layer,tensors,elements,norm_a,norm_b,norm_diff,rel_change";
    public static final String SERIES_HEADER =
            "step,from,to,component,layer,tensors,elements,norm_from,norm_to,norm_diff,rel_change";
    public static final String TABLE3_HEADER =
            "component,layer,steps,mean_rel_change,convergence_speed,stability,mean_norm_change";

    public static String tensorsCsv(Diff.Result r) {
        StringBuilder sb = new StringBuilder(TENSORS_HEADER).append('\n');
        for (Diff.TensorChange t : r.tensors()) {
            sb.append(csv(t.name())).append(',').append(t.component().label()).append(',')
                    .append(t.layer() < 0 ? "none" : Integer.toString(t.layer())).append(',').append(t.elements())
                    .append(',').append(num(t.normA())).append(',').append(num(t.normB())).append(',')
                    .append(num(t.normDiff())).append(',').append(num(t.relChange())).append('\n');
        }
        return sb.toString();
    }

    public static String groupsCsv(Diff.Result r) {
        StringBuilder sb = new StringBuilder(GROUPS_HEADER).append('\n');
        for (Diff.GroupChange g : r.groups()) {
            sb.append(g.component().label()).append(',').append(g.layerLabel()).append(',').append(g.tensors())
                    .append(',').append(g.elements()).append(',').append(num(g.normA())).append(',')
                    .append(num(g.normB())).append(',').append(num(g.normDiff())).append(',')
                    .append(num(g.relChange())).append('\n');
        }
        return sb.toString();
    }

    public static String seriesCsv(List<Diff.Result> steps) {
        StringBuilder sb = new StringBuilder(SERIES_HEADER).append('\n');
        for (int i = 0; i < steps.size(); i++) {
            Diff.Result r = steps.get(i);
            for (Diff.GroupChange g : r.groups()) {
                sb.append(i + 1).append(',').append(csv(r.labelA())).append(',').append(csv(r.labelB())).append(',')
                        .append(g.component().label()).append(',').append(g.layerLabel()).append(',')
                        .append(g.tensors()).append(',').append(g.elements()).append(',').append(num(g.normA()))
                        .append(',').append(num(g.normB())).append(',').append(num(g.normDiff())).append(',')
                        .append(num(g.relChange())).append('\n');
            }
        }
        return sb.toString();
    }

    public static String table3Csv(List<ParameterDynamics.Row> rows) {
        StringBuilder sb = new StringBuilder(TABLE3_HEADER).append('\n');
        for (ParameterDynamics.Row row : rows) {
            sb.append(row.component().label()).append(',').append(row.layerLabel()).append(',').append(row.steps())
                    .append(',').append(num(row.meanRelChange())).append(',').append(num(row.convergenceSpeed()))
                    .append(',').append(num(row.stability())).append(',').append(num(row.meanNormChange()))
                    .append('\n');
        }
        return sb.toString();
    }

    /** Components over all layers, then a layer x component matrix of relative changes. */
    public static String text(Diff.Result r) {
        StringBuilder sb = new StringBuilder();
        sb.append("relative change ||B-A|| / ||A|| from ").append(r.labelA()).append(" to ").append(r.labelB())
                .append(" (").append(r.tensors().size()).append(" tensors)\n");
        sb.append(String.format(Locale.ROOT, "  %-11s %8s %14s %12s %12s %12s%n", "component", "tensors", "elements",
                "||A||", "||B-A||", "rel change"));
        for (Diff.GroupChange g : r.components()) {
            sb.append(String.format(Locale.ROOT, "  %-11s %8d %14d %12.5g %12.5g %12.5g%n", g.component().label(),
                    g.tensors(), g.elements(), g.normA(), g.normDiff(), g.relChange()));
        }
        List<Component> comps = r.components().stream().map(Diff.GroupChange::component).toList();
        TreeSet<Integer> layers = new TreeSet<>();
        r.groups().stream().filter(g -> g.layer() >= 0).forEach(g -> layers.add(g.layer()));
        if (!layers.isEmpty()) {
            sb.append("by layer (rel change)\n  layer");
            for (Component c : comps) sb.append(String.format(Locale.ROOT, " %11s", c.label()));
            sb.append('\n');
            for (int layer : layers) {
                sb.append(String.format(Locale.ROOT, "  %5d", layer));
                for (Component c : comps) {
                    Diff.GroupChange g = r.groups().stream()
                            .filter(x -> x.component() == c && x.layer() == layer).findFirst().orElse(null);
                    sb.append(g == null ? String.format(Locale.ROOT, " %11s", "-")
                            : String.format(Locale.ROOT, " %11.4g", g.relChange()));
                }
                sb.append('\n');
            }
        }
        if (!r.onlyInA().isEmpty() || !r.onlyInB().isEmpty() || !r.notCompared().isEmpty()) {
            sb.append(String.format(Locale.ROOT, "not compared: %d only in %s, %d only in %s, %d not floating-point%n",
                    r.onlyInA().size(), r.labelA(), r.onlyInB().size(), r.labelB(), r.notCompared().size()));
        }
        return sb.toString();
    }

    public static String table3Text(List<ParameterDynamics.Row> rows, int checkpoints) {
        StringBuilder sb = new StringBuilder();
        sb.append("parameter dynamics over ").append(checkpoints).append(" checkpoints (paper App. D Table 3)\n");
        sb.append(String.format(Locale.ROOT, "  %-11s %16s %18s %10s %17s%n", "component", "mean rel change",
                "convergence speed", "stability", "mean norm change"));
        for (ParameterDynamics.Row row : rows) {
            if (row.layer() == Diff.ALL_LAYERS) {
                sb.append(String.format(Locale.ROOT, "  %-11s %16.5g %18.4f %10.3f %17.5g%n", row.component().label(),
                        row.meanRelChange(), row.convergenceSpeed(), row.stability(), row.meanNormChange()));
            }
        }
        return sb.toString();
    }

    /** Writes diff.csv, diff-groups.csv and diff.png into {@code dir}. */
    public static List<Path> writePair(Path dir, Diff.Result r) {
        List<Path> written = new ArrayList<>();
        written.add(write(dir.resolve("diff.csv"), tensorsCsv(r)));
        written.add(write(dir.resolve("diff-groups.csv"), groupsCsv(r)));
        Path png = dir.resolve("diff.png");
        byte[] bytes = DiffChart.byLayer(r);
        AtomicFiles.write(png, ch -> ch.write(java.nio.ByteBuffer.wrap(bytes)));
        written.add(png);
        return written;
    }

    /** Writes series.csv, table3.csv and series.png into {@code dir}. */
    public static List<Path> writeSeries(Path dir, List<Diff.Result> steps, List<ParameterDynamics.Row> rows) {
        List<Path> written = new ArrayList<>();
        written.add(write(dir.resolve("series.csv"), seriesCsv(steps)));
        written.add(write(dir.resolve("table3.csv"), table3Csv(rows)));
        Path png = dir.resolve("series.png");
        byte[] bytes = DiffChart.series(steps);
        AtomicFiles.write(png, ch -> ch.write(java.nio.ByteBuffer.wrap(bytes)));
        written.add(png);
        return written;
    }

    private static Path write(Path p, String text) {
        AtomicFiles.writeString(p, text);
        return p;
    }

    /**
     * The checkpoints of a series: the directories as given, or, for a single directory without config.json, its
     * subdirectories that have one, ordered by the last number in their names (step-000100 before step-001000).
     */
    public static List<Path> expandSeries(List<Path> given) {
        if (given.size() == 1 && Files.isDirectory(given.getFirst())
                && !Files.exists(given.getFirst().resolve("config.json"))) {
            List<Path> found;
            try (Stream<Path> s = Files.list(given.getFirst())) {
                found = new ArrayList<>(s.filter(p -> Files.isRegularFile(p.resolve("config.json"))).toList());
            } catch (IOException e) {
                throw new BadInputException(given.getFirst() + ": cannot list: " + e.getMessage());
            }
            found.sort(Comparator.comparingLong(DiffReport::lastNumber).thenComparing(Path::toString));
            given = found;
        }
        if (given.size() < 2) {
            throw new BadInputException("--series needs at least two checkpoints, got " + given.size());
        }
        return given;
    }

    private static final Pattern LAST_NUMBER = Pattern.compile("(\\d+)(?!.*\\d)");

    private static long lastNumber(Path p) {
        Matcher m = LAST_NUMBER.matcher(p.getFileName().toString());
        if (!m.find()) {
            return Long.MAX_VALUE;
        }
        try {
            return Long.parseLong(m.group(1));
        } catch (NumberFormatException e) {
            return Long.MAX_VALUE;
        }
    }

    private static String num(double v) {
        if (Double.isNaN(v)) return "NaN";
        if (Double.isInfinite(v)) return v > 0 ? "Inf" : "-Inf";
        return Double.toString(v);
    }

    private static String csv(String s) {
        if (s.contains(",") || s.contains("\"") || s.contains("\n")) {
            return "\"" + s.replace("\"", "\"\"") + "\"";
        }
        return s;
    }
}
