package org.moescope.monitor;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.moescope.memorisation.EpsilonSelection;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** The report reads top-down: the answer, the headline chart, small charts, then tables filtered to what means something. */
class MonitorReportTest {
    @TempDir
    Path dir;

    private static final MonitorSettings SETTINGS = new MonitorSettings(0.7, Double.NaN, 0.05, 0.2, 0.25, 1000, 0, 3, -1);

    /** 8 checkpoints; S rises with the accuracy, the distance falls after it, C and train_total never change. */
    private static MonitorAnalysis.Result result(List<MonitorAnalysis.CorrelationRow> corr, boolean withScore) {
        List<MonitorAnalysis.Row> rows = new ArrayList<>();
        double[] acc = {0, 0, 0, 0.1, 0.4, 0.8, 0.95, 1};
        for (int c = 0; c < 8; c++) {
            for (String g : List.of("all", "memorised@100")) {
                Map<String, Double> m = new LinkedHashMap<>();
                m.put("train_loss", 1.0 / (c + 1));
                m.put("mean_distance_char", 100 - 5.0 * c * c);
                m.put("mean_distance_expert", 40.0 - c);
                m.put("mean_distance_char_norm", 0.5 - 0.01 * c);
                m.put("mean_layer_cosine", 0.8 + 0.02 * c);
                m.put("mean_consistency_v4", 0.3);
                m.put("mean_pathway_length", 2 + 0.01 * (c % 2) + 0.0);
                m.put("routing_entropy", 1.5 - 0.1 * c);
                m.put("effective_dimension", Double.NaN);
                Map<String, Double> s = new LinkedHashMap<>();
                if (withScore) {
                    s.put("test_accuracy", acc[c]);
                    s.put("train_total", 1000.0);
                }
                s.put("engine_train_accuracy", Double.NaN);
                s.put("engine_test_accuracy", Double.NaN);
                s.put("engine_test_loss", Double.NaN);
                s.put("validation_loss", Double.NaN);
                rows.add(new MonitorAnalysis.Row("step-" + c * 100, c * 100L, g, g.equals("all") ? 200 : 50, 100, true, m, s));
            }
        }
        Map<String, Integer> sizes = new LinkedHashMap<>();
        sizes.put("all", 200);
        sizes.put("memorised@100", 50);
        List<String> scores = withScore ? List.of("test_accuracy", "train_total", "engine_train_accuracy",
                "engine_test_accuracy", "engine_test_loss", "validation_loss")
                : List.of("engine_train_accuracy", "engine_test_accuracy", "engine_test_loss", "validation_loss");
        return new MonitorAnalysis.Result(rows, corr, new EpsilonSelection.Choice(0.5, 0.22, true, 44, 200, 0.2, 0.25),
                sizes, scores, List.of());
    }

    private static MonitorAnalysis.CorrelationRow corr(String group, String metric, String score, int points, double r, int lag,
                                                       double lagR) {
        return new MonitorAnalysis.CorrelationRow(group, metric, score, 300, points, r, r * 0.95, lag, lagR);
    }

    private static List<MonitorAnalysis.CorrelationRow> correlations() {
        return List.of(
                corr("all", "mean_layer_cosine", "test_accuracy", 5, 0.97, 0, 0.97),
                corr("all", "mean_distance_char", "test_accuracy", 5, -0.83, -3, -0.91),
                corr("all", "mean_pathway_length", "test_accuracy", 5, -0.12, 1, -0.3),
                corr("all", "train_loss", "test_accuracy", 5, -0.6, 0, -0.6),
                corr("all", "routing_entropy", "test_accuracy", 3, -0.99, 0, -0.99),        // too few points
                corr("all", "mean_consistency_v4", "test_accuracy", 5, Double.NaN, 0, Double.NaN), // constant metric
                corr("all", "mean_layer_cosine", "train_total", 5, Double.NaN, 0, Double.NaN),     // constant score
                corr("memorised@100", "mean_layer_cosine", "test_accuracy", 5, 0.95, 1, 0.96));
    }

    private static MonitorReport.Context context(int minPoints) {
        return new MonitorReport.Context(List.of("step-0", "step-700"), 200, 100, 0, SETTINGS,
                "moescope monitor --out report", Map.of("data", "train.jsonl"), minPoints);
    }

