package org.moescope.monitor;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.jfree.chart.JFreeChart;
import org.moescope.output.AtomicFiles;
import org.moescope.report.ChartFiles;
import org.moescope.report.HtmlReport;
import org.moescope.report.TrajectoryChart;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Writes metrics.csv, metrics.json, one chart per metric (PNG + SVG) and the self-contained report.html. The page
 * reads top-down the way a reader asks: the answer in a few sentences, the headline chart (the score and the metrics
 * that track it best), one small chart per metric, then tables filtered to what means something; the full numbers
 * stay in metrics.csv/json.
 */
public final class MonitorReport {
    private static final int W = 900, H = 480, SMALL_W = 460, SMALL_H = 300;
    /** Metrics the answer considers: the routing metrics; the training loss is the baseline they are compared with. */
    private static final List<String> ROUTING = List.of("mean_distance_char", "mean_distance_expert",
            "mean_distance_char_norm", "mean_layer_cosine", "mean_consistency_v4", "mean_pathway_length",
            "routing_entropy", "effective_dimension");

    /**
     * What the report says about the run, besides the numbers.
     *
     * @param minPoints correlations over fewer checkpoints are not shown (they stay in metrics.json)
     */
    public record Context(List<String> checkpoints, int trainSamples, int testSamples, int validationSamples,
                          MonitorSettings settings, String command, Map<String, String> inputs, int minPoints) {
    }

    private static final Map<String, String> TITLES = Map.of(
            "train_loss", "Training loss (mean per-sample NLL)",
            "mean_distance_char", "Pathway distance, character Levenshtein (mean over pairs)",
            "mean_distance_expert", "Pathway distance, expert-level Levenshtein (mean over pairs)",
            "mean_distance_char_norm", "Pathway distance, character Levenshtein ÷ longer length",
            "mean_layer_cosine", "Pathway consistency S = mean cos(e_l, e_l+1) (higher = smoother)",
            "mean_consistency_v4", "Paper v4 consistency C = 1 − mean cos / max cos (higher = more erratic, per its text)",
            "mean_pathway_length", "Control: experts kept per layer (pathway length)",
            "routing_entropy", "Control: entropy of the token-averaged routing (nats)",
            "effective_dimension", "Effective dimension d_eff of the one-layer routing kernel (mean over layers, λ = Tr(H)/n)");

    /** Names a reader recognises, for sentences and small charts. */
    private static final Map<String, String> SHORT = Map.of(
            "train_loss", "training loss",
            "mean_distance_char", "pathway distance in characters",
            "mean_distance_expert", "expert-level pathway distance",
            "mean_distance_char_norm", "normalised pathway distance",
            "mean_layer_cosine", "pathway consistency S",
            "mean_consistency_v4", "the paper's consistency C",
            "mean_pathway_length", "pathway length",
            "routing_entropy", "routing entropy",
            "effective_dimension", "routing-kernel d_eff");

    private MonitorReport() {
    }

