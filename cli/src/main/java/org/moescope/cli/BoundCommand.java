package org.moescope.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.moescope.bound.BoundInput;
import org.moescope.bound.BoundInputFile;
import org.moescope.bound.BoundResult;
import org.moescope.bound.BoundSettings;
import org.moescope.bound.BoundSweep;
import org.moescope.bound.ExpertKernel;
import org.moescope.bound.GeneralizationBound;
import org.moescope.bound.SweepReport;
import org.moescope.bound.SyntheticConfig;
import org.moescope.errors.BadInputException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/** `moescope bound`: the one-layer MoE generalisation bound (Theorem 4.1) on given data, a route file, or a synthetic sweep. */
@Command(name = "bound", mixinStandardHelpOptions = true,
        description = {"Evaluates the paper's one-layer MoE bound (Theorem 4.1): d_eff of the routing kernel "
                + "H = (G Gᵀ) ⊙ K, the bias/variance/noise terms, and the kernel-ridge risks they bound. See docs/bound.md."})
public final class BoundCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--input", paramLabel = "FILE", description = "safetensors file with F32/F64 tensors X [n,D], G [n,K], y [n]; "
            + "optional f [n], Xtest, Gtest, ftest, or a precomputed expert kernel K [n,n] / Ktest [m,n]")
    Path input;

    @Option(names = "--routes", paramLabel = "FILE", description = "route file (moescope trace --save-hidden): "
            + "G = router_probs_mean, X = hidden_mean at --layer, y = per-sample loss")
    Path routes;

    @Option(names = "--layer", paramLabel = "L", description = "MoE layer of the route file (0-based)")
    Integer layer;

    @Option(names = "--synthetic", description = "run the App. C.4 sweep over router seeds and temperatures")
    boolean synthetic;

    @Option(names = "--lambda", defaultValue = "1.0", description = "ridge λ (default ${DEFAULT-VALUE})")
    double lambda;

    @Option(names = "--lambda-relative", description = "read --lambda as a multiple of Tr(H)/n, so λ follows the kernel's scale")
    boolean lambdaRelative;

    @Option(names = "--sigma", defaultValue = "0.3", description = "label-noise standard deviation σ (default ${DEFAULT-VALUE})")
    double sigma;

    @Option(names = "--delta", defaultValue = "0.05", description = "confidence δ (default ${DEFAULT-VALUE})")
    double delta;

    @Option(names = "--kernel", defaultValue = "arccos", paramLabel = "arccos|linear|precomputed",
            description = "expert NTK (default ${DEFAULT-VALUE}); precomputed takes K/Ktest from --input")
    String kernel;

    @Option(names = "--json", description = "print JSON instead of a table")
    boolean json;

    @Option(names = "--out", paramLabel = "DIR", defaultValue = "bound-synthetic",
            description = "--synthetic: directory for the CSVs and the chart (default ${DEFAULT-VALUE})")
    Path out;

    @Option(names = "--seeds", defaultValue = "20", description = "--synthetic: router seeds per temperature (default ${DEFAULT-VALUE})")
    int seeds;

    @Option(names = "--temperatures", split = ",", defaultValue = "0.1,0.3,1,3",
            description = "--synthetic: router temperatures (default ${DEFAULT-VALUE})")
    double[] temperatures;

    @Option(names = "--n", defaultValue = "200", description = "--synthetic: training points (default ${DEFAULT-VALUE})")
    int n;

    @Option(names = "--n-test", defaultValue = "1000", description = "--synthetic: test points (default ${DEFAULT-VALUE})")
    int nTest;

    @Option(names = "--dim", defaultValue = "100", description = "--synthetic: input dimension D (default ${DEFAULT-VALUE})")
    int dim;

    @Option(names = "--experts", defaultValue = "16", description = "--synthetic: experts K (default ${DEFAULT-VALUE})")
    int experts;

    @Option(names = "--clusters", defaultValue = "8", description = "--synthetic: Gaussian clusters (default ${DEFAULT-VALUE})")
    int clusters;

    @Option(names = "--cluster-spread", defaultValue = "0.5",
            description = "--synthetic: within-cluster spread relative to the centres' (default ${DEFAULT-VALUE})")
    double clusterSpread;

    @Option(names = "--top-k", defaultValue = "0", description = "--synthetic: keep the k largest gates, renormalised; 0 = dense (default)")
    int topK;

    @Option(names = "--data-seed", defaultValue = "2506", description = "--synthetic: seed of the data (default ${DEFAULT-VALUE})")
    long dataSeed;

    @Option(names = "--path-threshold", defaultValue = "0.7",
            description = "--synthetic: cumulative gate threshold of a pathway (default ${DEFAULT-VALUE})")
    double pathThreshold;

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    @Override
    public Integer call() throws Exception {
        int modes = (input != null ? 1 : 0) + (routes != null ? 1 : 0) + (synthetic ? 1 : 0);
        if (modes != 1) {
            throw new BadInputException("bound: give exactly one of --input FILE, --routes FILE --layer L, --synthetic");
        }
        if ((layer != null) != (routes != null)) {
            throw new BadInputException("bound: --layer goes with --routes, and --routes needs --layer");
        }
        BoundSettings settings = new BoundSettings(lambda, lambdaRelative, sigma, delta, ExpertKernel.parse(kernel));
        PrintWriter w = spec.commandLine().getOut();
        if (synthetic) {
            SyntheticConfig config = new SyntheticConfig(n, nTest, dim, experts, clusters, clusterSpread, topK, sigma,
                    dataSeed, seeds, temperatures, pathThreshold);
            BoundSweep.Result result = BoundSweep.run(config, settings);
            List<Path> files = SweepReport.write(result, out);
            w.print(json ? JSON.writeValueAsString(sweepJson(result, files)) + "\n" : sweepTable(result, files));
        } else {
            List<String> warnings = new ArrayList<>();
            ObjectNode extra = JSON.createObjectNode();
            BoundInput data;
            if (input != null) {
                data = BoundInputFile.read(input);
            } else {
                BoundInputFile.RouteInput r = BoundInputFile.fromRoutes(routes, layer);
                data = r.input();
                extra.put("layer", layer);
                extra.put("y_source", "loss");
                extra.put("dropped_samples", r.droppedSamples());
                if (r.droppedSamples() > 0) {
                    warnings.add(r.droppedSamples() + " sample(s) left out for a NaN loss (one-token samples)");
                }
            }
            BoundResult result = GeneralizationBound.evaluate(data, settings);
            if (data.f() == null) {
                warnings.add("no noise-free targets f: the in-sample risk compares the fit with y, so it includes the label noise");
            }
            w.print(json ? JSON.writeValueAsString(resultJson(data.source(), result, extra, warnings)) + "\n"
                    : resultTable(data.source(), result, warnings));
        }
        w.flush();
        return 0;
    }

    static ObjectNode resultJson(String source, BoundResult r, ObjectNode extra, List<String> warnings) {
        ObjectNode o = JSON.createObjectNode();
        o.put("source", source);
        o.put("n", r.n());
        put(o, "lambda", r.lambda());
        put(o, "lambda_relative", r.lambdaRelative());
        put(o, "trace_h_over_n", r.traceOverN());
        put(o, "sigma", r.sigma());
        put(o, "delta", r.delta());
        o.put("kernel", r.kernel().cliName());
        put(o, "d_eff", r.dEff());
        put(o, "bias_term", r.biasTerm());
        put(o, "variance_term", r.varianceTerm());
        put(o, "noise_term", r.noiseTerm());
        put(o, "rhs", r.rhs());
        put(o, "in_sample_risk", r.inSampleRisk());
        o.put("in_sample_target", r.inSampleTarget());
        if (!Double.isNaN(r.expectedInSampleRisk())) {
            put(o, "expected_in_sample_risk", r.expectedInSampleRisk());
        }
        if (r.hasPopulationRisk()) {
            put(o, "population_risk", r.populationRisk());
            o.put("holds_population", r.holdsPopulation());
        }
        o.put("holds_in_sample", r.holdsInSample());
        put(o, "min_c1", r.minC1());
        o.put("min_c1_risk", r.minC1Risk());
        o.setAll(extra);
        ArrayNode warn = o.putArray("warnings");
        warnings.forEach(warn::add);
        return o;
    }

    static String resultTable(String source, BoundResult r, List<String> warnings) {
        StringBuilder sb = new StringBuilder();
        sb.append("one-layer MoE bound (Theorem 4.1, C1 = C2 = 1) for ").append(source).append('\n');
        row(sb, "n", Integer.toString(r.n()));
        row(sb, "kernel", r.kernel().cliName());
        row(sb, "lambda", fmt(r.lambda()) + (!Double.isNaN(r.lambdaRelative())
                ? "  (" + fmt(r.lambdaRelative()) + " x Tr(H)/n = " + fmt(r.traceOverN()) + ")" : ""));
        row(sb, "sigma, delta", fmt(r.sigma()) + ", " + fmt(r.delta()));
        row(sb, "Tr(H)/n", fmt(r.traceOverN()));
        row(sb, "d_eff", fmt(r.dEff()) + "  (of n = " + r.n() + ")");
        row(sb, "bias term", fmt(r.biasTerm()));
        row(sb, "variance term", fmt(r.varianceTerm()));
        row(sb, "noise term", fmt(r.noiseTerm()));
        row(sb, "right-hand side", fmt(r.rhs()));
        row(sb, "in-sample risk", fmt(r.inSampleRisk()) + "  (vs " + r.inSampleTarget() + "; "
                + (r.holdsInSample() ? "≤" : ">") + " rhs)");
        if (!Double.isNaN(r.expectedInSampleRisk())) {
            row(sb, "E in-sample risk", fmt(r.expectedInSampleRisk()) + "  (over label noise)");
        }
        if (r.hasPopulationRisk()) {
            row(sb, "population risk", fmt(r.populationRisk()) + "  (" + (r.holdsPopulation() ? "≤" : ">") + " rhs)");
        }
        row(sb, "smallest C1", fmt(r.minC1()) + "  (for the " + r.minC1Risk().replace('_', '-') + " risk)");
        for (String warning : warnings) {
            sb.append("warning: ").append(warning).append('\n');
        }
        return sb.toString();
    }

    static ObjectNode sweepJson(BoundSweep.Result result, List<Path> files) {
        ObjectNode o = JSON.createObjectNode();
        SyntheticConfig c = result.config();
        ObjectNode cfg = o.putObject("config");
        cfg.put("n", c.n());
        cfg.put("n_test", c.nTest());
        cfg.put("dim", c.dim());
        cfg.put("experts", c.experts());
        cfg.put("clusters", c.clusters());
        put(cfg, "cluster_spread", c.clusterSpread());
        cfg.put("top_k", c.topK());
        put(cfg, "sigma", c.sigma());
        cfg.put("data_seed", c.dataSeed());
        cfg.put("router_seeds", c.routerSeeds());
        put(cfg, "path_threshold", c.pathThreshold());
        put(cfg, "lambda", result.settings().lambda());
        cfg.put("lambda_relative", result.settings().lambdaRelative());
        put(cfg, "delta", result.settings().delta());
        cfg.put("kernel", result.settings().kernel().cliName());
        ArrayNode temps = o.putArray("temperatures");
        for (BoundSweep.TemperatureSummary s : result.summaries()) {
            ObjectNode t = temps.addObject();
            put(t, "temperature", s.temperature());
            t.put("runs", s.runs());
            put(t, "mean_d_eff", s.meanDEff());
            put(t, "mean_lambda", s.meanLambda());
            put(t, "mean_edit_distance", s.meanEditDistance());
            put(t, "mean_path_length", s.meanPathLength());
            put(t, "mean_in_sample_risk", s.meanInSampleRisk());
            put(t, "mean_population_risk", s.meanPopulationRisk());
            put(t, "mean_rhs", s.meanRhs());
            put(t, "fraction_holds_in_sample", s.fractionHoldsInSample());
            put(t, "min_min_c1", s.minMinC1());
            put(t, "max_min_c1", s.maxMinC1());
        }
        ArrayNode corr = o.putArray("correlations");
        for (BoundSweep.CorrelationRow r : result.correlations()) {
            ObjectNode row = corr.addObject();
            row.put("subset", r.subset());
            row.put("x", r.x());
            row.put("y", r.y());
            row.put("count", r.count());
            put(row, "pearson", r.pearson());
            put(row, "spearman", r.spearman());
        }
        ArrayNode fs = o.putArray("files");
        files.forEach(p -> fs.add(p.toString()));
        return o;
    }

    static String sweepTable(BoundSweep.Result result, List<Path> files) {
        StringBuilder sb = new StringBuilder();
        SyntheticConfig c = result.config();
        BoundSettings s = result.settings();
        sb.append(String.format(Locale.ROOT, "synthetic sweep: n=%d (test %d), D=%d, K=%d, %d clusters (spread %s), %s, σ=%s, δ=%s, "
                        + "%s kernel, %s, %d router seeds, data seed %d%n",
                c.n(), c.nTest(), c.dim(), c.experts(), c.clusters(), fmt(c.clusterSpread()),
                c.topK() > 0 ? "top-" + c.topK() : "dense softmax", fmt(s.sigma()), fmt(s.delta()), s.kernel().cliName(),
                s.lambdaRelative() ? "λ = " + fmt(s.lambda()) + "·Tr(H)/n" : "λ = " + fmt(s.lambda()),
                c.routerSeeds(), c.dataSeed()));
        sb.append(String.format(Locale.ROOT, "%8s %9s %9s %9s %9s %10s %10s %9s %8s %15s%n", "T", "d_eff", "lambda",
                "edit", "path len", "in-sample", "population", "rhs", "holds", "min C1 range"));
        for (BoundSweep.TemperatureSummary t : result.summaries()) {
            sb.append(String.format(Locale.ROOT, "%8s %9.2f %9.4g %9.4f %9.2f %10.4g %10.4g %9.4g %7.0f%% %7.2f-%-7.2f%n",
                    fmt(t.temperature()), t.meanDEff(), t.meanLambda(), t.meanEditDistance(), t.meanPathLength(),
                    t.meanInSampleRisk(), t.meanPopulationRisk(), t.meanRhs(), 100 * t.fractionHoldsInSample(),
                    t.minMinC1(), t.maxMinC1()));
        }
        sb.append("correlations (Pearson r / Spearman ρ):\n");
        for (BoundSweep.CorrelationRow r : result.correlations()) {
            sb.append(String.format(Locale.ROOT, "  %-8s %-18s vs %-16s n=%-3d r=%7.3f  ρ=%7.3f%n",
                    r.subset(), r.x(), r.y(), r.count(), r.pearson(), r.spearman()));
        }
        for (Path p : files) {
            sb.append("wrote ").append(p).append('\n');
        }
        return sb.toString();
    }

    private static void row(StringBuilder sb, String key, String value) {
        sb.append(String.format(Locale.ROOT, "  %-18s %s%n", key, value));
    }

    private static String fmt(double v) {
        if (Double.isInfinite(v)) {
            return v > 0 ? "inf" : "-inf";
        }
        return String.format(Locale.ROOT, "%.6g", v).replaceAll("(\\.\\d*?)0+(e|$)", "$1$2").replaceAll("\\.(e|$)", "$1");
    }

    /** JSON has no NaN or infinity: both become null. */
    private static void put(ObjectNode o, String key, double v) {
        if (Double.isFinite(v)) {
            o.put(key, v);
        } else {
            o.putNull(key);
        }
    }
}
