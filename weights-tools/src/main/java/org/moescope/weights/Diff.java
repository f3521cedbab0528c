package org.moescope.weights;

import org.moescope.errors.BadInputException;
import org.moescope.safetensors.DType;
import org.moescope.safetensors.TensorInfo;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

/**
 * {@code weights diff}: how much each tensor moved between two checkpoints, as the relative change
 * ‖B − A‖_F / ‖A‖_F, and the same for groups (component, layer) taken as one concatenated vector. Values are
 * widened to F32 and accumulated in double, chunk by chunk from the mappings.
 */
public final class Diff {
    /** Layer value of a group that spans all layers of a component. */
    public static final int ALL_LAYERS = -2;
    private static final int CHUNK = 1 << 16;

    private Diff() {
    }

    public record TensorChange(String name, Component component, int layer, long elements, double normA, double normB,
                               double normDiff) {
        public double relChange() {
            return relative(normDiff, normA);
        }
    }

    /** {@code layer} is a layer index, -1 for tensors outside the layers, or {@link #ALL_LAYERS}. */
    public record GroupChange(Component component, int layer, int tensors, long elements, double normA, double normB,
                              double normDiff) {
        public double relChange() {
            return relative(normDiff, normA);
        }

        public String layerLabel() {
            return layer == ALL_LAYERS ? "all" : layer < 0 ? "none" : Integer.toString(layer);
        }
    }

    public record Result(String labelA, String labelB, List<TensorChange> tensors, List<GroupChange> groups,
                         List<String> onlyInA, List<String> onlyInB, List<String> notCompared) {
        /** Group rows of one component over all layers, in {@link Component} order. */
        public List<GroupChange> components() {
            return groups.stream().filter(g -> g.layer() == ALL_LAYERS).toList();
        }

        public GroupChange component(Component c) {
            return groups.stream().filter(g -> g.layer() == ALL_LAYERS && g.component() == c).findFirst().orElse(null);
        }
    }

    /** 0 when nothing changed, +Inf when a zero tensor became non-zero. */
    static double relative(double diff, double base) {
        if (diff == 0) {
            return 0;
        }
        return diff / base;
    }

    public static Result compare(Path a, Path b) {
        try (WeightSource sa = WeightSource.open(a); WeightSource sb = WeightSource.open(b)) {
            return compare(sa, sb, label(a), label(b));
        }
    }

    static String label(Path p) {
        Path name = p.toAbsolutePath().normalize().getFileName();
        return name == null ? p.toString() : name.toString();
    }

    public static Result compare(WeightSource a, WeightSource b, String labelA, String labelB) {
        List<String> common = new ArrayList<>();
        List<String> onlyA = new ArrayList<>();
        List<String> notCompared = new ArrayList<>();
        for (String name : a.tensorNames()) {
            if (!b.contains(name)) {
                onlyA.add(name);
                continue;
            }
            TensorInfo ta = a.info(name);
            TensorInfo tb = b.info(name);
            if (!Arrays.equals(ta.shape(), tb.shape())) {
                throw new BadInputException(b.path() + ": tensor '" + name + "' has shape " + tb.shapeString() + " but "
                        + ta.shapeString() + " in " + a.path());
            }
            if (!ta.dtype().isFloatingPoint() || !tb.dtype().isFloatingPoint()) {
                notCompared.add(name);
                continue;
            }
            common.add(name);
        }
        List<String> onlyB = b.tensorNames().stream().filter(n -> !a.contains(n)).toList();
        if (common.isEmpty()) {
            throw new BadInputException(b.path() + ": no floating-point tensor in common with " + a.path());
        }
        TensorChange[] changes = new TensorChange[common.size()];
        IntStream.range(0, common.size()).parallel().forEach(i -> {
            String name = common.get(i);
            TensorInfo ta = a.info(name);
            double[] sums = sumsOfSquares(a.segment(name), ta.dtype(), b.segment(name), b.info(name).dtype(),
                    ta.numElements());
            changes[i] = new TensorChange(name, Component.of(name), Component.layerOf(name), ta.numElements(),
                    Math.sqrt(sums[0]), Math.sqrt(sums[1]), Math.sqrt(sums[2]));
        });
        List<TensorChange> tensors = List.of(changes);
        return new Result(labelA, labelB, tensors, group(tensors), List.copyOf(onlyA), onlyB, List.copyOf(notCompared));
    }

    /** Σa², Σb², Σ(b−a)² over n elements. */
    static double[] sumsOfSquares(MemorySegment a, DType da, MemorySegment b, DType db, long n) {
        float[] fa = new float[(int) Math.min(CHUNK, Math.max(n, 1))];
        float[] fb = new float[fa.length];
        MemorySegment sa = MemorySegment.ofArray(fa);
        MemorySegment sb = MemorySegment.ofArray(fb);
        double aa = 0, bb = 0, dd = 0;
        for (long done = 0; done < n; done += fa.length) {
            int m = (int) Math.min(fa.length, n - done);
            DTypeConversion.convert(a, da, done, sa, DType.F32, m);
            DTypeConversion.convert(b, db, done, sb, DType.F32, m);
            double ca = 0, cb = 0, cd = 0; // per-chunk partial sums keep the rounding error small
            for (int i = 0; i < m; i++) {
                double x = fa[i];
                double y = fb[i];
                double d = y - x;
                ca += x * x;
                cb += y * y;
                cd += d * d;
            }
            aa += ca;
            bb += cb;
            dd += cd;
        }
        return new double[] {aa, bb, dd};
    }

    /** Groups by (component, layer) and by component over all layers; norms combine as root of summed squares. */
    static List<GroupChange> group(List<TensorChange> tensors) {
        Map<String, double[]> acc = new LinkedHashMap<>(); // key -> {tensors, elements, a², b², d²}
        Map<String, GroupChange> keyInfo = new LinkedHashMap<>();
        for (TensorChange t : tensors) {
            for (int layer : new int[] {t.layer(), ALL_LAYERS}) {
                String key = t.component() + "/" + layer;
                double[] s = acc.computeIfAbsent(key, k -> new double[5]);
                s[0]++;
                s[1] += t.elements();
                s[2] += t.normA() * t.normA();
                s[3] += t.normB() * t.normB();
                s[4] += t.normDiff() * t.normDiff();
                keyInfo.putIfAbsent(key, new GroupChange(t.component(), layer, 0, 0, 0, 0, 0));
            }
        }
        List<GroupChange> groups = new ArrayList<>();
        acc.forEach((key, s) -> {
            GroupChange g = keyInfo.get(key);
            groups.add(new GroupChange(g.component(), g.layer(), (int) s[0], (long) s[1], Math.sqrt(s[2]),
                    Math.sqrt(s[3]), Math.sqrt(s[4])));
        });
        groups.sort(Comparator.comparing(GroupChange::component)
                .thenComparingInt(g -> g.layer() == ALL_LAYERS ? Integer.MAX_VALUE : g.layer()));
        return groups;
    }
}
