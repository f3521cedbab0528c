package org.moescope.explore;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.moescope.errors.BadInputException;
import org.moescope.pathways.DistanceKind;
import org.moescope.pathways.GroupDistances;
import org.moescope.pathways.Pathway;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class ExplorerBuilderTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    private static ExplorerBuilder.Options options(long budget, ExplorerBuilder.TokenText tokens) {
        return new ExplorerBuilder.Options(0.7, budget, tokens, tokens == null ? null : "test vocabulary", 2);
    }

    private static ExplorerBuilder.Content build(RouteSeries series, long budget, ExplorerBuilder.TokenText tokens) {
        return ExplorerBuilder.build(series, options(budget, tokens), line -> { });
    }

    @Test
    void aSeriesIsOrderedByStepAndAMonitorDirectoryIsFoundThroughItsRoutes() throws Exception {
        SyntheticRoutes r = new SyntheticRoutes(1, 6, 4, 2, 4, 2);
        Path routes = Files.createDirectories(dir.resolve("monitor/routes"));
        r.write(routes.resolve("a.safetensors"), "late", 200, 0);
        r.rerouted(2).write(routes.resolve("b.safetensors"), "first", 0, 0);
        r.rerouted(3).write(routes.resolve("c.safetensors"), null, 100, 0);
        Files.writeString(routes.resolve(".d.safetensors.partial"), "an interrupted trace: never read");
        RouteSeries s = RouteSeries.resolve(List.of(dir.resolve("monitor")));
        assertEquals(List.of("first", "c", "late"), s.entries().stream().map(RouteSeries.Entry::name).toList());
        assertEquals(List.of(0L, 100L, 200L), s.entries().stream().map(RouteSeries.Entry::step).toList());
        assertEquals(6, s.samples());
        // a single file given directly is a one-checkpoint series
        assertEquals(1, RouteSeries.resolve(List.of(routes.resolve("a.safetensors"))).checkpoints());
    }

    @Test
    void aggregatesEqualABruteForceCount() throws Exception {
        SyntheticRoutes r0 = new SyntheticRoutes(5, 23, 9, 3, 6, 2);
        SyntheticRoutes r1 = r0.rerouted(9);
        r0.write(dir.resolve("s0.safetensors"), "s0", 0, 0.5f);
        r1.write(dir.resolve("s1.safetensors"), "s1", 10, -0.5f);
        RouteSeries series = RouteSeries.resolve(List.of(dir));
        ExplorerBuilder.Content content = build(series, 1 << 20, null);
        JsonNode d = JSON.readTree(content.dataJson());
        int L = 3, E = 6, C = 2;
        double[] load = f64(d.at("/stats/load").asText());
        float[] prob = f32(d.at("/stats/prob").asText());
        float[] co = f32(d.at("/stats/coact").asText());
        assertEquals(2, d.at("/stats/coact_checkpoints").size(), "both checkpoints fit the co-activation cap");
        SyntheticRoutes[] rs = {r0, r1};
        for (int c = 0; c < C; c++) {
            SyntheticRoutes r = rs[c];
            long[] cnt = new long[L * E];
            long[] pair = new long[L * E * E];
            double[] pm = new double[L * E];
            for (int s = 0; s < r.n; s++) {
                int len = r.ids[s].length;
                for (int t = 0; t < len; t++) {
                    for (int l = 0; l < L; l++) {
                        for (int a = 0; a < 2; a++) {
                            int ea = r.topk[s][(t * L + l) * 2 + a];
                            cnt[l * E + ea]++;
                            for (int b = 0; b < 2; b++) pair[(l * E + ea) * E + r.topk[s][(t * L + l) * 2 + b]]++;
                        }
                    }
                }
                for (int j = 0; j < L * E; j++) pm[j] += r.probs[s][j] * len;
            }
            for (int j = 0; j < L * E; j++) {
                assertEquals(cnt[j], load[c * L * E + j], 0.0, "load c=" + c + " j=" + j);
                assertEquals(pm[j] / r.tokens(), prob[c * L * E + j], 1e-6, "prob c=" + c + " j=" + j);
            }
            for (int j = 0; j < L * E * E; j++) {
                assertEquals((float) ((double) pair[j] / r.tokens()), co[c * L * E * E + j], 1e-7, "coact c=" + c + " j=" + j);
            }
        }
        // Groups: all, the two domains, and memorisation groups (losses fall by 1 between the checkpoints).
        List<String> names = new ArrayList<>();
        d.get("groups").forEach(g -> names.add(g.get("name").asText()));
        assertEquals("all", names.get(0));
        assertTrue(names.contains("alpha") && names.contains("beta"), names.toString());
        assertTrue(d.get("memorisation").asText().startsWith("memorisation groups as in monitor"), d.get("memorisation").asText());
        float[] gp = f32(d.get("group_path").asText());
        for (int c = 0; c < C; c++) {
            List<Pathway> ps = new ArrayList<>();
            double[] incl = new double[L * E];
            for (int s = 0; s < rs[c].n; s++) {
                Pathway p = Pathway.fromRouting(rs[c].probs[s], 0, L, E, 0.7);
                ps.add(p);
                for (int l = 0; l < L; l++) for (int e : p.layer(l)) incl[l * E + e] += 1.0 / rs[c].n;
            }
            for (int j = 0; j < L * E; j++) assertEquals(incl[j], gp[c * L * E + j], 1e-6, "group all, c=" + c);
            assertEquals(GroupDistances.within(ps, DistanceKind.CHARACTER, GroupDistances.Options.defaults()).mean(),
                    d.at("/groups/0/distance/" + c).asDouble(), 1e-9);
        }
        assertEquals(23, content.summary().detailSamples(), "everything fits 1 MiB");
    }

    @Test
    void detailRecordsDecodeToTheRoutes() throws Exception {
        SyntheticRoutes r0 = new SyntheticRoutes(3, 17, 12, 2, 5, 3);
        SyntheticRoutes r1 = r0.rerouted(4);
        r0.write(dir.resolve("0.safetensors"), "a", 1, 0);
        r1.write(dir.resolve("1.safetensors"), "b", 2, 0);
        ExplorerBuilder.Content content = build(RouteSeries.resolve(List.of(dir)), 1 << 20, id -> "<t" + id + ">");
        JsonNode d = JSON.readTree(content.dataJson());
        String blob = Base64.getEncoder().encodeToString(content.details());
        JsonNode start = d.at("/detail/start");
        assertEquals(18, start.size());
        for (int m = 0; m < 17; m++) {
            int s = d.at("/detail/index/" + m).asInt();
            // the page decodes exactly this slice of the base64 text
            byte[] rec = Base64.getDecoder().decode(blob.substring(start.get(m).asInt(), start.get(m + 1).asInt()));
            ByteBuffer b = ByteBuffer.wrap(rec).order(ByteOrder.LITTLE_ENDIAN);
            assertEquals(s, b.getInt());
            int n = b.getInt();
            assertEquals(r0.ids[s].length, n);
            for (int t = 0; t < n; t++) assertEquals(r0.ids[s][t], b.getInt());
            for (SyntheticRoutes r : new SyntheticRoutes[] {r0, r1}) {
                assertEquals(r.loss[s], b.getFloat(), 0f);
                for (int i = 0; i < n * 2 * 3; i++) assertEquals(r.topk[s][i], b.get() & 0xff);
                for (int i = 0; i < n * 2 * 3; i++) assertEquals(Math.round(r.weights[s][i] * 255), b.get() & 0xff);
                Pathway p = Pathway.fromRouting(r.probs[s], 0, 2, 5, 0.7);
                for (int l = 0; l < 2; l++) {
                    int kept = (b.get() & 0xff) + 1;
                    int[] ids = new int[kept];
                    for (int q = 0; q < kept; q++) ids[q] = b.get() & 0xff;
                    assertArrayEquals(p.layer(l), ids, "pathway of sample " + s + " layer " + l);
                }
            }
            while (b.hasRemaining()) assertEquals(0, b.get(), "padding");
            assertEquals(0, rec.length % 3, "records start on a base64 quantum");
            assertEquals(r0.sampleIds.get(s), d.at("/detail/id/" + m).isNull() ? null : d.at("/detail/id/" + m).asText());
        }
        assertEquals("<t" + r0.ids[0][0] + ">", d.at("/vocab/" + r0.ids[0][0]).asText());
    }

    @Test
    void aSmallBudgetKeepsEvenlySpacedSamples() throws Exception {
        long[] size = new long[100];
        java.util.Arrays.fill(size, 30);
        assertEquals(100, ExplorerBuilder.choose(size, 3000).length);
        int[] half = ExplorerBuilder.choose(size, 1500);
        assertEquals(50, half.length);
        for (int i = 1; i < half.length; i++) assertEquals(2, half[i] - half[i - 1], "every other sample");
        int[] few = ExplorerBuilder.choose(size, 301);
        assertEquals(10, few.length);
        assertTrue(few[few.length - 1] >= 90, "spread to the end of the file");
        size[42] = 5;
        assertArrayEquals(new int[] {42}, ExplorerBuilder.choose(size, 10), "nothing fits: the shortest record alone");

        SyntheticRoutes r = new SyntheticRoutes(8, 200, 20, 2, 8, 2);
        r.write(dir.resolve("big.safetensors"), null, -1, 0);
        ExplorerBuilder.Content c = build(RouteSeries.resolve(List.of(dir.resolve("big.safetensors"))), 4096, null);
        assertTrue(c.details().length <= 4096, "within budget: " + c.details().length);
        assertTrue(c.summary().detailSamples() > 10 && c.summary().detailSamples() < 200, c.summary().toString());
        JsonNode d = JSON.readTree(c.dataJson());
        assertTrue(d.get("vocab").isNull(), "no tokenizer: no vocabulary");
        assertEquals(1, d.at("/stats/coact_checkpoints").size());
        assertTrue(d.get("memorisation").asText().contains("need a series"), d.get("memorisation").asText());
    }

    @Test
    void coactivationOfManyCheckpointsIsThinnedEvenly() {
        assertArrayEquals(new int[] {0, 1, 2}, ExplorerBuilder.coactivationCheckpoints(3, 1000));
        long each = ExplorerBuilder.COACTIVATION_BYTES / 3;
        assertArrayEquals(new int[] {0, 5, 10}, ExplorerBuilder.coactivationCheckpoints(11, each));
        assertArrayEquals(new int[] {10}, ExplorerBuilder.coactivationCheckpoints(11, ExplorerBuilder.COACTIVATION_BYTES * 2));
    }

    @Test
    void badInputNamesTheFile() throws Exception {
        SyntheticRoutes a = new SyntheticRoutes(1, 5, 4, 2, 4, 2);
        SyntheticRoutes b = new SyntheticRoutes(2, 6, 4, 2, 4, 2);
        Path fa = a.write(dir.resolve("a.safetensors"), null, -1, 0);
        Path fb = b.write(dir.resolve("b.safetensors"), null, -1, 0);
        String m = assertThrows(BadInputException.class, () -> RouteSeries.resolve(List.of(fa, fb))).getMessage();
        assertTrue(m.startsWith(fb + ": has 6 samples") && m.endsWith("must trace the same samples"), m);
        m = assertThrows(BadInputException.class, () -> RouteSeries.resolve(List.of(dir.resolve("nope")))).getMessage();
        assertEquals("--routes " + dir.resolve("nope") + ": no such file or directory", m);
        Path empty = Files.createDirectory(dir.resolve("empty"));
        m = assertThrows(BadInputException.class, () -> RouteSeries.resolve(List.of(empty))).getMessage();
        assertTrue(m.contains("no .safetensors route files"), m);
        // same lengths, other token ids: not the same samples
        SyntheticRoutes c = a.rerouted(3);
        for (int[] ids : c.ids) ids[0]++;
        Path sub = Files.createDirectory(dir.resolve("series"));
        a.write(sub.resolve("0.safetensors"), null, 0, 0);
        c.write(sub.resolve("1.safetensors"), null, 1, 0);
        m = assertThrows(BadInputException.class, () -> build(RouteSeries.resolve(List.of(sub)), 1000, null)).getMessage();
        assertTrue(m.startsWith(sub.resolve("1.safetensors") + ": its input ids differ"), m);
        // an expert id outside [0, E)
        SyntheticRoutes bad = new SyntheticRoutes(4, 3, 3, 2, 4, 2);
        bad.topk[1][0] = 9;
        Path fbad = bad.write(dir.resolve("bad.safetensors"), null, -1, 0);
        m = assertThrows(BadInputException.class, () -> build(RouteSeries.resolve(List.of(fbad)), 1000, null)).getMessage();
        assertEquals(fbad + ": topk_ids of sample 1 holds expert id 9, outside [0, 4)", m);
    }

    @Test
    void thePageIsOneSelfContainedFileWhoseDataSurvivesHostileTokenText() throws Exception {
        SyntheticRoutes r = new SyntheticRoutes(6, 4, 5, 2, 4, 2);
        r.write(dir.resolve("r.safetensors"), null, -1, 0);
        ExplorerBuilder.Content c = build(RouteSeries.resolve(List.of(dir.resolve("r.safetensors"))), 1 << 20,
                id -> "</script><img src=x onerror=alert(1)>" + id);
        Path page = dir.resolve("out/explorer.html");
        ExplorerPage.write(page, c, "a <title> & more");
        String html = Files.readString(page);
        assertFalse(html.contains("</script><img"), "token text cannot close the data element");
        assertTrue(html.contains("<title>a &lt;title&gt; &amp; more</title>"));
        int at = html.indexOf("id=\"moe-data\">") + "id=\"moe-data\">".length();
        String data = html.substring(at, html.indexOf("</script>", at));
        assertEquals(JSON.readTree(c.dataJson()), JSON.readTree(data), "the embedded JSON means the same");
        at = html.indexOf("id=\"moe-details\">") + "id=\"moe-details\">".length();
        assertEquals(Base64.getEncoder().encodeToString(c.details()), html.substring(at, html.indexOf("</script>", at)));
        // Nothing is loaded from elsewhere: no src/href attribute, no fetch; the SVG namespace is a name, not a request.
        assertFalse(html.matches("(?s).*(src|href)=\"(https?:)?//.*"), "no external resource");
        assertFalse(html.contains("fetch(") || html.contains("XMLHttpRequest") || html.contains("import("));
        assertEquals(List.of("http://www.w3.org/2000/svg"), httpStrings(html));
    }

    private static List<String> httpStrings(String html) {
        List<String> out = new ArrayList<>();
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("https?://[^'\"\\s)]*").matcher(html);
        while (m.find()) if (!out.contains(m.group())) out.add(m.group());
        return out;
    }

    static float[] f32(String b64) {
        ByteBuffer b = ByteBuffer.wrap(Base64.getDecoder().decode(b64)).order(ByteOrder.LITTLE_ENDIAN);
        float[] v = new float[b.remaining() / 4];
        b.asFloatBuffer().get(v);
        return v;
    }

    static double[] f64(String b64) {
        ByteBuffer b = ByteBuffer.wrap(Base64.getDecoder().decode(b64)).order(ByteOrder.LITTLE_ENDIAN);
        double[] v = new double[b.remaining() / 8];
        b.asDoubleBuffer().get(v);
        return v;
    }
}