    /** Writes everything into {@code out}; returns the path of report.html. */
    public static Path write(Path out, MonitorAnalysis.Result result, Context ctx) {
        String primary = primaryScore(result);
        AtomicFiles.writeString(out.resolve("metrics.csv"), csv(result));
        AtomicFiles.writeString(out.resolve("metrics.json"), json(result, ctx));
        List<MonitorAnalysis.Row> all = allRows(result);
        List<String> charted = MonitorAnalysis.METRICS.stream().filter(m -> varies(column(all, m))).toList();
        List<MonitorAnalysis.CorrelationRow> ranked = ranked(result, primary, ctx.minPoints());

        HtmlReport html = new HtmlReport("moescope monitor: routing pathways across checkpoints");
        html.heading("What the numbers say");
        for (String line : answer(result, primary, ctx.minPoints())) html.paragraph(line);

        // The headline: the score and the metric(s) that track it best, on one figure.
        JFreeChart headline = headline(result, primary, ranked);
        ChartFiles.write(headline, out, "headline", W, H);
        html.figure(ChartFiles.svg(headline, W, H), headlineCaption(primary, ranked) + " Files: headline.png, headline.svg.");

        html.heading("Every metric against " + (primary == null ? "training step" : primary));
        html.paragraph("One chart per metric: group 'all' and the memorisation groups of at least 2% of the samples"
                + (primary == null ? "." : ", with " + primary + " dashed behind (right axis).")
                + " Full-size PNG and SVG files of each are in the output directory.");
        html.beginGrid();
        for (String metric : MonitorAnalysis.METRICS) {
            JFreeChart big = chart(result, metric, primary, TITLES.get(metric));
            ChartFiles.write(big, out, metric, W, H);
            if (!charted.contains(metric)) continue;
            JFreeChart small = chart(result, metric, primary, SHORT.get(metric) + " (" + metric + ")");
            html.figure(ChartFiles.svg(small, SMALL_W, SMALL_H), TITLES.get(metric) + correlationNote(ranked, metric, primary)
                    + ". Files: " + metric + ".png, " + metric + ".svg.");
        }
        html.endGrid();
        List<String> flat = MonitorAnalysis.METRICS.stream().filter(m -> !charted.contains(m)).toList();
        if (!flat.isEmpty()) {
            html.paragraph("Not charted, because they do not change over the checkpoints (or have no value): "
                    + String.join(", ", flat) + ".");
        }

        html.heading("Tables");
        html.paragraph("Filtered to what means something: metrics and scores that do not change are left out, and so are "
                + "correlations over fewer than " + ctx.minPoints() + " checkpoints (--report-min-points). Click a column "
                + "header to sort. metrics.csv and metrics.json hold every number.");
        if (primary != null && !ranked.isEmpty()) {
            html.rawParagraph("<b>" + HtmlReport.escape("Group 'all' against " + primary + ", strongest first") + "</b>");
            html.sortableTable(List.of("metric", "Pearson", "Spearman", "points", "from step", "best lag (+ = metric leads)",
                    "r at best lag"), ranked.stream().map(c -> List.of(c.metric(), HtmlReport.num(c.pearson()),
                    HtmlReport.num(c.spearman()), Integer.toString(c.points()), Long.toString(c.fromStep()),
                    Integer.toString(c.bestLag()), HtmlReport.num(c.bestLagPearson()))).toList());
        }
        List<MonitorAnalysis.CorrelationRow> meaningful = meaningful(result, ctx.minPoints());
        if (!meaningful.isEmpty()) {
            html.beginDetails("Every group, metric and score: " + meaningful.size() + " correlations ("
                    + (result.correlations().size() - meaningful.size()) + " more in metrics.json: constant series or "
                    + "fewer than " + ctx.minPoints() + " points)");
            html.sortableTable(List.of("group", "metric", "score", "from step", "points", "Pearson", "Spearman",
                    "best lag (+ = metric leads)", "r at best lag"), meaningful.stream().map(c -> List.of(c.group(),
                    c.metric(), c.score(), Long.toString(c.fromStep()), Integer.toString(c.points()),
                    HtmlReport.num(c.pearson()), HtmlReport.num(c.spearman()), Integer.toString(c.bestLag()),
                    HtmlReport.num(c.bestLagPearson()))).toList());
            html.endDetails();
        }
        List<String> scoreCols = result.scoreColumns().stream().filter(sc -> varies(scoreColumn(all, sc))).toList();
        html.beginDetails("Metrics per checkpoint, group 'all' (" + all.size() + " checkpoints)");
        List<String> header = new ArrayList<>(List.of("checkpoint", "step"));
        header.addAll(scoreCols);
        header.addAll(charted);
        List<List<String>> rows = new ArrayList<>();
        for (MonitorAnalysis.Row row : all) {
            List<String> r = new ArrayList<>(List.of(row.checkpoint(), Long.toString(row.step())));
            scoreCols.forEach(sc -> r.add(HtmlReport.num(row.scores().getOrDefault(sc, Double.NaN))));
            charted.forEach(m -> r.add(HtmlReport.num(row.metrics().get(m))));
            rows.add(r);
        }
        html.sortableTable(header, rows);
        html.endDetails();
        List<List<String>> groupRows = new ArrayList<>();
        result.groupSizes().forEach((g, size) -> groupRows.add(List.of(g, Integer.toString(size))));
        html.beginDetails("Groups (" + groupRows.size() + ")");
        html.sortableTable(List.of("group", "samples"), groupRows);
        html.endDetails();
        html.beginDetails("Settings and inputs");
        html.table(List.of("setting", "value"), settingsRows(result, ctx));
        html.endDetails();

        html.heading("Notes");
        html.paragraph("Training samples are traced through every checkpoint; their expert pathways are compared within "
                + "memorisation groups (samples that reached a stable low loss at the same checkpoint) and against "
                + (primary == null ? "no held-out score (none was given)" : "the held-out score '" + primary + "'")
                + ". Metrics follow Li, Fan & Zhou, arXiv 2506.21551; definitions in docs/metrics.md. To look at the "
                + "routes themselves (experts per layer, samples token by token, pathways across checkpoints): "
                + "moescope explore --routes " + out.getFileName() + " (docs/explorer.md).");
        html.paragraph("Distances: 'char' is the Levenshtein distance between pathway strings such as '3,1,5-9,1' counted in "
                + "characters (the paper's unit); 'expert' counts expert ids and layer separators as symbols; 'char_norm' "
                + "divides by the longer string. Group means are exact up to max-pairs pairs, else a seeded uniform sample.");
        html.paragraph("Consistency: the paper's v4 formula C = 1 − mean cos / max cos is, by its own text, higher for more "
                + "erratic routing, while its figures treat consistency as rising with generalisation; S (the mean adjacent-layer "
                + "cosine) is reported beside it so that nobody has to guess the sign.");
        html.paragraph("Controls: when routing grows more diffuse, more experts pass τ, pathways get longer and character "
                + "distances grow without any change in structure; read mean_distance_* beside mean_pathway_length and "
                + "routing_entropy.");
        Path report = out.resolve("report.html");
        AtomicFiles.writeString(report, html.render());
        return report;
    }