    @Test
    void theAnswerNamesTheBestRoutingMetricItsStrengthAndItsTiming() {
        List<String> answer = MonitorReport.answer(result(correlations(), true), "test_accuracy", 5);
        assertEquals("Of the routing metrics, pathway consistency S (mean_layer_cosine) tracks test_accuracy most closely: "
                + "Pearson r = +0.97, Spearman +0.92, over the 5 checkpoints from step 300 on, where test_accuracy starts "
                + "rising. That is a strong positive correlation: it rises as test_accuracy rises.", answer.get(0));
        assertEquals("It moves together with test_accuracy: over all 8 checkpoints, shifting one against the other by up "
                + "to 3 checkpoints does not line them up better.", answer.get(1));
        List<MonitorAnalysis.CorrelationRow> lagging = new ArrayList<>(correlations());
        lagging.set(0, corr("all", "mean_layer_cosine", "test_accuracy", 5, 0.97, -1, 0.77));
        assertEquals("It moves after test_accuracy: over all 8 checkpoints, the two line up best (r = +0.77) when the "
                + "metric lags by 1 checkpoint.", MonitorReport.answer(result(lagging, true), "test_accuracy", 5).get(1));
        assertEquals("Next: pathway distance in characters (mean_distance_char), r = -0.83; best aligned when it lags "
                + "test_accuracy by 3 checkpoints (r = -0.91).", answer.get(2));
        assertTrue(answer.get(3).startsWith("Baseline: the training loss over the same checkpoints gives r = -0.60, weaker"),
                answer.get(3));
        assertTrue(answer.stream().anyMatch(s -> s.startsWith("Control: over every checkpoint")), answer.toString());
        assertTrue(answer.get(answer.size() - 1).startsWith("In the largest memorised group (memorised@100, 50 samples)"),
                answer.toString());
        assertTrue(answer.size() <= 6, "a few sentences, not one per metric and group: " + answer.size());
        // routing_entropy's r = -0.99 rests on 3 points: it wins only when the user asks for 3.
        assertTrue(MonitorReport.answer(result(correlations(), true), "test_accuracy", 3).get(0)
                .contains("routing entropy (routing_entropy)"));
    }

    @Test
    void withoutAScoreOrWithTooFewPointsTheAnswerSaysSo() {
        assertTrue(MonitorReport.answer(result(List.of(), false), null, 5).get(0).startsWith("No score series was given"));
        List<String> few = MonitorReport.answer(result(List.of(corr("all", "mean_layer_cosine", "test_accuracy", 3, 0.9, 0, 0.9)),
                true), "test_accuracy", 5);
        assertEquals(1, few.size());
        assertTrue(few.get(0).startsWith("Too few checkpoints to say which metric tracks test_accuracy: after it starts "
                + "rising there are 3 (at least 5 are needed"), few.get(0));
    }

    @Test
    void thePageLeadsWithTheAnswerAndChartsAndFiltersItsTables() throws Exception {
        Path report = MonitorReport.write(dir, result(correlations(), true), context(5));
        String html = Files.readString(report);
        int answer = html.indexOf("<h2>What the numbers say</h2>"), firstSvg = html.indexOf("<svg"),
                firstTable = html.indexOf("<table");
        assertTrue(answer >= 0 && answer < firstSvg && firstSvg < firstTable, "answer, then charts, then tables");
        assertTrue(html.indexOf("<h2>") == answer, "the answer is the first section");
        assertTrue(Files.exists(dir.resolve("headline.png")) && Files.exists(dir.resolve("headline.svg")));
        String headline = Files.readString(dir.resolve("headline.svg"));
        assertTrue(headline.contains("mean_layer_cosine") && headline.contains("mean_distance_char")
                && headline.contains("test_accuracy"), "the headline holds the two strong metrics and the score");
        // one small chart per metric that changes: 7 of 9 (C is constant, d_eff has no value), plus the headline
        assertEquals(8, html.split("<svg", -1).length - 1);
        assertTrue(html.contains("Not charted, because they do not change over the checkpoints (or have no value): "
                + "mean_consistency_v4, effective_dimension."));
        // constant score columns and short or undefined correlations are out of the page, but not out of metrics.json
        assertFalse(html.contains("train_total"), "a constant score column says nothing");
        assertFalse(html.contains("<tr><td>routing_entropy</td>"), "a correlation over 3 points is not a row");
        assertFalse(html.contains(">n/a</td><td>n/a<"), "no rows of undefined correlations");
        JsonNode json = new ObjectMapper().readTree(dir.resolve("metrics.json").toFile());
        assertEquals(8, json.get("correlations").size(), "metrics.json keeps every correlation");
        assertTrue(json.get("rows").get(0).has("train_total"));
        assertTrue(html.contains("<details><summary>Every group, metric and score: 5 correlations (3 more in metrics.json"),
                html.substring(html.indexOf("<details>"), html.indexOf("<details>") + 200));
        assertTrue(html.contains("<table class=\"sortable\">") && html.contains("table.sortable"), "sortable tables");
        assertTrue(html.contains("<td>moescope monitor --out report</td>"));
        assertFalse(html.matches("(?s).*(src|href)=\"https?:.*"), "self-contained");
        // with --report-min-points 3 the 3-point correlation is shown
        String three = Files.readString(MonitorReport.write(dir.resolve("three"), result(correlations(), true), context(3)));
        assertTrue(three.contains("<tr><td>routing_entropy</td>"));
    }
}
