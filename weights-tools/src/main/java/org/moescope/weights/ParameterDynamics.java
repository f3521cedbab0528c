package org.moescope.weights;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The paper's parameter-dynamics table (arXiv 2506.21551, App. D, Table 3) over a checkpoint series, per component
 * and per (component, layer). With r_t the group's relative change ‖θ_t − θ_{t−1}‖_F / ‖θ_{t−1}‖_F between
 * consecutive checkpoints (t = 1..T):
 * <ul>
 *   <li>mean change m = (1/T) Σ r_t;</li>
 *   <li>normalised change n_t = r_t / m (scale-free, mean 1, so components of different size compare);</li>
 *   <li>convergence speed = mean of n_t over the first ⌊T/2⌋ steps − mean over the last ⌊T/2⌋ (how much the change
 *       shrinks from early to late training; the middle step of an odd T is in neither half);</li>
 *   <li>stability = 1 / std(n_t), population standard deviation;</li>
 *   <li>mean norm change = mean_t |‖θ_t‖ − ‖θ_{t−1}‖| / mean_t ‖θ_t‖ (t = 0..T), the paper's literal "mean absolute
 *       norm change normalised by average scale", for reference.</li>
 * </ul>
 * Speed and stability need T ≥ 2 and are NaN otherwise. docs/weights-tools.md discusses this reading.
 */
public final class ParameterDynamics {
    private ParameterDynamics() {
    }

    /** {@code layer} as in {@link Diff.GroupChange}: {@link Diff#ALL_LAYERS} for the component row. */
    public record Row(Component component, int layer, int steps, double meanRelChange, double convergenceSpeed,
                      double stability, double meanNormChange) {
        public String layerLabel() {
            return layer == Diff.ALL_LAYERS ? "all" : layer < 0 ? "none" : Integer.toString(layer);
        }
    }

    /** Rows for every group present in all steps, components first (in {@link Component} order), then layers. */
    public static List<Row> table(List<Diff.Result> steps) {
        if (steps.isEmpty()) {
            throw new IllegalArgumentException("a series needs at least one step");
        }
        Map<String, List<Diff.GroupChange>> byGroup = new LinkedHashMap<>();
        for (Diff.Result step : steps) {
            for (Diff.GroupChange g : step.groups()) {
                byGroup.computeIfAbsent(g.component() + "/" + g.layer(), k -> new ArrayList<>()).add(g);
            }
        }
        List<Row> components = new ArrayList<>();
        List<Row> layers = new ArrayList<>();
        for (List<Diff.GroupChange> series : byGroup.values()) {
            if (series.size() != steps.size()) {
                continue; // a group missing from some checkpoint has no series
            }
            Row row = row(series);
            (row.layer() == Diff.ALL_LAYERS ? components : layers).add(row);
        }
        components.sort(java.util.Comparator.comparing(Row::component));
        layers.sort(java.util.Comparator.comparing(Row::component).thenComparingInt(Row::layer));
        List<Row> all = new ArrayList<>(components);
        all.addAll(layers);
        return all;
    }

    static Row row(List<Diff.GroupChange> series) {
        int t = series.size();
        double[] r = new double[t];
        for (int i = 0; i < t; i++) {
            r[i] = series.get(i).relChange();
        }
        double mean = mean(r, 0, t);
        double speed = Double.NaN;
        double stability = Double.NaN;
        if (t >= 2) {
            double[] n = new double[t];
            for (int i = 0; i < t; i++) {
                n[i] = r[i] / mean;
            }
            int half = t / 2;
            speed = mean(n, 0, half) - mean(n, t - half, t);
            double m = mean(n, 0, t);
            double var = 0;
            for (double v : n) {
                var += (v - m) * (v - m);
            }
            stability = 1 / Math.sqrt(var / t);
        }
        double normChange = 0;
        double scale = series.getFirst().normA();
        for (Diff.GroupChange g : series) {
            normChange += Math.abs(g.normB() - g.normA());
            scale += g.normB();
        }
        double meanNormChange = (normChange / t) / (scale / (t + 1));
        Diff.GroupChange first = series.getFirst();
        return new Row(first.component(), first.layer(), t, mean, speed, stability, meanNormChange);
    }

    private static double mean(double[] v, int from, int to) {
        double s = 0;
        for (int i = from; i < to; i++) {
            s += v[i];
        }
        return s / (to - from);
    }
}
