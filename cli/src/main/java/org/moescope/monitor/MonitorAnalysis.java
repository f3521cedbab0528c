package org.moescope.monitor;

import org.moescope.controls.RoutingControls;
import org.moescope.memorisation.EpsilonSelection;
import org.moescope.memorisation.MemorisationSteps;
import org.moescope.pathways.Consistency;
import org.moescope.pathways.DistanceKind;
import org.moescope.pathways.GroupDistances;
import org.moescope.pathways.Pathway;
import org.moescope.pathways.RouterGeometry;
import org.moescope.routing.RouteFile;
import org.moescope.stats.Correlation;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The analysis half of the monitor (paper Sec. 3–4): per-sample losses over checkpoints → memorisation groups; per
 * checkpoint and group → pathway distance (character and expert level), pathway consistency (S and v4 C), the
 * routing-diffuseness controls and the training loss; then each metric's correlation with each score series over
 * the checkpoints after the score starts rising, and its lag against the score.
 */
public final class MonitorAnalysis {
    /** Metric columns of metrics.csv, in order; the report charts each. */
    public static final List<String> METRICS = List.of("train_loss", "mean_distance_char", "mean_distance_expert",
            "mean_distance_char_norm", "mean_layer_cosine", "mean_consistency_v4", "mean_pathway_length",
            "routing_entropy", "effective_dimension");

    /** One (checkpoint, group) row. */
    public record Row(String checkpoint, long step, String group, int nSamples, long nPairs, boolean pairsExact,
                      Map<String, Double> metrics, Map<String, Double> scores) {
    }

    /** A metric against a score over checkpoints {@code from..}: Pearson, Spearman, points used, best lag. */
    public record CorrelationRow(String group, String metric, String score, long fromStep, int points, double pearson,
                                 double spearman, int bestLag, double bestLagPearson) {
    }

    public record Result(List<Row> rows, List<CorrelationRow> correlations, EpsilonSelection.Choice epsilon,
                         Map<String, Integer> groupSizes, List<String> scoreColumns, List<String> domains) {
    }

    static final String ALL = "all";
    static final String NOT_MEMORISED = "not memorised";

    private MonitorAnalysis() {
    }

