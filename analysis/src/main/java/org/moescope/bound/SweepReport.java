package org.moescope.bound;

import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.CombinedDomainXYPlot;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;
import org.jfree.svg.SVGGraphics2D;
import org.moescope.errors.BadInputException;
import org.moescope.output.AtomicFiles;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Rectangle;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.function.ToDoubleFunction;

/** Writes a sweep's CSV tables and its chart (PNG and SVG), each file atomically. */
public final class SweepReport {
    public static final String RUNS_CSV = "bound-sweep.csv";
    public static final String CORRELATIONS_CSV = "bound-correlations.csv";
    public static final String CHART_PNG = "bound-sweep.png";
    public static final String CHART_SVG = "bound-sweep.svg";

    private static final int WIDTH = 900;
    private static final int HEIGHT = 900;
    // Colour-blind-safe (Okabe–Ito), one per temperature; repeats past eight.
    private static final Color[] PALETTE = {
            new Color(0x0072B2), new Color(0xD55E00), new Color(0x009E73), new Color(0xCC79A7),
            new Color(0xE69F00), new Color(0x56B4E9), new Color(0xF0E442), new Color(0x000000)};

    private SweepReport() {
    }

    /** Writes the four files into dir (created if needed) and returns their paths. */
    public static List<Path> write(BoundSweep.Result result, Path dir) {
        Path runs = dir.resolve(RUNS_CSV);
        Path correlations = dir.resolve(CORRELATIONS_CSV);
        Path png = dir.resolve(CHART_PNG);
        Path svg = dir.resolve(CHART_SVG);
        AtomicFiles.writeString(runs, runsCsv(result));
        AtomicFiles.writeString(correlations, correlationsCsv(result));
        JFreeChart chart = chart(result);
        byte[] pngBytes = png(chart);
        AtomicFiles.write(png, ch -> {
            java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(pngBytes);
            while (b.hasRemaining()) {
                ch.write(b);
            }
        });
        AtomicFiles.writeString(svg, svg(chart));
        return List.of(runs, correlations, png, svg);
    }

    public static String runsCsv(BoundSweep.Result result) {
        StringBuilder sb = new StringBuilder("router_seed,temperature,lambda,trace_h_over_n,d_eff,bias_term,variance_term,"
                + "noise_term,rhs,in_sample_risk,expected_in_sample_risk,population_risk,holds_in_sample,holds_population,"
                + "min_c1,mean_edit_distance,mean_path_length,distinct_paths\n");
        for (BoundSweep.Run r : result.runs()) {
            BoundResult b = r.bound();
            sb.append(r.routerSeed()).append(',').append(num(r.temperature())).append(',').append(num(b.lambda()))
                    .append(',').append(num(b.traceOverN())).append(',').append(num(b.dEff()))
                    .append(',').append(num(b.biasTerm())).append(',').append(num(b.varianceTerm()))
                    .append(',').append(num(b.noiseTerm())).append(',').append(num(b.rhs()))
                    .append(',').append(num(b.inSampleRisk())).append(',').append(num(b.expectedInSampleRisk()))
                    .append(',').append(num(b.populationRisk())).append(',').append(b.holdsInSample())
                    .append(',').append(b.holdsPopulation()).append(',').append(num(b.minC1()))
                    .append(',').append(num(r.meanEditDistance())).append(',').append(num(r.meanPathLength()))
                    .append(',').append(r.distinctPaths()).append('\n');
        }
        return sb.toString();
    }

    public static String correlationsCsv(BoundSweep.Result result) {
        StringBuilder sb = new StringBuilder("subset,x,y,count,pearson,spearman\n");
        for (BoundSweep.CorrelationRow c : result.correlations()) {
            sb.append(c.subset()).append(',').append(c.x()).append(',').append(c.y()).append(',').append(c.count())
                    .append(',').append(num(c.pearson())).append(',').append(num(c.spearman())).append('\n');
        }
        return sb.toString();
    }

