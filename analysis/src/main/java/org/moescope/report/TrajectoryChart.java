package org.moescope.report;

import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.title.LegendTitle;
import org.jfree.chart.plot.ValueMarker;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.ui.RectangleAnchor;
import org.jfree.chart.ui.TextAnchor;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.chart.title.TextTitle;
import org.jfree.chart.ui.RectangleEdge;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A metric against training step, one line per group, with optional score series (e.g. test accuracy) drawn dashed
 * on a second y axis, so a reader sees whether the metric moves with, before or after the score.
 */
public final class TrajectoryChart {
    // Colour-blind-safe Okabe–Ito palette.
    static final Color[] PALETTE = {new Color(0x0072B2), new Color(0xD55E00), new Color(0x009E73), new Color(0xCC79A7),
            new Color(0xE69F00), new Color(0x56B4E9), new Color(0x000000), new Color(0xF0E442)};

    private final String title;
    private final String yLabel;
    private final String xLabel;
    private final Map<String, XYSeries> lines = new LinkedHashMap<>();
    private final Map<String, XYSeries> scores = new LinkedHashMap<>();
    private final Map<Double, String> markers = new LinkedHashMap<>();

    public TrajectoryChart(String title, String xLabel, String yLabel) {
        this.title = title;
        this.xLabel = xLabel;
        this.yLabel = yLabel;
    }

    /** Adds a point to a group's line; NaN values leave a gap. */
    public TrajectoryChart point(String group, double x, double y) {
        lines.computeIfAbsent(group, g -> new XYSeries(g, false, true)).add(x, Double.isFinite(y) ? y : Double.NaN);
        return this;
    }

    /** Adds a point to a score series on the right-hand axis. */
    public TrajectoryChart score(String name, double x, double y) {
        scores.computeIfAbsent(name, g -> new XYSeries(g, false, true)).add(x, Double.isFinite(y) ? y : Double.NaN);
        return this;
    }

    /** A labelled vertical line at x, e.g. where the correlations start. */
    public TrajectoryChart marker(double x, String label) {
        markers.put(x, label);
        return this;
    }

    public JFreeChart build() {
        XYSeriesCollection metric = new XYSeriesCollection();
        lines.values().forEach(metric::addSeries);
        NumberAxis x = new NumberAxis(xLabel);
        NumberAxis y = new NumberAxis(yLabel);
        y.setAutoRangeIncludesZero(false);
        XYLineAndShapeRenderer r = new XYLineAndShapeRenderer(true, true);
        for (int i = 0; i < metric.getSeriesCount(); i++) {
            r.setSeriesPaint(i, PALETTE[i % PALETTE.length]);
            r.setSeriesStroke(i, new BasicStroke(2f));
        }
        XYPlot plot = new XYPlot(metric, x, y, r);
        plot.setBackgroundPaint(Color.WHITE);
        plot.setDomainGridlinePaint(new Color(0xDDDDDD));
        plot.setRangeGridlinePaint(new Color(0xDDDDDD));
        if (!scores.isEmpty()) {
            XYSeriesCollection s = new XYSeriesCollection();
            scores.values().forEach(s::addSeries);
            NumberAxis right = new NumberAxis(scores.size() == 1 ? scores.keySet().iterator().next() : "score");
            right.setAutoRangeIncludesZero(false);
            plot.setRangeAxis(1, right);
            plot.setDataset(1, s);
            plot.mapDatasetToRangeAxis(1, 1);
            XYLineAndShapeRenderer sr = new XYLineAndShapeRenderer(true, false);
            for (int i = 0; i < s.getSeriesCount(); i++) {
                sr.setSeriesPaint(i, new Color(0x555555));
                sr.setSeriesStroke(i, new BasicStroke(2f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f,
                        new float[] {6f, 4f}, 0f));
            }
            plot.setRenderer(1, sr);
        }
        for (Map.Entry<Double, String> m : markers.entrySet()) {
            ValueMarker vm = new ValueMarker(m.getKey(), new Color(0x999999), new BasicStroke(1f, BasicStroke.CAP_BUTT,
                    BasicStroke.JOIN_MITER, 10f, new float[] {2f, 3f}, 0f));
            vm.setLabel(m.getValue());
            vm.setLabelFont(new Font("SansSerif", Font.PLAIN, 11));
            vm.setLabelPaint(new Color(0x555555));
            vm.setLabelBackgroundColor(new Color(255, 255, 255, 0));
            vm.setLabelAnchor(RectangleAnchor.TOP_RIGHT);
            vm.setLabelTextAnchor(TextAnchor.TOP_LEFT);
            plot.addDomainMarker(vm);
        }
        JFreeChart chart = new JFreeChart(null, new Font("SansSerif", Font.BOLD, 14), plot, true);
        chart.setTitle(new TextTitle(title, new Font("SansSerif", Font.BOLD, 14)));
        chart.setBackgroundPaint(Color.WHITE);
        LegendTitle legend = chart.getLegend();
        if (legend != null) {
            legend.setPosition(RectangleEdge.BOTTOM);
        }
        return chart;
    }
}