    public static Result run(List<MonitorTracing.CheckpointData> data, Scores scores, MonitorSettings s) {
        int T = data.size();
        // 1. Per-sample losses over checkpoints, and the samples' domains.
        float[][] losses = new float[T][];
        List<String> domains;
        try (RouteFile first = RouteFile.open(data.get(0).routes())) {
            domains = first.sampleGroups();
        }
        for (int c = 0; c < T; c++) {
            try (RouteFile r = RouteFile.open(data.get(c).routes())) {
                losses[c] = r.loss();
            }
        }
        int n = losses[0].length;
        // 2. Memorisation groups (labelled by the step at which the sample was memorised), within domains.
        EpsilonSelection.Choice eps;
        if (Double.isNaN(s.epsilon())) {
            eps = EpsilonSelection.select(losses, s.delta(), s.targetLow(), s.targetHigh());
        } else {
            int[] st = MemorisationSteps.steps(losses, s.epsilon(), s.delta());
            double fraction = MemorisationSteps.memorisedFraction(losses, st);
            eps = new EpsilonSelection.Choice(s.epsilon(), fraction, fraction >= s.targetLow() && fraction <= s.targetHigh(),
                    (int) java.util.Arrays.stream(st).filter(x -> MemorisationSteps.isMemorised(x, T)).count(),
                    MemorisationSteps.eligible(losses), s.targetLow(), s.targetHigh());
        }
        int[] memStep = MemorisationSteps.steps(losses, eps.epsilon(), s.delta());
        boolean multiDomain = domains.stream().filter(Objects::nonNull).distinct().count() > 1;
        Map<String, List<Integer>> groups = new LinkedHashMap<>();
        groups.put(ALL, new ArrayList<>());
        Map<String, List<Integer>> memGroups = new java.util.TreeMap<>(MonitorAnalysis::compareGroups);
        for (int i = 0; i < n; i++) {
            groups.get(ALL).add(i);
            String label = !MemorisationSteps.isMemorised(memStep[i], T) ? NOT_MEMORISED
                    : "memorised@" + data.get(memStep[i]).entry().step();
            if (multiDomain) {
                label = (domains.get(i) == null ? "-" : domains.get(i)) + "/" + label;
            }
            memGroups.computeIfAbsent(label, k -> new ArrayList<>()).add(i);
        }
        groups.putAll(memGroups);
        Map<String, Integer> sizes = new LinkedHashMap<>();
        groups.forEach((g, members) -> sizes.put(g, members.size()));

        // 3. Metrics per checkpoint and group.
        List<String> scoreColumns = new ArrayList<>(scores.columns());
        List<Row> rows = new ArrayList<>();
        GroupDistances.Options pairOpts = GroupDistances.Options.defaults().withMaxPairs(s.maxPairs()).withSeed(s.seed());
        for (int c = 0; c < T; c++) {
            MonitorTracing.CheckpointData cd = data.get(c);
            List<Pathway> pathways = new ArrayList<>(n);
            double[] layerCos = new double[n], consistency = new double[n], length = new double[n], entropy = new double[n];
            double effectiveDimension = Double.NaN;
            try (RouteFile r = RouteFile.open(cd.routes())) {
                int L = r.numLayers(), E = r.numExperts();
                float[] probs = r.routerProbsMean();
                RouterGeometry geometry = RouterWeights.load(cd.entry().dir(), L, E);
                if (r.has(RouteFile.Field.HIDDEN_MEAN)) {
                    effectiveDimension = EffectiveDimension.meanOverLayers(r, losses[c], s.seed());
                }
                for (int i = 0; i < n; i++) {
                    Pathway p = Pathway.fromRouting(probs, i * L * E, L, E, s.tau());
                    pathways.add(p);
                    Consistency cr = Consistency.of(geometry, probs, i * L * E);
                    layerCos[i] = cr.layerCosineMean();
                    consistency[i] = cr.consistencyV4();
                    length[i] = p.meanExpertsPerLayer();
                    double h = 0;
                    for (int l = 0; l < L; l++) h += RoutingControls.entropy(probs, (i * L + l) * E, E);
                    entropy[i] = h / L;
                }
            }
            for (Map.Entry<String, List<Integer>> g : groups.entrySet()) {
                List<Integer> members = g.getValue();
                List<Pathway> ps = members.stream().map(pathways::get).toList();
                GroupDistances.Result dc = GroupDistances.within(ps, DistanceKind.CHARACTER, pairOpts);
                GroupDistances.Result de = GroupDistances.within(ps, DistanceKind.EXPERT, pairOpts);
                GroupDistances.Result dn = GroupDistances.within(ps, DistanceKind.CHARACTER_NORMALISED, pairOpts);
                Map<String, Double> m = new LinkedHashMap<>();
                m.put("train_loss", mean(losses[c], members));
                m.put("mean_distance_char", dc.mean());
                m.put("mean_distance_expert", de.mean());
                m.put("mean_distance_char_norm", dn.mean());
                m.put("mean_layer_cosine", mean(layerCos, members));
                m.put("mean_consistency_v4", mean(consistency, members));
                m.put("mean_pathway_length", mean(length, members));
                m.put("routing_entropy", mean(entropy, members));
                m.put("effective_dimension", g.getKey().equals(ALL) ? effectiveDimension : Double.NaN);
                Map<String, Double> sc = new LinkedHashMap<>();
                String domain = g.getKey().contains("/") ? g.getKey().substring(0, g.getKey().indexOf('/')) : ALL;
                for (String col : scores.columns()) {
                    sc.put(col, scores.get(col, cd.entry().name(), domain));
                }
                sc.put("engine_train_accuracy", cd.trainAccuracy());
                sc.put("engine_test_accuracy", cd.testAccuracy());
                sc.put("engine_test_loss", cd.testLoss());
                sc.put("validation_loss", cd.validationLoss());
                rows.add(new Row(cd.entry().name(), cd.entry().step(), g.getKey(), members.size(), dc.pairsUsed(), dc.exact(),
                        m, sc));
            }
        }
        for (String extra : List.of("engine_train_accuracy", "engine_test_accuracy", "engine_test_loss", "validation_loss")) {
            if (!scoreColumns.contains(extra)) scoreColumns.add(extra);
        }

        // 4. Correlations of every metric (and the loss baselines) with every score that is present.
        List<CorrelationRow> corr = new ArrayList<>();
        List<String> targets = new ArrayList<>(scores.columns());
        if (data.stream().anyMatch(d -> !Double.isNaN(d.testAccuracy())) && !targets.contains("test_accuracy")) {
            targets.add("engine_test_accuracy");
        }
        for (String group : groups.keySet()) {
            List<Row> series = rows.stream().filter(r -> r.group().equals(group)).toList();
            for (String target : targets) {
                double[] score = series.stream().mapToDouble(r -> r.scores().get(target)).toArray();
                if (java.util.Arrays.stream(score).allMatch(Double::isNaN)) continue;
                int from = fromIndex(series, score, s.correlateFrom());
                Map<String, double[]> metricSeries = new LinkedHashMap<>();
                for (String metric : METRICS) {
                    metricSeries.put(metric, series.stream().mapToDouble(r -> r.metrics().get(metric)).toArray());
                }
                metricSeries.put("train_loss_moving_avg",
                        org.moescope.stats.MovingAverage.trailing(metricSeries.get("train_loss"), s.movingAverage()));
                double[] val = series.stream().mapToDouble(r -> r.scores().get("validation_loss")).toArray();
                if (java.util.Arrays.stream(val).noneMatch(Double::isNaN)) metricSeries.put("validation_loss", val);
                for (Map.Entry<String, double[]> ms : metricSeries.entrySet()) {
                    double[] x = java.util.Arrays.copyOfRange(ms.getValue(), from, score.length);
                    double[] y = java.util.Arrays.copyOfRange(score, from, score.length);
                    double[][] xy = dropNaN(x, y);
                    int[] lag = bestLag(ms.getValue(), score, 3);
                    corr.add(new CorrelationRow(group, ms.getKey(), target, series.get(from).step(), xy[0].length,
                            Correlation.pearson(xy[0], xy[1]), Correlation.spearman(xy[0], xy[1]), lag[0],
                            lag[1] == Integer.MIN_VALUE ? Double.NaN : lagPearson(ms.getValue(), score, lag[0])));
                }
            }
        }
        return new Result(rows, corr, eps, sizes, scoreColumns, domains.stream().filter(Objects::nonNull).distinct().toList());
    }