    static String primaryScore(MonitorAnalysis.Result r) {
        if (r.scoreColumns().contains("test_accuracy")) return "test_accuracy";
        boolean engineTest = r.rows().stream().anyMatch(row -> !Double.isNaN(row.scores().get("engine_test_accuracy")));
        if (engineTest) return "engine_test_accuracy";
        return r.scoreColumns().stream().filter(c -> !c.startsWith("engine_") && !c.equals("validation_loss"))
                .findFirst().orElse(null);
    }

    private static List<MonitorAnalysis.Row> allRows(MonitorAnalysis.Result r) {
        return r.rows().stream().filter(x -> x.group().equals(MonitorAnalysis.ALL)).toList();
    }

    private static double[] column(List<MonitorAnalysis.Row> rows, String metric) {
        return rows.stream().mapToDouble(x -> x.metrics().getOrDefault(metric, Double.NaN)).toArray();
    }

    private static double[] scoreColumn(List<MonitorAnalysis.Row> rows, String score) {
        return rows.stream().mapToDouble(x -> x.scores().getOrDefault(score, Double.NaN)).toArray();
    }

    /** Whether a series has at least two different finite values: a constant column says nothing. */
    static boolean varies(double[] v) {
        double first = Double.NaN;
        for (double x : v) {
            if (!Double.isFinite(x)) continue;
            if (Double.isNaN(first)) first = x;
            else if (x != first) return true;
        }
        return false;
    }

    /** Correlations worth a row: enough points and a defined Pearson (neither series constant). */
    static List<MonitorAnalysis.CorrelationRow> meaningful(MonitorAnalysis.Result r, int minPoints) {
        return r.correlations().stream().filter(c -> c.points() >= minPoints && Double.isFinite(c.pearson())).toList();
    }

    /** Group 'all' against the primary score, metrics and baselines, strongest |Pearson| first. */
    static List<MonitorAnalysis.CorrelationRow> ranked(MonitorAnalysis.Result r, String primary, int minPoints) {
        if (primary == null) return List.of();
        return meaningful(r, minPoints).stream()
                .filter(c -> c.group().equals(MonitorAnalysis.ALL) && c.score().equals(primary))
                .sorted(java.util.Comparator.comparingDouble((MonitorAnalysis.CorrelationRow c) -> -Math.abs(c.pearson())))
                .toList();
    }

