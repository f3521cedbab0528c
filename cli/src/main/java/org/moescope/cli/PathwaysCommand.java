package org.moescope.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.moescope.errors.BadInputException;
import org.moescope.monitor.RouterWeights;
import org.moescope.output.AtomicFiles;
import org.moescope.pathways.Consistency;
import org.moescope.pathways.DistanceKind;
import org.moescope.pathways.GroupDistances;
import org.moescope.pathways.Pathway;
import org.moescope.pathways.RouterGeometry;
import org.moescope.routing.RouteFile;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code moescope pathways}: per sample of a route file its pathway string, S and C; per group the mean pairwise
 * distances and mean S and C. The JSON keys are a contract (docs/metrics.md, "pathways JSON").
 */
@Command(name = "pathways", mixinStandardHelpOptions = true,
        description = "Pathways, pathway distances and consistency of the samples of a route file.")
public final class PathwaysCommand implements Callable<Integer> {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = "--routes", required = true, description = "Route file written by trace.")
    Path routes;

    @Option(names = "--model", required = true, paramLabel = "DIR|FILE.gguf", description = "The checkpoint (directory or GGUF file) the routes came from (its routers give consistency).")
    Path model;

    @Option(names = "--tau", defaultValue = "0.7", description = "Pathway threshold (default: ${DEFAULT-VALUE}).")
    double tau;

    @Option(names = "--max-pairs", defaultValue = "1000000", description = "Exact up to this many pairs per group, sampled above (default: ${DEFAULT-VALUE}).")
    long maxPairs;

    @Option(names = "--seed", defaultValue = "0", description = "Pair-sampling seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--out", required = true, description = "JSON file to write.")
    Path out;

    @Override
    public Integer call() throws Exception {
        if (!(tau > 0 && tau <= 1)) throw new BadInputException("--tau must be in (0, 1]");
        ObjectMapper om = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode root = om.createObjectNode();
        try (RouteFile r = RouteFile.open(routes)) {
            String sha = r.metadata().get("config_sha256");
            try (var ck = org.moescope.checkpoint.Checkpoint.open(model)) {
                if (sha != null && !sha.equals(ck.configSha256())) {
                    throw new BadInputException(routes + ": was traced with another config.json than " + model
                            + " (config_sha256 differs)");
                }
            }
            int n = r.numSamples(), L = r.numLayers(), E = r.numExperts();
            RouterGeometry geometry = RouterWeights.load(model, L, E);
            float[] probs = r.routerProbsMean();
            List<String> ids = r.sampleIds();
            List<String> groupsOf = r.sampleGroups();
            root.put("tau", tau);
            root.put("distance_units", "mean_distance_char: levenshtein_char; mean_distance_expert: levenshtein_expert");
            ArrayNode samples = root.putArray("samples");
            List<Pathway> pathways = new ArrayList<>(n);
            List<Consistency> consistency = new ArrayList<>(n);
            Map<String, List<Integer>> groups = new LinkedHashMap<>();
            for (int i = 0; i < n; i++) {
                Pathway p = Pathway.fromRouting(probs, i * L * E, L, E, tau);
                Consistency c = Consistency.of(geometry, probs, i * L * E);
                pathways.add(p);
                consistency.add(c);
                String g = groupsOf.get(i) == null ? "all" : groupsOf.get(i);
                groups.computeIfAbsent(g, k -> new ArrayList<>()).add(i);
                ObjectNode s = samples.addObject();
                s.put("index", i);
                if (ids.get(i) == null) s.putNull("id");
                else s.put("id", ids.get(i));
                s.put("group", g);
                s.put("pathway", p.text());
                number(s, "layer_cosine_mean", c.layerCosineMean());
                number(s, "consistency_v4", c.consistencyV4());
            }
            ArrayNode groupArray = root.putArray("groups");
            GroupDistances.Options opts = GroupDistances.Options.defaults().withMaxPairs(maxPairs).withSeed(seed);
            for (Map.Entry<String, List<Integer>> g : groups.entrySet()) {
                List<Pathway> ps = g.getValue().stream().map(pathways::get).toList();
                GroupDistances.Result dc = GroupDistances.within(ps, DistanceKind.CHARACTER, opts);
                GroupDistances.Result de = GroupDistances.within(ps, DistanceKind.EXPERT, opts);
                Consistency.GroupMean cm = Consistency.groupMean(g.getValue().stream().map(consistency::get).toList());
                ObjectNode o = groupArray.addObject();
                o.put("group", g.getKey());
                o.put("n_samples", g.getValue().size());
                o.put("n_pairs", dc.pairsUsed());
                o.put("pairs_exact", dc.exact());
                number(o, "mean_distance_char", dc.mean());
                number(o, "mean_distance_char_se", dc.standardError());
                number(o, "mean_distance_expert", de.mean());
                number(o, "mean_distance_expert_se", de.standardError());
                number(o, "mean_layer_cosine", cm.layerCosineMean());
                number(o, "mean_consistency_v4", cm.consistencyV4());
            }
        }
        AtomicFiles.writeString(out, om.writeValueAsString(root) + "\n");
        spec.commandLine().getOut().println(out);
        return 0;
    }

    private static void number(ObjectNode o, String key, double v) {
        if (Double.isNaN(v)) o.putNull(key);
        else o.put(key, v);
    }
}