    private static int compareGroups(String a, String b) {
        // memorised@<step> in step order, "not memorised" last
        long sa = stepOf(a), sb = stepOf(b);
        return sa != sb ? Long.compare(sa, sb) : a.compareTo(b);
    }

    private static long stepOf(String g) {
        int at = g.lastIndexOf('@');
        return at < 0 ? Long.MAX_VALUE : Long.parseLong(g.substring(at + 1));
    }

    private static int fromIndex(List<Row> series, double[] score, long correlateFrom) {
        if (correlateFrom >= 0) {
            for (int i = 0; i < series.size(); i++) if (series.get(i).step() >= correlateFrom) return i;
            return series.size() - 1;
        }
        double[] filled = score.clone();
        for (int i = 0; i < filled.length; i++) if (Double.isNaN(filled[i])) filled[i] = i > 0 ? filled[i - 1] : 0;
        int from = org.moescope.stats.TrajectoryCorrelation.riseStart(filled);
        return Math.min(from, Math.max(0, score.length - 3)); // keep at least 3 points
    }

    /**
     * The shift k in [-maxLag, maxLag] maximising |Pearson(metric[t], score[t + k])| over the overlapping points: k > 0
     * means the metric moves k checkpoints before the score (it leads). Returns {k, 0} or {0, MIN_VALUE} if undefined.
     */
    static int[] bestLag(double[] metric, double[] score, int maxLag) {
        int best = 0;
        double bestAbs = -1;
        for (int k = -maxLag; k <= maxLag; k++) {
            double r = lagPearson(metric, score, k);
            if (!Double.isNaN(r) && Math.abs(r) > bestAbs + 1e-12) {
                bestAbs = Math.abs(r);
                best = k;
            }
        }
        return bestAbs < 0 ? new int[] {0, Integer.MIN_VALUE} : new int[] {best, 0};
    }

    static double lagPearson(double[] metric, double[] score, int k) {
        List<double[]> pts = new ArrayList<>();
        for (int t = 0; t < metric.length; t++) {
            int u = t + k;
            if (u < 0 || u >= score.length) continue;
            if (Double.isNaN(metric[t]) || Double.isNaN(score[u])) continue;
            pts.add(new double[] {metric[t], score[u]});
        }
        if (pts.size() < 4) return Double.NaN;
        return Correlation.pearson(pts.stream().mapToDouble(p -> p[0]).toArray(), pts.stream().mapToDouble(p -> p[1]).toArray());
    }

    private static double[][] dropNaN(double[] x, double[] y) {
        List<double[]> keep = new ArrayList<>();
        for (int i = 0; i < x.length; i++) if (!Double.isNaN(x[i]) && !Double.isNaN(y[i])) keep.add(new double[] {x[i], y[i]});
        return new double[][] {keep.stream().mapToDouble(p -> p[0]).toArray(), keep.stream().mapToDouble(p -> p[1]).toArray()};
    }

    private static double mean(float[] v, List<Integer> idx) {
        double s = 0;
        int k = 0;
        for (int i : idx) {
            if (!Float.isNaN(v[i])) {
                s += v[i];
                k++;
            }
        }
        return k == 0 ? Double.NaN : s / k;
    }

    private static double mean(double[] v, List<Integer> idx) {
        double s = 0;
        int k = 0;
        for (int i : idx) {
            if (!Double.isNaN(v[i])) {
                s += v[i];
                k++;
            }
        }
        return k == 0 ? Double.NaN : s / k;
    }
}
