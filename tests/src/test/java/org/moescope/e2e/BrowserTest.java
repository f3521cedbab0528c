package org.moescope.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.moescope.pathways.DistanceKind;
import org.moescope.pathways.GroupDistances;
import org.moescope.pathways.Pathway;
import org.moescope.routing.RouteFile;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;
import static org.moescope.e2e.CliTraceGenerateTest.fixtures;
import static org.moescope.e2e.CliTraceGenerateTest.run;

/**
 * The report and the route explorer in a real browser (headless Chromium): a shortened grokking demo (8 of its
 * checkpoints, 240 training samples) through `monitor` and `explore`, then each page is opened with a small harness
 * added to a copy of it: a first script records errors (window errors, console.error), a last one drives the page as a
 * user would (sorts a table; picks a sample, a second sample, a checkpoint, a group) and writes what it saw into the
 * DOM, which --dump-dom returns. What the page shows is checked against Java's own numbers. Screenshots go to
 * tests/target/screenshots. Skipped, with a message, where no Chromium is installed (.ci/run installs it).
 */
class BrowserTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> CHECKPOINTS = List.of("step-000000", "step-000050", "step-002950", "step-003650",
            "step-004300", "step-004750", "step-005200", "step-006050");

    @TempDir
    static Path dir;
    static Chromium chromium;
    static Path report, explorer, monitorOut;

    @BeforeAll
    static void pages() throws Exception {
        chromium = Chromium.find(dir);
        Assumptions.assumeTrue(chromium != null, "skipped: no Chromium (install Debian's chromium, or set MOESCOPE_CHROMIUM)");
        Path series = fixtures().resolve("grokking");
        Path train = dir.resolve("train.jsonl"), test = dir.resolve("test.jsonl");
        try (Stream<String> lines = Files.lines(series.resolve("train.jsonl"))) {
            List<String> all = lines.toList();
            List<String> every = new ArrayList<>();
            for (int i = 0; i < all.size(); i += 7) every.add(all.get(i)); // 249 samples spread over all (a, b)
            Files.write(train, every);
        }
        try (Stream<String> lines = Files.lines(series.resolve("test.jsonl"))) {
            Files.write(test, lines.limit(300).toList());
        }
        List<String> args = new ArrayList<>(List.of("monitor", "--checkpoints"));
        CHECKPOINTS.forEach(c -> args.add(series.resolve("checkpoints").resolve(c).toString()));
        monitorOut = dir.resolve("monitor");
        args.addAll(List.of("--data", train.toString(), "--test", test.toString(), "--scores",
                series.resolve("scores.csv").toString(), "--out", monitorOut.toString(), "--report-min-points", "4"));
        var m = run(args.toArray(String[]::new));
        assertEquals(0, m.status(), m.err());
        report = monitorOut.resolve("report.html");
        var e = run("explore", "--routes", monitorOut.toString(), "--out", dir.resolve("explore").toString());
        assertEquals(0, e.status(), e.err());
        explorer = Path.of(e.out().strip().lines().reduce((a, b) -> b).orElseThrow());
    }

    /** A copy of the page with the error recorder first in head and the test script last in body. */
    private static Path harness(Path page, String testScript) throws Exception {
        String html = Files.readString(page);
        String recorder = "<script>window.__errors=[];window.addEventListener('error',function(e){__errors.push("
                + "String(e.message))});(function(){var ce=console.error;console.error=function(){__errors.push("
                + "Array.prototype.join.call(arguments,' '));ce.apply(console,arguments);};})();</script>";
        String done = "function __done(r){r.errors=window.__errors;r.resources=performance.getEntriesByType('resource')"
                + ".map(function(x){return x.name;});var p=document.createElement('pre');p.id='selftest';"
                + "p.textContent=JSON.stringify(r);document.body.appendChild(p);}";
        int head = html.indexOf("<head>") + "<head>".length();
        int end = html.lastIndexOf("</body>");
        String out = html.substring(0, head) + recorder + html.substring(head, end) + "<script>" + done
                + "try{" + testScript + "}catch(x){__done({failed:String(x&&x.stack||x)});}</script>" + html.substring(end);
        Path copy = page.resolveSibling("harness-" + page.getFileName());
        Files.writeString(copy, out);
        return copy;
    }

    private static JsonNode selftest(String dom) throws Exception {
        int at = dom.indexOf("<pre id=\"selftest\">");
        assertTrue(at >= 0, "the test script ran: " + dom.substring(0, Math.min(400, dom.length())));
        String text = dom.substring(at + "<pre id=\"selftest\">".length(), dom.indexOf("</pre>", at));
        JsonNode r = JSON.readTree(text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&"));
        assertFalse(r.has("failed"), () -> "the test script failed: " + r.get("failed"));
        assertEquals(0, r.get("errors").size(), () -> "errors in the page: " + r.get("errors"));
        assertEquals(0, r.get("resources").size(), () -> "the page loaded resources: " + r.get("resources"));
        return r;
    }

    @Test
    void theReportShowsItsAnswerAndChartsAndSortsItsTables() throws Exception {
        String script = """
                var r = {};
                r.firstHeading = document.querySelector('h2').textContent;
                r.answer = document.querySelector('h2').nextElementSibling.textContent;
                r.svgs = document.querySelectorAll('figure svg').length;
                var firstFigure = document.querySelector('figure'), firstTable = document.querySelector('table');
                r.chartsBeforeTables = !!(firstFigure.compareDocumentPosition(firstTable) & Node.DOCUMENT_POSITION_FOLLOWING);
                r.details = document.querySelectorAll('details').length;
                r.openDetails = document.querySelectorAll('details[open]').length;
                var txt = document.body.textContent, at = txt.indexOf(['moescope', 'monitor', 'monitor'].join(' '));
                r.twice = at < 0 ? '' : txt.substring(at - 40, at + 80);
                var t = document.querySelector('table.sortable'), th = t.querySelectorAll('th')[1];
                function col() { return Array.prototype.map.call(t.tBodies[0].rows, function (row) { return parseFloat(row.cells[1].textContent); }); }
                th.click(); r.asc = col(); th.click(); r.desc = col();
                r.height = document.body.scrollHeight;
                __done(r);
                """;
        JsonNode r = selftest(chromium.dumpDom(harness(report, script), null, 2000));
        assertEquals("What the numbers say", r.get("firstHeading").asText());
        assertTrue(r.get("answer").asText().startsWith("Of the routing metrics, "), r.get("answer").asText());
        assertTrue(r.get("svgs").asInt() >= 5, "headline and small charts drawn: " + r.get("svgs"));
        assertTrue(r.get("chartsBeforeTables").asBoolean());
        assertTrue(r.get("details").asInt() >= 3);
        assertEquals(0, r.get("openDetails").asInt(), "long tables start collapsed");
        assertEquals("", r.get("twice").asText(), "the command name appears once");
        List<Double> asc = new ArrayList<>(), desc = new ArrayList<>();
        r.get("asc").forEach(v -> asc.add(v.asDouble()));
        r.get("desc").forEach(v -> desc.add(v.asDouble()));
        assertTrue(asc.size() >= 2, "rows to sort: " + asc);
        for (int i = 1; i < asc.size(); i++) assertTrue(asc.get(i - 1) <= asc.get(i), "ascending: " + asc);
        assertEquals(asc.reversed(), desc, "a second click reverses");
        chromium.screenshot(report, null, Path.of("target/screenshots/report.png"), 1100, 1400);
    }

    @Test
    void theExplorerDrawsItsViewsAndASampleCanBeChosen() throws Exception {
        int a = 7, b = 12;
        String script = """
                var r = {ready: document.documentElement.getAttribute('data-ready'),
                         renderMs: +document.documentElement.getAttribute('data-render-ms')};
                function colours(id) {
                  var c = document.getElementById(id), d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data, s = {};
                  for (var i = 0; i < d.length; i += 4 * 13) s[d[i] + ',' + d[i + 1] + ',' + d[i + 2]] = 1;
                  return Object.keys(s).length;
                }
                ['load-map', 'prob-map', 'coact-map', 'train-map', 'group-map'].forEach(function (id) { r[id] = colours(id); });
                r.bars = document.querySelectorAll('#load-bars rect[data-expert]').length;
                function pick(search, list, text) {
                  var box = document.getElementById(search);
                  box.value = text; box.dispatchEvent(new Event('input'));
                  var li = document.querySelector('#' + list + ' li'); r[list + 'Label'] = li.textContent; li.click();
                }
                pick('sample-search', 'sample-list', '#A ');
                var rows = document.querySelectorAll('#token-table tr');
                r.tokenRows = rows.length; r.tokenCols = rows[0].cells.length - 1;
                r.chips = document.querySelectorAll('#token-table .chip').length;
                r.pathLast = document.getElementById('sample-path').textContent;
                r.seriesRows = document.querySelectorAll('#sample-series tr').length - 1;
                pick('other-search', 'other-list', '#B ');
                var d = document.getElementById('pair-distance');
                r.pairChar = +d.getAttribute('data-char'); r.pairExpert = +d.getAttribute('data-expert');
                var ck = document.getElementById('ckpt'); ck.value = '0'; ck.dispatchEvent(new Event('input'));
                r.ckLabel = document.getElementById('ckpt-label').textContent;
                r.pathFirst = document.getElementById('sample-path').textContent;
                var g = document.getElementById('group'); g.value = String(g.options.length - 1); g.dispatchEvent(new Event('change'));
                r.groupTitle = document.getElementById('group-title').textContent;
                var l = document.getElementById('layer'); l.value = '2'; l.dispatchEvent(new Event('change'));
                r.barsTitle = document.getElementById('bars-title').textContent;
                r.hash = location.hash;
                __done(r);
                """.replace("#A ", "#" + a + " ").replace("#B ", "#" + b + " ");
        JsonNode r = selftest(chromium.dumpDom(harness(explorer, script), null, 3000));
        assertEquals("1", r.get("ready").asText());
        for (String id : List.of("load-map", "prob-map", "coact-map", "train-map", "group-map")) {
            assertTrue(r.get(id).asInt() > 3, id + " is drawn: " + r.get(id) + " colours");
        }
        Path first = monitorOut.resolve("routes").resolve(CHECKPOINTS.getFirst() + ".safetensors");
        Path last = monitorOut.resolve("routes").resolve(CHECKPOINTS.getLast() + ".safetensors");
        try (RouteFile f0 = RouteFile.open(first); RouteFile f1 = RouteFile.open(last)) {
            int L = f1.numLayers(), E = f1.numExperts(), k = f1.topK();
            assertEquals(E, r.get("bars").asInt(), "one bar per expert");
            assertTrue(r.get("sample-listLabel").asText().startsWith("#" + a + " " + f1.sampleIds().get(a)), r.toString());
            assertEquals(L + 1, r.get("tokenRows").asInt(), "a header and one row per layer");
            assertEquals(f1.sampleLength(a), r.get("tokenCols").asInt(), "one column per token");
            assertEquals(f1.sampleLength(a) * L * k, r.get("chips").asInt(), "k experts per token and layer");
            float[] p1 = f1.routerProbsMean(), p0 = f0.routerProbsMean();
            Pathway pa = Pathway.fromRouting(p1, a * L * E, L, E, 0.7), pb = Pathway.fromRouting(p1, b * L * E, L, E, 0.7);
            assertEquals(pa.text(), r.get("pathLast").asText(), "the pathway at the last checkpoint, as Java computes it");
            assertEquals(Pathway.fromRouting(p0, a * L * E, L, E, 0.7).text(), r.get("pathFirst").asText());
            assertEquals(CHECKPOINTS.size(), r.get("seriesRows").asInt(), "one row per checkpoint");
            assertEquals(GroupDistances.distance(pa, pb, DistanceKind.CHARACTER), r.get("pairChar").asDouble(), 0.0);
            assertEquals(GroupDistances.distance(pa, pb, DistanceKind.EXPERT), r.get("pairExpert").asDouble(), 0.0);
        }
        assertTrue(r.get("ckLabel").asText().startsWith(CHECKPOINTS.getFirst()), r.get("ckLabel").asText());
        assertTrue(r.get("groupTitle").asText().startsWith("Pathways of group \""), r.get("groupTitle").asText());
        assertEquals("Tokens per expert at layer 2", r.get("barsTitle").asText());
        assertTrue(r.get("hash").asText().contains("s=" + a) && r.get("hash").asText().contains("b=" + b), r.get("hash").asText());
        assertTrue(r.get("renderMs").asDouble() < 5000, "first render in " + r.get("renderMs") + " ms");
        chromium.screenshot(explorer, null, Path.of("target/screenshots/explorer.png"), 1240, 1000);
        chromium.screenshot(explorer, "#c=5&l=1&g=0&s=" + a + "&b=" + b + "&v=sample",
                Path.of("target/screenshots/explorer-sample.png"), 1240, 1000);
    }
}
