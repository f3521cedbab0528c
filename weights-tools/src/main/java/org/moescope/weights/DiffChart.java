package org.moescope.weights;

import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/** PNG charts of relative change: by layer for one pair, by step for a series; one line per component. */
final class DiffChart {
    private static final int WIDTH = 960;
    private static final int HEIGHT = 540;

    static {
        System.setProperty("java.awt.headless", "true");
    }

    private DiffChart() {
    }

    static byte[] byLayer(Diff.Result r) {
        Map<Component, XYSeries> series = new EnumMap<>(Component.class);
        for (Diff.GroupChange g : r.groups()) {
            if (g.layer() >= 0) {
                series.computeIfAbsent(g.component(), c -> new XYSeries(c.label())).add(g.layer(), g.relChange());
            }
        }
        return render("relative change " + r.labelA() + " \u2192 " + r.labelB(), "layer", series);
    }

    static byte[] series(List<Diff.Result> steps) {
        Map<Component, XYSeries> series = new EnumMap<>(Component.class);
        for (int i = 0; i < steps.size(); i++) {
            for (Diff.GroupChange g : steps.get(i).components()) {
                series.computeIfAbsent(g.component(), c -> new XYSeries(c.label())).add(i + 1, g.relChange());
            }
        }
        return render("relative change between consecutive checkpoints (" + steps.getFirst().labelA() + " \u2192 "
                + steps.getLast().labelB() + ")", "step (checkpoint pair)", series);
    }

    private static byte[] render(String title, String xLabel, Map<Component, XYSeries> series) {
        XYSeriesCollection data = new XYSeriesCollection();
        boolean positive = true;
        for (XYSeries s : series.values()) {
            data.addSeries(s);
            for (int i = 0; i < s.getItemCount(); i++) {
                double y = s.getY(i).doubleValue();
                positive &= y > 0 && Double.isFinite(y);
            }
        }
        NumberAxis x = new NumberAxis(xLabel);
        x.setStandardTickUnits(NumberAxis.createIntegerTickUnits());
        // changes of different components span orders of magnitude: log scale when it can show every point
        NumberAxis linear = new NumberAxis("||B-A|| / ||A||");
        XYPlot plot = new XYPlot(data, x, positive && data.getSeriesCount() > 0 ? new LogAxis("||B-A|| / ||A||") : linear,
                new XYLineAndShapeRenderer(true, true));
        JFreeChart chart = new JFreeChart(title, JFreeChart.DEFAULT_TITLE_FONT, plot, true);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            ChartUtils.writeChartAsPNG(out, chart, WIDTH, HEIGHT);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }
}