    /**
     * The answer in plain sentences: which routing metric tracks the score, how strongly, whether it moves before or
     * after it; the runner-up; the training-loss baseline; the pathway-length control; the largest memorised group.
     */
    static List<String> answer(MonitorAnalysis.Result r, String primary, int minPoints) {
        List<String> out = new ArrayList<>();
        if (primary == null) {
            out.add("No score series was given, so nothing can be said about generalisation; the charts show the metrics "
                    + "alone. Give --test (held-out samples) or --scores to set the metrics against a score.");
            return out;
        }
        List<MonitorAnalysis.CorrelationRow> ranked = ranked(r, primary, minPoints);
        List<MonitorAnalysis.CorrelationRow> routing = ranked.stream().filter(c -> ROUTING.contains(c.metric())).toList();
        if (routing.isEmpty()) {
            long points = r.correlations().stream().filter(c -> c.group().equals(MonitorAnalysis.ALL)
                    && c.score().equals(primary)).mapToInt(MonitorAnalysis.CorrelationRow::points).max().orElse(0);
            out.add("Too few checkpoints to say which metric tracks " + primary + ": after it starts rising there are "
                    + points + " (at least " + minPoints + " are needed; --report-min-points lowers it, --correlate-from "
                    + "moves the start). The charts below show the trajectories.");
            return out;
        }
        MonitorAnalysis.CorrelationRow best = routing.get(0);
        out.add(String.format(Locale.ROOT, "Of the routing metrics, %s (%s) tracks %s most closely: Pearson r = %s, "
                        + "Spearman %s, over the %d checkpoints from step %,d on, where %s starts rising. That is a %s %s "
                        + "correlation: %s.", SHORT.get(best.metric()), best.metric(), primary, signed(best.pearson()),
                signed(best.spearman()), best.points(), best.fromStep(), primary, strength(best.pearson()),
                best.pearson() > 0 ? "positive" : "negative", best.pearson() > 0 ? "it rises as " + primary + " rises"
                        : "it falls as " + primary + " rises"));
        out.add(timing(best, primary, allRows(r).size()));
        if (routing.size() > 1) {
            MonitorAnalysis.CorrelationRow next = routing.get(1);
            out.add(String.format(Locale.ROOT, "Next: %s (%s), r = %s; %s.", SHORT.get(next.metric()), next.metric(),
                    signed(next.pearson()), lagPhrase(next, primary)));
        }
        ranked.stream().filter(c -> c.metric().equals("train_loss")).findFirst().ifPresent(c -> out.add(String.format(
                Locale.ROOT, "Baseline: the training loss over the same checkpoints gives r = %s%s.", signed(c.pearson()),
                Math.abs(c.pearson()) >= Math.abs(best.pearson()) ? ", as strong as the best routing metric: the "
                        + "routing adds little beyond the loss here" : ", weaker than " + SHORT.get(best.metric()))));
        List<MonitorAnalysis.Row> all = allRows(r);
        double rl = org.moescope.stats.Correlation.pearson(column(all, "mean_distance_char"), column(all, "mean_pathway_length"));
        if (Double.isFinite(rl)) {
            out.add(String.format(Locale.ROOT, "Control: over every checkpoint, the character distance and the pathway "
                    + "length correlate at r = %s. %s", signed(rl), Math.abs(rl) > 0.7
                    ? "Much of the distance's movement comes from pathways getting longer or shorter, not from samples sharing them."
                    : "Pathway length explains little of the distance's movement."));
        }
        String memorised = r.groupSizes().entrySet().stream()
                .filter(e -> e.getKey().contains("memorised@") && e.getValue() >= 2)
                .max(Map.Entry.comparingByValue()).map(Map.Entry::getKey).orElse(null);
        if (memorised != null) {
            meaningful(r, minPoints).stream()
                    .filter(c -> c.group().equals(memorised) && c.score().equals(primary) && ROUTING.contains(c.metric()))
                    .max(java.util.Comparator.comparingDouble(c -> Math.abs(c.pearson())))
                    .ifPresent(c -> out.add(String.format(Locale.ROOT, "In the largest memorised group (%s, %d samples) "
                                    + "the closest is %s (%s), r = %s.", memorised, r.groupSizes().get(memorised),
                            SHORT.get(c.metric()), c.metric(), signed(c.pearson()))));
        }
        return out;
    }

