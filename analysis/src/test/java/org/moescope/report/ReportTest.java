package org.moescope.report;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class ReportTest {
    @TempDir
    Path dir;

    @Test
    void chartRendersToPngAndSvgWithBothAxes() throws Exception {
        TrajectoryChart c = new TrajectoryChart("distance", "step", "mean distance");
        for (int s = 0; s < 5; s++) {
            c.point("memorised@100", s * 100, 10 - s).point("all", s * 100, 12 - s).score("test_accuracy", s * 100, s / 4.0);
        }
        c.point("all", 500, Double.NaN);
        ChartFiles.write(c.build(), dir, "d", 600, 400);
        byte[] png = Files.readAllBytes(dir.resolve("d.png"));
        assertEquals((byte) 0x89, png[0]);
        assertEquals('P', png[1]);
        String svg = Files.readString(dir.resolve("d.svg"));
        assertTrue(svg.startsWith("<svg"), svg.substring(0, 20));
        assertTrue(svg.contains("test_accuracy") && svg.contains("memorised@100"));
    }

    @Test
    void htmlEscapesTextAndEmbedsFigures() {
        String html = new HtmlReport("a <b> & c").paragraph("x < y").table(List.of("k", "v"), List.of(List.of("n", "1")))
                .figure("<svg></svg>", "cap").render();
        assertTrue(html.contains("<h1>a &lt;b&gt; &amp; c</h1>"));
        assertTrue(html.contains("<p>x &lt; y</p>"));
        assertTrue(html.contains("<figure><svg></svg><figcaption>cap</figcaption></figure>"));
        assertFalse(html.contains("http"), "self-contained: no external resources");
        assertEquals("n/a", HtmlReport.num(Double.NaN));
        assertEquals("0.1235", HtmlReport.num(0.123456));
    }
}
