package org.moescope.explore;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.moescope.errors.BadInputException;
import org.moescope.pathways.DistanceKind;
import org.moescope.pathways.GroupDistances;
import org.moescope.pathways.Pathway;
import org.moescope.routing.RouteFile;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Base64;
import java.util.BitSet;
import java.util.List;
import java.util.function.Consumer;

/**
 * Builds the explorer's content from a {@link RouteSeries}: everything over all samples is aggregated here (expert
 * load, mean router probabilities, co-activation, group pathway heatmaps and distances), and per-token detail is
 * kept for as many samples as the byte budget allows, spread evenly over the file. The page then only draws.
 *
 * <p>Three passes over the files, one checkpoint open at a time: losses (for the memorisation groups), aggregates and
 * pathway sizes, then the chosen samples' records.
 */
public final class ExplorerBuilder {
    /** Co-activation is L·E² floats per checkpoint; beyond this many bytes only evenly spaced checkpoints keep it. */
    static final long COACTIVATION_BYTES = 16L << 20;
    /** Group heatmaps are L·E floats per group and checkpoint; beyond this many bytes fewer groups are shown. */
    static final long GROUP_BYTES = 16L << 20;
    /** Pairs per group and checkpoint for the within-group pathway distance: exact below, a seeded sample above. */
    static final long GROUP_PAIRS = 2_000;

    /** Text of one token id for the page, or null to show the id; a tokenizer's decode, when one is known. */
    @FunctionalInterface
    public interface TokenText {
        String text(int id);
    }

    /**
     * @param tau         pathway threshold
     * @param detailBytes budget of the per-sample records (before base64, which adds a third)
     * @param tokens      token texts, or null for ids only
     * @param tokenizer   where the token texts come from (shown on the page), or null
     * @param threads     threads for the aggregates
     */
    public record Options(double tau, long detailBytes, TokenText tokens, String tokenizer, int threads) {
        public Options {
            if (!(tau > 0 && tau <= 1)) throw new BadInputException("--tau must be in (0, 1], got " + tau);
            if (detailBytes < 0) throw new BadInputException("the detail budget must be >= 0");
            threads = Math.max(1, threads);
        }
    }

    /** What was built, for the command to report. */
    public record Summary(int checkpoints, int samples, long tokens, int detailSamples, long detailBytes, int groups) {
    }

    /** The page's content: its JSON data, the detail records (base64-encoded by the page writer), and a summary. */
    public record Content(String dataJson, byte[] details, Summary summary) {
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    private ExplorerBuilder() {
    }