    /** Before or after: the best shift of the whole trajectories (best_lag, docs/metrics.md), said in words. */
    private static String timing(MonitorAnalysis.CorrelationRow c, String primary, int checkpoints) {
        if (c.bestLag() == 0 || !Double.isFinite(c.bestLagPearson())) {
            return "It moves together with " + primary + ": over all " + checkpoints + " checkpoints, shifting one against "
                    + "the other by up to 3 checkpoints does not line them up better.";
        }
        int n = Math.abs(c.bestLag());
        return String.format(Locale.ROOT, "It moves %s %s: over all %d checkpoints, the two line up best (r = %s) when "
                        + "the metric %s by %d checkpoint%s.", c.bestLag() > 0 ? "before" : "after", primary, checkpoints,
                signed(c.bestLagPearson()), c.bestLag() > 0 ? "leads" : "lags", n, n == 1 ? "" : "s");
    }

    private static String lagPhrase(MonitorAnalysis.CorrelationRow c, String primary) {
        if (c.bestLag() == 0 || !Double.isFinite(c.bestLagPearson())) return "it moves together with " + primary;
        int n = Math.abs(c.bestLag());
        return String.format(Locale.ROOT, "best aligned when it %s %s by %d checkpoint%s (r = %s)",
                c.bestLag() > 0 ? "leads" : "lags", primary, n, n == 1 ? "" : "s", signed(c.bestLagPearson()));
    }

    private static String strength(double r) {
        double a = Math.abs(r);
        return a >= 0.7 ? "strong" : a >= 0.4 ? "moderate" : "weak";
    }

    private static String signed(double v) {
        return Double.isNaN(v) ? "n/a" : String.format(Locale.ROOT, "%+.2f", v);
    }

    private static String correlationNote(List<MonitorAnalysis.CorrelationRow> ranked, String metric, String primary) {
        return ranked.stream().filter(c -> c.metric().equals(metric)).findFirst()
                .map(c -> "; group all vs " + primary + ": r = " + signed(c.pearson()) + " over " + c.points() + " checkpoints")
                .orElse("");
    }

    /** The routing metrics the headline shows: the best, and the runner-up when it is strong too. */
    static List<MonitorAnalysis.CorrelationRow> headlineMetrics(List<MonitorAnalysis.CorrelationRow> ranked) {
        List<MonitorAnalysis.CorrelationRow> routing = ranked.stream().filter(c -> ROUTING.contains(c.metric())).toList();
        if (routing.isEmpty()) return List.of();
        if (routing.size() > 1 && Math.abs(routing.get(1).pearson()) >= 0.7) return routing.subList(0, 2);
        return routing.subList(0, 1);
    }

    private static JFreeChart headline(MonitorAnalysis.Result r, String primary, List<MonitorAnalysis.CorrelationRow> ranked) {
        List<MonitorAnalysis.Row> all = allRows(r);
        List<MonitorAnalysis.CorrelationRow> shown = headlineMetrics(ranked);
        if (shown.isEmpty()) {
            // No score, or too few points: the headline is the pathway distance of group all, the paper's main metric.
            TrajectoryChart c = new TrajectoryChart("Pathway distance of all samples" + (primary == null ? "" : " and " + primary),
                    "training step", "mean_distance_char");
            for (MonitorAnalysis.Row row : all) {
                c.point("mean_distance_char", row.step(), row.metrics().get("mean_distance_char"));
                if (primary != null) c.score(primary, row.step(), row.scores().get(primary));
            }
            return c.build();
        }
        boolean scaled = shown.size() > 1;
        String title = "What tracks " + primary + ": " + String.join(" and ", shown.stream().map(c -> SHORT.get(c.metric())).toList());
        TrajectoryChart c = new TrajectoryChart(title, "training step",
                scaled ? "metric, scaled to its range (0 = lowest, 1 = highest)" : shown.get(0).metric());
        for (MonitorAnalysis.CorrelationRow m : shown) {
            double[] v = column(all, m.metric());
            double lo = java.util.Arrays.stream(v).filter(Double::isFinite).min().orElse(0);
            double hi = java.util.Arrays.stream(v).filter(Double::isFinite).max().orElse(1);
            String name = m.metric() + " (r = " + signed(m.pearson()) + (scaled ? "; " + HtmlReport.num(lo) + " to "
                    + HtmlReport.num(hi) : "") + ")";
            for (int i = 0; i < all.size(); i++) {
                c.point(name, all.get(i).step(), scaled ? (v[i] - lo) / (hi - lo) : v[i]);
            }
        }
        for (MonitorAnalysis.Row row : all) c.score(primary, row.step(), row.scores().get(primary));
        c.marker(shown.get(0).fromStep(), " correlations from here");
        return c.build();
    }

