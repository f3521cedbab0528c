package org.moescope.report;

import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.svg.SVGGraphics2D;
import org.moescope.output.AtomicFiles;

import java.awt.Rectangle;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;

/** Renders JFreeChart charts to PNG bytes and SVG text, and writes them atomically. */
public final class ChartFiles {
    private ChartFiles() {
    }

    public static byte[] png(JFreeChart chart, int width, int height) {
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            ChartUtils.writeChartAsPNG(out, chart, width, height);
            return out.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static String svg(JFreeChart chart, int width, int height) {
        SVGGraphics2D g = new SVGGraphics2D(width, height);
        chart.draw(g, new Rectangle(0, 0, width, height));
        return g.getSVGElement();
    }

    /** Writes {@code base}.png and {@code base}.svg. */
    public static void write(JFreeChart chart, Path dir, String base, int width, int height) {
        AtomicFiles.writeBytes(dir.resolve(base + ".png"), png(chart, width, height));
        AtomicFiles.writeString(dir.resolve(base + ".svg"), svg(chart, width, height));
    }
}