    public static Content build(RouteSeries series, Options opt, Consumer<String> log) {
        int C = series.checkpoints(), N = series.samples(), L = series.layers(), E = series.experts(), k = series.topK();
        List<RouteSeries.Entry> entries = series.entries();

        // Pass 1: losses and sample labels, for the groups.
        float[][] losses = new float[C][];
        List<String> domains, sampleIds;
        int[] lengths = new int[N];
        try (RouteFile f = RouteFile.open(entries.get(0).file())) {
            domains = f.sampleGroups();
            sampleIds = f.sampleIds();
            for (int i = 0; i < N; i++) lengths[i] = f.sampleLength(i);
        }
        for (int c = 0; c < C; c++) {
            try (RouteFile f = RouteFile.open(entries.get(c).file())) {
                losses[c] = f.loss();
            }
        }
        long[] steps = new long[C];
        for (int c = 0; c < C; c++) steps[c] = entries.get(c).step() >= 0 ? entries.get(c).step() : c;
        SampleGroups groups = SampleGroups.of(domains, losses, steps);
        int G = (int) Math.max(1, Math.min(groups.groups().size(), GROUP_BYTES / (4L * C * L * E)));
        List<SampleGroups.Group> shown = groups.groups().subList(0, G);
        int groupsOmitted = groups.omitted() + groups.groups().size() - G;

        // Pass 2: aggregates over every token, pathways of every sample.
        List<ExpertStats> stats = new ArrayList<>();
        float[] groupPath = new float[G * C * L * E];
        double[][] groupDistance = new double[G][C];
        long[][] kept = new long[N][C];
        GroupDistances.Options pairs = GroupDistances.Options.defaults().withMaxPairs(GROUP_PAIRS).withSeed(0)
                .withThreads(opt.threads());
        for (int c = 0; c < C; c++) {
            RouteSeries.Entry e = entries.get(c);
            log.accept("explore: aggregating " + e.name() + " (" + (c + 1) + "/" + C + ")");
            try (RouteFile f = RouteFile.open(e.file())) {
                ExpertStats s = ExpertStats.of(f, opt.threads());
                if (c > 0 && s.inputHash() != stats.get(0).inputHash()) {
                    throw new BadInputException(e.file() + ": its input ids differ from " + entries.get(0).file()
                            + "'s: the files of a series must trace the same samples");
                }
                stats.add(s);
                float[] probs = f.routerProbsMean();
                Pathway[] paths = new Pathway[N];
                for (int i = 0; i < N; i++) {
                    paths[i] = Pathway.fromRouting(probs, i * L * E, L, E, opt.tau());
                    long total = 0;
                    for (int l = 0; l < L; l++) total += paths[i].layer(l).length;
                    kept[i][c] = total;
                }
                for (int g = 0; g < G; g++) {
                    int[] members = shown.get(g).members();
                    int base = (g * C + c) * L * E;
                    for (int i : members) {
                        for (int l = 0; l < L; l++) for (int id : paths[i].layer(l)) groupPath[base + l * E + id] += 1;
                    }
                    for (int j = 0; j < L * E; j++) groupPath[base + j] /= members.length;
                    List<Pathway> ps = new ArrayList<>(members.length);
                    for (int i : members) ps.add(paths[i]);
                    groupDistance[g][c] = GroupDistances.within(ps, DistanceKind.CHARACTER, pairs).mean();
                }
            }
        }

        // Which samples get per-token detail.
        long[] size = new long[N];
        for (int i = 0; i < N; i++) {
            size[i] = DetailRecords.padded(DetailRecords.unpadded(lengths[i], L, k, E, kept[i]));
        }
        int[] chosen = choose(size, opt.detailBytes());
        long[] start = new long[chosen.length + 1];
        for (int m = 0; m < chosen.length; m++) start[m + 1] = start[m] + size[chosen[m]];
        if (start[chosen.length] > Integer.MAX_VALUE - 16) {
            throw new BadInputException("the per-sample detail would take " + start[chosen.length]
                    + " bytes; lower --detail-mb");
        }
        byte[] details = new byte[(int) start[chosen.length]];
        ByteBuffer buf = ByteBuffer.wrap(details).order(ByteOrder.LITTLE_ENDIAN);
        BitSet usedIds = new BitSet();

        // Pass 3: the chosen samples' records; each checkpoint's part goes to its place in the record.
        long[] cursor = new long[chosen.length];
        try (RouteFile f = RouteFile.open(entries.get(0).file())) {
            for (int m = 0; m < chosen.length; m++) {
                int[] ids = f.inputIds(chosen[m]);
                for (int id : ids) if (id >= 0) usedIds.set(id);
                buf.position((int) start[m]);
                DetailRecords.header(buf, chosen[m], ids);
                cursor[m] = buf.position();
            }
        }
        if (chosen.length > 0) {
            for (int c = 0; c < C; c++) {
                log.accept("explore: sample detail of " + entries.get(c).name() + " (" + (c + 1) + "/" + C + ")");
                try (RouteFile f = RouteFile.open(entries.get(c).file())) {
                    float[] probs = f.routerProbsMean();
                    for (int m = 0; m < chosen.length; m++) {
                        int i = chosen[m];
                        int[] top = f.topkIds(i);
                        for (int id : top) if (id < 0 || id >= E) throw ExpertStats.badId(f, i, id, E);
                        buf.position((int) cursor[m]);
                        DetailRecords.checkpoint(buf, E, losses[c][i], top, f.topkWeights(i),
                                Pathway.fromRouting(probs, i * L * E, L, E, opt.tau()));
                        cursor[m] = buf.position();
                    }
                }
            }
        }

        ObjectNode root = JSON.createObjectNode();
        java.util.Map<String, String> meta = series.metadata();
        root.put("samples", N);
        root.put("tokens", series.tokens());
        ObjectNode model = root.putObject("model");
        model.put("model_type", meta.getOrDefault("model_type", ""));
        model.put("model_path", meta.getOrDefault("model_path", ""));
        model.put("router_kind", meta.getOrDefault("router_kind", "softmax_topk"));
        model.put("layers", L);
        model.put("experts", E);
        model.put("top_k", k);
        model.put("tau", opt.tau());
        model.put("tokenizer", opt.tokenizer());
        ArrayNode moeLayers = model.putArray("moe_layers");
        moeLayers.addAll(moeLayers(meta.get("moe_layers"), L));
        ArrayNode cks = root.putArray("checkpoints");
        for (int c = 0; c < C; c++) {
            ObjectNode o = cks.addObject();
            o.put("name", entries.get(c).name());
            o.put("step", entries.get(c).step());
            o.put("file", entries.get(c).file().getFileName().toString());
            double ml = meanFinite(losses[c]);
            if (Double.isNaN(ml)) o.putNull("mean_loss");
            else o.put("mean_loss", ml);
        }
        double[] load = new double[C * L * E];
        float[] prob = new float[C * L * E];
        for (int c = 0; c < C; c++) {
            ExpertStats s = stats.get(c);
            for (int l = 0; l < L; l++) {
                for (int x = 0; x < E; x++) {
                    load[(c * L + l) * E + x] = s.load(l, x);
                    prob[(c * L + l) * E + x] = (float) s.probMean()[l * E + x];
                }
            }
        }
        ObjectNode st = root.putObject("stats");
        st.put("load", f64(load));
        st.put("prob", f32(prob));
        int[] coCks = coactivationCheckpoints(C, (long) L * E * E * 4);
        float[] co = new float[coCks.length * L * E * E];
        for (int j = 0; j < coCks.length; j++) {
            ExpertStats s = stats.get(coCks[j]);
            for (int x = 0; x < L * E * E; x++) co[j * L * E * E + x] = (float) ((double) s.coactivation()[x] / s.tokens());
        }
        st.put("coact", f32(co));
        ArrayNode coIdx = st.putArray("coact_checkpoints");
        for (int c : coCks) coIdx.add(c);

        ArrayNode gs = root.putArray("groups");
        for (int g = 0; g < G; g++) {
            ObjectNode o = gs.addObject();
            o.put("name", shown.get(g).name());
            o.put("kind", shown.get(g).kind());
            o.put("size", shown.get(g).members().length);
            ArrayNode d = o.putArray("distance");
            for (double v : groupDistance[g]) {
                if (Double.isNaN(v)) d.addNull();
                else d.add(v);
            }
        }
        root.put("groups_omitted", groupsOmitted);
        root.put("memorisation", groups.memorisation());
        root.put("group_path", f32(groupPath));

        ObjectNode det = root.putObject("detail");
        det.put("id_bytes", DetailRecords.idBytes(E));
        ArrayNode dIndex = det.putArray("index"), dId = det.putArray("id"), dDomain = det.putArray("domain"),
                dGroups = det.putArray("groups"), dLength = det.putArray("length"), dStart = det.putArray("start");
        // Each sample's groups (indices into "groups"), for the sample view: at most one domain, one memorisation group.
        List<List<Integer>> sampleGroups = new ArrayList<>();
        for (int m = 0; m < chosen.length; m++) sampleGroups.add(new ArrayList<>(List.of(0)));
        int[] position = new int[N];
        java.util.Arrays.fill(position, -1);
        for (int m = 0; m < chosen.length; m++) position[chosen[m]] = m;
        for (int g = 1; g < G; g++) for (int i : shown.get(g).members()) if (position[i] >= 0) sampleGroups.get(position[i]).add(g);
        for (int m = 0; m < chosen.length; m++) {
            int i = chosen[m];
            dIndex.add(i);
            if (sampleIds.get(i) == null) dId.addNull();
            else dId.add(sampleIds.get(i));
            if (domains.get(i) == null) dDomain.addNull();
            else dDomain.add(domains.get(i));
            ArrayNode sg = dGroups.addArray();
            sampleGroups.get(m).forEach(sg::add);
            dLength.add(lengths[i]);
            dStart.add(start[m] / 3 * 4); // in base64 characters
        }
        dStart.add(start[chosen.length] / 3 * 4);
        if (opt.tokens() != null) {
            ObjectNode vocab = root.putObject("vocab");
            for (int id = usedIds.nextSetBit(0); id >= 0; id = usedIds.nextSetBit(id + 1)) {
                String t = opt.tokens().text(id);
                if (t != null) vocab.put(Integer.toString(id), t);
            }
        } else {
            root.putNull("vocab");
        }
        String json;
        try {
            json = JSON.writeValueAsString(root);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new Content(json, details, new Summary(C, N, series.tokens(), chosen.length, details.length, G));
    }

    /**
     * Samples whose records fit the budget, spread evenly over the file (every sample when all fit). When not even one
     * fits, the shortest record alone, so that the sample view always has something to show.
     */
    static int[] choose(long[] size, long budget) {
        long total = 0;
        for (long s : size) total += s;
        if (total <= budget) {
            int[] all = new int[size.length];
            for (int i = 0; i < all.length; i++) all[i] = i;
            return all;
        }
        // Keep a fraction q of the samples, evenly spaced; shrink q until the chosen records fit.
        double q = (double) budget / total;
        while (q > 0) {
            List<Integer> pick = new ArrayList<>();
            long bytes = 0;
            for (int i = 0; i < size.length; i++) {
                if (Math.floor((i + 1) * q) > Math.floor(i * q)) {
                    pick.add(i);
                    bytes += size[i];
                }
            }
            if (bytes <= budget && !pick.isEmpty()) return pick.stream().mapToInt(Integer::intValue).toArray();
            if (pick.isEmpty()) break;
            q *= Math.max(0.5, Math.min(0.99, (double) budget / bytes));
        }
        int shortest = 0;
        for (int i = 1; i < size.length; i++) if (size[i] < size[shortest]) shortest = i;
        return new int[] {shortest};
    }

    /** The checkpoints whose co-activation is embedded: all when they fit, else evenly spaced ones ending at the last. */
    static int[] coactivationCheckpoints(int checkpoints, long bytesEach) {
        int fit = (int) Math.max(1, Math.min(checkpoints, COACTIVATION_BYTES / Math.max(1, bytesEach)));
        int[] out = new int[fit];
        for (int j = 0; j < fit; j++) {
            out[j] = fit == 1 ? checkpoints - 1 : (int) Math.round((double) j * (checkpoints - 1) / (fit - 1));
        }
        return out;
    }

    private static List<com.fasterxml.jackson.databind.JsonNode> moeLayers(String raw, int layers) {
        List<com.fasterxml.jackson.databind.JsonNode> out = new ArrayList<>();
        if (raw != null) {
            try {
                var node = JSON.readTree(raw);
                if (node.isArray() && node.size() == layers) {
                    node.forEach(out::add);
                    return out;
                }
            } catch (IOException ignored) {
                // an unreadable moe_layers is shown as the MoE-layer index, as for files written before the key
            }
        }
        for (int l = 0; l < layers; l++) out.add(JSON.getNodeFactory().numberNode(l));
        return out;
    }

    private static double meanFinite(float[] v) {
        double s = 0;
        int n = 0;
        for (float x : v) {
            if (Float.isFinite(x)) {
                s += x;
                n++;
            }
        }
        return n == 0 ? Double.NaN : s / n;
    }

    static String f32(float[] v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(v);
        return Base64.getEncoder().encodeToString(b.array());
    }

    static String f64(double[] v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        b.asDoubleBuffer().put(v);
        return Base64.getEncoder().encodeToString(b.array());
    }
}