    private static String headlineCaption(String primary, List<MonitorAnalysis.CorrelationRow> ranked) {
        List<MonitorAnalysis.CorrelationRow> shown = headlineMetrics(ranked);
        if (shown.isEmpty()) {
            return "Mean character pathway distance of all samples against training step"
                    + (primary == null ? "." : "; dashed: " + primary + " (right axis).");
        }
        return "Group 'all': " + String.join(" and ", shown.stream().map(MonitorAnalysis.CorrelationRow::metric).toList())
                + " against training step" + (shown.size() > 1 ? ", each scaled to its own range (the legend gives it)" : "")
                + "; dashed: " + primary + " (right axis). The dotted line marks where " + primary + " starts rising: "
                + "correlations are taken from there on.";
    }

    private static List<List<String>> settingsRows(MonitorAnalysis.Result r, Context ctx) {
        MonitorSettings s = ctx.settings();
        List<List<String>> rows = new ArrayList<>();
        rows.add(List.of("checkpoints", ctx.checkpoints().size() + " (" + ctx.checkpoints().get(0) + " … "
                + ctx.checkpoints().get(ctx.checkpoints().size() - 1) + ")"));
        rows.add(List.of("training samples", Integer.toString(ctx.trainSamples())));
        rows.add(List.of("test samples", Integer.toString(ctx.testSamples())));
        rows.add(List.of("validation samples", Integer.toString(ctx.validationSamples())));
        rows.add(List.of("tau (pathway threshold)", HtmlReport.num(s.tau())));
        rows.add(List.of("epsilon (memorisation loss)", HtmlReport.num(r.epsilon().epsilon()) + (Double.isNaN(s.epsilon())
                ? String.format(Locale.ROOT, " chosen in steps of 0.1: %.1f%% memorised before the final checkpoint%s",
                100 * r.epsilon().memorisedFraction(), r.epsilon().inBand() ? "" : " (target band not reachable; closest taken)")
                : " (given)")));
        rows.add(List.of("delta (memorisation stability)", HtmlReport.num(s.delta())));
        rows.add(List.of("target memorised fraction", HtmlReport.num(s.targetLow()) + "–" + HtmlReport.num(s.targetHigh())));
        rows.add(List.of("max pairs per group", Long.toString(s.maxPairs())));
        rows.add(List.of("pair sampling seed", Long.toString(s.seed())));
        rows.add(List.of("training-loss moving average window", Integer.toString(s.movingAverage())));
        rows.add(List.of("correlations from", s.correlateFrom() < 0 ? "where each score starts rising"
                : "step " + s.correlateFrom()));
        rows.add(List.of("fewest points for a correlation in this page", Integer.toString(ctx.minPoints())));
        ctx.inputs().forEach((k, v) -> rows.add(List.of(k, v)));
        rows.add(List.of("command", ctx.command()));
        return rows;
    }

    private static JFreeChart chart(MonitorAnalysis.Result r, String metric, String primary, String title) {
        TrajectoryChart c = new TrajectoryChart(title, "training step", metric);
        // Small groups make noisy lines that hide the rest: chart "all" and groups of at least 2% of the samples
        // (10 at least); every group is in metrics.csv.
        int all = r.groupSizes().getOrDefault(MonitorAnalysis.ALL, 0);
        int minSize = Math.max(10, (int) Math.ceil(0.02 * all));
        for (MonitorAnalysis.Row row : r.rows()) {
            if (!row.group().equals(MonitorAnalysis.ALL) && row.nSamples() < minSize) continue;
            c.point(row.group() + " (n=" + row.nSamples() + ")", row.step(), row.metrics().get(metric));
            if (primary != null && row.group().equals(MonitorAnalysis.ALL)) {
                c.score(primary, row.step(), row.scores().get(primary));
            }
        }
        return c.build();
    }

