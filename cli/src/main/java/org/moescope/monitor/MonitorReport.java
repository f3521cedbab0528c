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

/** Writes metrics.csv, metrics.json, one chart per metric (PNG + SVG) and the self-contained report.html. */
public final class MonitorReport {
    private static final int W = 900, H = 480;

    /** What the report says about the run, besides the numbers. */
    public record Context(List<String> checkpoints, int trainSamples, int testSamples, int validationSamples,
                          MonitorSettings settings, String command, Map<String, String> inputs) {
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

    private MonitorReport() {
    }

    /** Writes everything into {@code out}; returns the path of report.html. */
    public static Path write(Path out, MonitorAnalysis.Result result, Context ctx) {
        String primary = primaryScore(result);
        AtomicFiles.writeString(out.resolve("metrics.csv"), csv(result));
        AtomicFiles.writeString(out.resolve("metrics.json"), json(result, ctx));
        HtmlReport html = new HtmlReport("moescope monitor: routing pathways across checkpoints");
        html.paragraph("Training samples are traced through every checkpoint; their expert pathways are compared within "
                + "memorisation groups (samples that reached a stable low loss at the same checkpoint) and against "
                + (primary == null ? "no held-out score (none was given)" : "the held-out score '" + primary + "'")
                + ". Metrics follow Li, Fan & Zhou, arXiv 2506.21551; definitions in docs/metrics.md.");
        html.heading("What the numbers say");
        for (String line : findings(result, primary)) {
            html.paragraph(line);
        }
        html.heading("Settings");
        html.table(List.of("setting", "value"), settingsRows(result, ctx));
        html.heading("Groups");
        List<List<String>> groupRows = new ArrayList<>();
        result.groupSizes().forEach((g, size) -> groupRows.add(List.of(g, Integer.toString(size))));
        html.table(List.of("group", "samples"), groupRows);
        if (!result.correlations().isEmpty()) {
            html.heading("Correlations with the scores (checkpoints after the score starts rising)");
            List<List<String>> rows = new ArrayList<>();
            for (MonitorAnalysis.CorrelationRow c : result.correlations()) {
                rows.add(List.of(c.group(), c.metric(), c.score(), Long.toString(c.fromStep()), Integer.toString(c.points()),
                        HtmlReport.num(c.pearson()), HtmlReport.num(c.spearman()), Integer.toString(c.bestLag()),
                        HtmlReport.num(c.bestLagPearson())));
            }
            html.table(List.of("group", "metric", "score", "from step", "points", "Pearson", "Spearman",
                    "best lag (+ = metric leads)", "r at best lag"), rows);
        }
        html.heading("Charts");
        for (String metric : MonitorAnalysis.METRICS) {
            JFreeChart chart = chart(result, metric, primary);
            ChartFiles.write(chart, out, metric, W, H);
            html.figure(ChartFiles.svg(chart, W, H), TITLES.get(metric) + " per group (groups of at least 2% of the "
                    + "samples) against training step"
                    + (primary == null ? "" : "; dashed: " + primary + " (right axis)") + ". Files: " + metric + ".png, "
                    + metric + ".svg.");
        }
        html.heading("Notes");
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

    /** Plain-language statements, one per key metric, for the group "all" and the largest memorised group. */
    static List<String> findings(MonitorAnalysis.Result r, String primary) {
        List<String> out = new ArrayList<>();
        if (primary == null) {
            out.add("No score series was given, so nothing can be said about generalisation; the charts show the metrics alone.");
            return out;
        }
        String memorised = r.groupSizes().entrySet().stream()
                .filter(e -> e.getKey().contains("memorised@") && e.getValue() >= 2)
                .max(Map.Entry.comparingByValue()).map(Map.Entry::getKey).orElse(null);
        for (String group : memorised == null ? List.of(MonitorAnalysis.ALL) : List.of(MonitorAnalysis.ALL, memorised)) {
            for (String metric : List.of("mean_distance_char", "mean_distance_expert", "mean_layer_cosine",
                    "mean_consistency_v4", "mean_pathway_length", "routing_entropy", "train_loss")) {
                r.correlations().stream()
                        .filter(c -> c.group().equals(group) && c.metric().equals(metric) && c.score().equals(primary))
                        .findFirst().ifPresent(c -> out.add(sentence(c)));
            }
        }
        // The control: does the distance move with pathway length?
        List<MonitorAnalysis.Row> all = r.rows().stream().filter(x -> x.group().equals(MonitorAnalysis.ALL)).toList();
        double[] dist = all.stream().mapToDouble(x -> x.metrics().get("mean_distance_char")).toArray();
        double[] len = all.stream().mapToDouble(x -> x.metrics().get("mean_pathway_length")).toArray();
        double rl = org.moescope.stats.Correlation.pearson(dist, len);
        out.add(String.format(Locale.ROOT, "Control (group all, every checkpoint): character distance vs pathway length "
                + "Pearson r = %s. %s", HtmlReport.num(rl), Math.abs(rl) > 0.7
                ? "Much of the distance's movement is explained by pathways getting longer or shorter, not by samples sharing them."
                : "Pathway length explains little of the distance's movement."));
        return out;
    }

    private static String sentence(MonitorAnalysis.CorrelationRow c) {
        String lag = c.bestLag() > 0 ? "it leads " + c.score() + " by " + c.bestLag() + " checkpoint(s)"
                : c.bestLag() < 0 ? "it lags " + c.score() + " by " + (-c.bestLag()) + " checkpoint(s)"
                : "it moves together with " + c.score();
        String strength = Double.isNaN(c.pearson()) ? "undefined" : Math.abs(c.pearson()) >= 0.7 ? "strong"
                : Math.abs(c.pearson()) >= 0.4 ? "moderate" : "weak";
        return String.format(Locale.ROOT, "[%s] %s: %s correlation with %s from step %d on (Pearson %s, Spearman %s, %d "
                        + "checkpoints); at the best shift (r = %s) %s.", c.group(), c.metric(), strength, c.score(),
                c.fromStep(), HtmlReport.num(c.pearson()), HtmlReport.num(c.spearman()), c.points(),
                HtmlReport.num(c.bestLagPearson()), lag);
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
        ctx.inputs().forEach((k, v) -> rows.add(List.of(k, v)));
        rows.add(List.of("command", ctx.command()));
        return rows;
    }

    private static JFreeChart chart(MonitorAnalysis.Result r, String metric, String primary) {
        TrajectoryChart c = new TrajectoryChart(TITLES.get(metric), "training step", metric);
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
        findings(r, primaryScore(r)).forEach(findings::add);
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
