package org.moescope.bound;

import org.moescope.pathways.DistanceKind;
import org.moescope.pathways.GroupDistances;
import org.moescope.pathways.Pathway;
import org.moescope.stats.Correlation;

import org.moescope.errors.BadInputException;

import java.util.ArrayList;
import java.util.List;
import java.util.function.ToDoubleFunction;

/**
 * The Fig. 8 experiment (notes §6.5): for fixed data, many frozen random routers at several temperatures; per run the
 * bound's terms, the KRR risks and the mean pairwise edit distance of the one-layer pathways, then how they correlate.
 */
public final class BoundSweep {
    private BoundSweep() {
    }

    /**
     * One router.
     *
     * @param meanEditDistance mean normalised Levenshtein distance over all training pairs' one-layer pathways
     * @param meanPathLength   mean number of experts in a pathway
     * @param distinctPaths    how many different pathways the training set uses
     */
    public record Run(long routerSeed, double temperature, BoundResult bound, double meanEditDistance,
                      double meanPathLength, int distinctPaths) {
    }

    /** Pearson and Spearman correlation of two run quantities over a subset of runs ("all" or "T=0.3"). */
    public record CorrelationRow(String subset, String x, String y, int count, double pearson, double spearman) {
    }

    /** Means over the runs at one temperature. */
    public record TemperatureSummary(double temperature, int runs, double meanDEff, double meanLambda,
                                     double meanEditDistance, double meanPathLength, double meanInSampleRisk,
                                     double meanPopulationRisk, double meanRhs, double fractionHoldsInSample,
                                     double minMinC1, double maxMinC1) {
    }

    public record Result(SyntheticConfig config, BoundSettings settings, List<Run> runs,
                         List<TemperatureSummary> summaries, List<CorrelationRow> correlations) {
    }

    /** The run quantities that are correlated, by CSV column name. */
    private static final List<Quantity> QUANTITIES = List.of(
            new Quantity("mean_edit_distance", Run::meanEditDistance),
            new Quantity("d_eff", r -> r.bound().dEff()),
            new Quantity("population_risk", r -> r.bound().populationRisk()),
            new Quantity("in_sample_risk", r -> r.bound().inSampleRisk()));

    private record Quantity(String name, ToDoubleFunction<Run> value) {
    }

    /** Runs config.routerSeeds() routers at every temperature on one dataset. settings.sigma() must equal config.sigma(). */
    public static Result run(SyntheticConfig config, BoundSettings settings) {
        if (settings.kernel() == ExpertKernel.PRECOMPUTED) {
            throw new BadInputException("--kernel precomputed needs --input; the synthetic sweep uses arccos or linear");
        }
        SyntheticMoe.Dataset data = SyntheticMoe.generate(config);
        // The expert kernel depends only on the data, so it is shared by every router.
        double[][] k = settings.kernel().gram(data.x(), data.x()); // (n, n)
        double[][] kTest = settings.kernel().gram(data.xTest(), data.x()); // (nTest, n)
        List<Run> runs = new ArrayList<>();
        for (double temperature : config.temperatures()) {
            for (long seed = 1; seed <= config.routerSeeds(); seed++) {
                double[][] w = SyntheticMoe.router(seed, config.experts(), config.dim());
                double[][] g = SyntheticMoe.gates(w, data.x(), temperature, config.topK());
                double[][] gTest = SyntheticMoe.gates(w, data.xTest(), temperature, config.topK());
                double[][] h = RoutingKernel.hadamardWithGates(g, g, k);
                double[][] hTest = RoutingKernel.hadamardWithGates(gTest, g, kTest);
                BoundResult bound = GeneralizationBound.evaluate("synthetic", "the " + settings.kernel().cliName() + " kernel",
                        h, data.y(), data.f(), hTest, data.fTest(), settings);
                // One-layer pathways: the experts by descending gate until the running sum exceeds the threshold.
                List<Pathway> paths = new ArrayList<>(g.length);
                double length = 0;
                for (double[] gi : g) {
                    float[] gates = new float[gi.length];
                    for (int k2 = 0; k2 < gi.length; k2++) gates[k2] = (float) gi[k2];
                    Pathway p = Pathway.fromRouting(gates, 0, 1, gates.length, config.pathThreshold());
                    paths.add(p);
                    length += p.meanExpertsPerLayer();
                }
                double distance = GroupDistances.within(paths, DistanceKind.CHARACTER_NORMALISED,
                        GroupDistances.Options.defaults().withMaxPairs(Long.MAX_VALUE)).mean();
                runs.add(new Run(seed, temperature, bound, Double.isNaN(distance) ? 0.0 : distance,
                        length / g.length, (int) paths.stream().distinct().count()));
            }
        }
        return new Result(config, settings, List.copyOf(runs), summaries(config, runs), correlations(config, runs));
    }

    private static List<TemperatureSummary> summaries(SyntheticConfig config, List<Run> runs) {
        List<TemperatureSummary> out = new ArrayList<>();
        for (double t : config.temperatures()) {
            List<Run> at = runs.stream().filter(r -> r.temperature() == t).toList();
            out.add(new TemperatureSummary(t, at.size(),
                    mean(at, r -> r.bound().dEff()), mean(at, r -> r.bound().lambda()),
                    mean(at, Run::meanEditDistance), mean(at, Run::meanPathLength),
                    mean(at, r -> r.bound().inSampleRisk()), mean(at, r -> r.bound().populationRisk()),
                    mean(at, r -> r.bound().rhs()), mean(at, r -> r.bound().holdsInSample() ? 1 : 0),
                    at.stream().mapToDouble(r -> r.bound().minC1()).min().orElse(Double.NaN),
                    at.stream().mapToDouble(r -> r.bound().minC1()).max().orElse(Double.NaN)));
        }
        return List.copyOf(out);
    }

    private static List<CorrelationRow> correlations(SyntheticConfig config, List<Run> runs) {
        List<CorrelationRow> out = new ArrayList<>();
        addCorrelations(out, "all", runs);
        for (double t : config.temperatures()) {
            addCorrelations(out, "T=" + t, runs.stream().filter(r -> r.temperature() == t).toList());
        }
        return List.copyOf(out);
    }

    private static void addCorrelations(List<CorrelationRow> out, String subset, List<Run> runs) {
        for (int a = 0; a < QUANTITIES.size(); a++) {
            for (int b = a + 1; b < QUANTITIES.size(); b++) {
                double[] x = runs.stream().mapToDouble(QUANTITIES.get(a).value()).toArray();
                double[] y = runs.stream().mapToDouble(QUANTITIES.get(b).value()).toArray();
                out.add(new CorrelationRow(subset, QUANTITIES.get(a).name(), QUANTITIES.get(b).name(), x.length,
                        Correlation.pearson(x, y), Correlation.spearman(x, y)));
            }
        }
    }

    private static double mean(List<Run> runs, ToDoubleFunction<Run> f) {
        return runs.stream().mapToDouble(f).average().orElse(Double.NaN);
    }
}