    static String csvName(String scoreColumn) {
        return MonitorAnalysis.METRICS.contains(scoreColumn) || List.of("checkpoint", "step", "group", "n_samples",
                "n_pairs", "pairs_exact").contains(scoreColumn) ? "score_" + scoreColumn : scoreColumn;
    }

    static String csv(MonitorAnalysis.Result r) {
        StringBuilder b = new StringBuilder("checkpoint,step,group,n_samples,n_pairs,pairs_exact");
        MonitorAnalysis.METRICS.forEach(m -> b.append(',').append(m));
        r.scoreColumns().forEach(s -> b.append(',').append(csvName(s)));
        b.append('\n');
        for (MonitorAnalysis.Row row : r.rows()) {
            b.append(row.checkpoint()).append(',').append(row.step()).append(',').append(quote(row.group())).append(',')
                    .append(row.nSamples()).append(',').append(row.nPairs()).append(',').append(row.pairsExact());
            for (String m : MonitorAnalysis.METRICS) b.append(',').append(number(row.metrics().get(m)));
            for (String s : r.scoreColumns()) b.append(',').append(number(row.scores().getOrDefault(s, Double.NaN)));
            b.append('\n');
        }
        return b.toString();
    }

    private static String quote(String s) {
        return s.contains(",") || s.contains("\"") ? "\"" + s.replace("\"", "\"\"") + "\"" : s;
    }

    private static String number(double v) {
        return Double.isNaN(v) ? "" : Double.toString(v);
    }

    private static String json(MonitorAnalysis.Result r, Context ctx) {
        ObjectMapper om = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode root = om.createObjectNode();
        ObjectNode settings = root.putObject("settings");
        MonitorSettings s = ctx.settings();
        settings.put("tau", s.tau());
        settings.put("epsilon", r.epsilon().epsilon());
        settings.put("epsilon_chosen", Double.isNaN(s.epsilon()));
        settings.put("memorised_fraction", r.epsilon().memorisedFraction());
        settings.put("epsilon_in_target", r.epsilon().inBand());
        settings.put("delta", s.delta());
        settings.put("target_low", s.targetLow());
        settings.put("target_high", s.targetHigh());
        settings.put("max_pairs", s.maxPairs());
        settings.put("seed", s.seed());
        settings.put("moving_average", s.movingAverage());
        settings.put("correlate_from", s.correlateFrom());
        settings.put("distance_units", "mean_distance_char: levenshtein_char; mean_distance_expert: levenshtein_expert; "
                + "mean_distance_char_norm: levenshtein_char_norm");
        ctx.inputs().forEach(settings::put);
        ObjectNode groups = root.putObject("groups");
        r.groupSizes().forEach(groups::put);
        ArrayNode rows = root.putArray("rows");
        for (MonitorAnalysis.Row row : r.rows()) {
            ObjectNode o = rows.addObject();
            o.put("checkpoint", row.checkpoint());
            o.put("step", row.step());
            o.put("group", row.group());
            o.put("n_samples", row.nSamples());
            o.put("n_pairs", row.nPairs());
            o.put("pairs_exact", row.pairsExact());
            Map<String, Double> all = new LinkedHashMap<>(row.metrics());
            row.scores().forEach((k, v) -> all.put(csvName(k), v));
            all.forEach((k, v) -> {
                if (Double.isNaN(v)) o.putNull(k);
                else o.put(k, v);
            });
        }
        ArrayNode corr = root.putArray("correlations");
        for (MonitorAnalysis.CorrelationRow c : r.correlations()) {
            ObjectNode o = corr.addObject();
            o.put("group", c.group());
            o.put("metric", c.metric());
            o.put("score", c.score());
            o.put("from_step", c.fromStep());
            o.put("points", c.points());
            putNumber(o, "pearson", c.pearson());
            putNumber(o, "spearman", c.spearman());
            o.put("best_lag", c.bestLag());
            putNumber(o, "best_lag_pearson", c.bestLagPearson());
        }
        ArrayNode findings = root.putArray("findings");
        answer(r, primaryScore(r), ctx.minPoints()).forEach(findings::add);
        try {
            return om.writeValueAsString(root) + "\n";
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void putNumber(ObjectNode o, String k, double v) {
        if (Double.isNaN(v)) o.putNull(k);
        else o.put(k, v);
    }
}