    /** d_eff, population risk and in-sample risk against the mean pathway edit distance, one colour per temperature. */
    public static JFreeChart chart(BoundSweep.Result result) {
        NumberAxis editAxis = new NumberAxis("mean normalised edit distance of one-layer pathways");
        editAxis.setAutoRangeIncludesZero(false);
        CombinedDomainXYPlot plot = new CombinedDomainXYPlot(editAxis);
        plot.setGap(12);
        XYPlot first = subplot(result, "d_eff", r -> r.bound().dEff());
        plot.add(first, 1);
        plot.add(subplot(result, "population risk", r -> r.bound().populationRisk()), 1);
        plot.add(subplot(result, "in-sample risk", r -> r.bound().inSampleRisk()), 1);
        // every subplot has the same series; one legend entry per temperature is enough
        plot.setFixedLegendItems(first.getLegendItems());
        BoundSettings s = result.settings();
        SyntheticConfig c = result.config();
        String lambda = s.lambdaRelative() ? "λ = " + num(s.lambda()) + "·Tr(H)/n" : "λ = " + num(s.lambda());
        String title = String.format(Locale.ROOT, "One-layer MoE bound sweep: n=%d, D=%d, K=%d, %d clusters, %s, σ=%s, %s kernel%s",
                c.n(), c.dim(), c.experts(), c.clusters(), lambda, num(s.sigma()), s.kernel().cliName(),
                c.topK() > 0 ? ", top-" + c.topK() : "");
        JFreeChart chart = new JFreeChart(title, JFreeChart.DEFAULT_TITLE_FONT.deriveFont(13f), plot, true);
        chart.setBackgroundPaint(Color.WHITE);
        return chart;
    }

    private static XYPlot subplot(BoundSweep.Result result, String label, ToDoubleFunction<BoundSweep.Run> y) {
        XYSeriesCollection data = new XYSeriesCollection();
        for (double t : result.config().temperatures()) {
            XYSeries series = new XYSeries("T = " + num(t), false, true);
            for (BoundSweep.Run r : result.runs()) {
                if (r.temperature() == t) {
                    series.add(r.meanEditDistance(), y.applyAsDouble(r));
                }
            }
            data.addSeries(series);
        }
        XYLineAndShapeRenderer renderer = new XYLineAndShapeRenderer(false, true);
        for (int i = 0; i < data.getSeriesCount(); i++) {
            renderer.setSeriesPaint(i, PALETTE[i % PALETTE.length]);
            renderer.setSeriesShape(i, new java.awt.geom.Ellipse2D.Double(-3, -3, 6, 6));
        }
        NumberAxis axis = new NumberAxis(label);
        axis.setAutoRangeIncludesZero(false);
        XYPlot plot = new XYPlot(data, null, axis, renderer);
        plot.setBackgroundPaint(Color.WHITE);
        plot.setDomainGridlinePaint(Color.LIGHT_GRAY);
        plot.setRangeGridlinePaint(Color.LIGHT_GRAY);
        plot.setDomainGridlineStroke(new BasicStroke(0.5f));
        plot.setRangeGridlineStroke(new BasicStroke(0.5f));
        return plot;
    }

    private static byte[] png(JFreeChart chart) {
        ensureHeadless();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            ChartUtils.writeChartAsPNG(out, chart, WIDTH, HEIGHT);
        } catch (IOException e) {
            throw new BadInputException("cannot render the sweep chart: " + e.getMessage());
        }
        return out.toByteArray();
    }

    private static String svg(JFreeChart chart) {
        ensureHeadless();
        SVGGraphics2D g2 = new SVGGraphics2D(WIDTH, HEIGHT);
        chart.draw(g2, new Rectangle(0, 0, WIDTH, HEIGHT));
        return g2.getSVGDocument();
    }

    /** Rendering needs no display; without this a machine with a broken DISPLAY fails inside AWT. */
    private static void ensureHeadless() {
        if (System.getProperty("java.awt.headless") == null) {
            System.setProperty("java.awt.headless", "true");
        }
    }

    static String num(double v) {
        if (Double.isNaN(v)) {
            return "";
        }
        if (Double.isInfinite(v)) {
            return v > 0 ? "inf" : "-inf";
        }
        return Double.toString(v);
    }
}
