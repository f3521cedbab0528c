package org.moescope.cli;

import org.moescope.model.family.Families;
import org.moescope.errors.BadInputException;
import org.moescope.model.ModelConfig;
import org.moescope.checkpoint.Checkpoint;
import org.moescope.monitor.Checkpoints;
import org.moescope.monitor.MonitorAnalysis;
import org.moescope.monitor.MonitorReport;
import org.moescope.monitor.MonitorSettings;
import org.moescope.monitor.MonitorTracing;
import org.moescope.monitor.Scores;
import org.moescope.trace.Sample;
import org.moescope.trace.SampleReader;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code moescope monitor}: the paper's pipeline end to end. With no arguments it runs on the embedded grokking
 * series (fixtures/grokking): a tiny OLMoE trained on modular addition, where the test-accuracy jump is known.
 */
@Command(name = "monitor", mixinStandardHelpOptions = true,
        description = {"Trace training samples through a series of checkpoints, group them by when they were memorised,",
                "and follow pathway distance and consistency per group against held-out scores; writes a report.",
                "With no arguments: the bundled grokking demo (fixtures/grokking)."})
public final class MonitorCommand implements Callable<Integer> {
    static final long DEFAULT_MAX_PAIRS = 1_000_000L;
    static final long DEMO_MAX_PAIRS = 100_000L;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = "--checkpoints", arity = "1..*", description = "Checkpoint directories or GGUF files in training order, or a directory of them.")
    List<Path> checkpoints;

    @Option(names = "--data", description = "Training samples (JSONL) traced through every checkpoint.")
    Path data;

    @Option(names = "--test", description = "Held-out samples (JSONL): the engine measures accuracy and loss on them.")
    Path test;

    @Option(names = "--validation", description = "Validation samples (JSONL): validation loss, a baseline.")
    Path validation;

    @Option(names = "--scores", description = "CSV: checkpoint[,step][,group],score columns...")
    Path scores;

    @Option(names = "--tokenizer", description = "tokenizer.json for \"text\" samples (default: the checkpoint's).")
    Path tokenizer;

    @Option(names = "--out", defaultValue = "monitor-report", description = "Output directory (default: ${DEFAULT-VALUE}).")
    Path out;

    @Option(names = "--tau", defaultValue = "0.7", description = "Pathway threshold (default: ${DEFAULT-VALUE}).")
    double tau;

    @Option(names = "--epsilon", description = "Memorisation loss threshold (default: chosen in steps of 0.1 to memorise the target fraction).")
    Double epsilon;

    @Option(names = "--delta", defaultValue = "0.05", description = "Memorisation stability tolerance (default: ${DEFAULT-VALUE}).")
    double delta;

    @Option(names = "--target-fraction", defaultValue = "0.20,0.25", split = ",",
            description = "Band of the memorised fraction when choosing epsilon (default: ${DEFAULT-VALUE}).")
    double[] targetFraction;

    @Option(names = "--max-pairs", description = "Exact pair distances up to this many pairs per group, sampled above "
            + "(default: 1000000; 100000 for the bundled demo, to keep it under a minute).")
    Long maxPairs;

    @Option(names = "--seed", defaultValue = "0", description = "Pair-sampling seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--moving-average", defaultValue = "3", description = "Window of the training-loss moving average (default: ${DEFAULT-VALUE}).")
    int movingAverage;

    @Option(names = "--correlate-from", defaultValue = "-1", description = "First step in correlations (default: where each score starts rising).")
    long correlateFrom;

    @Option(names = "--effective-dimension", defaultValue = "auto",
            description = "Routing-kernel effective dimension per checkpoint (needs hidden states in the route files): "
                    + "auto (when they take <= 200 MB per checkpoint), on, off (default: ${DEFAULT-VALUE}).")
    String effectiveDimension;

    @Option(names = "--report-min-points", defaultValue = "5", description = "report.html leaves out correlations over "
            + "fewer checkpoints than this; metrics.json keeps them all (default: ${DEFAULT-VALUE}).")
    int reportMinPoints;

    @Mixin
    ModelOptions.BatchTokens batchTokens;

    @Mixin
    ModelOptions.Backend backend;

    @Mixin
    ModelOptions.Spark spark;

    @Override
    public Integer call() throws IOException {
        var stdout = spec.commandLine().getOut();
        var err = spec.commandLine().getErr();
        boolean demo = checkpoints == null && data == null;
        if (demo) {
            Path series = DemoSeries.locate();
            checkpoints = List.of(series.resolve("checkpoints"));
            data = series.resolve("train.jsonl");
            test = series.resolve("test.jsonl");
            scores = series.resolve("scores.csv");
            if (maxPairs == null) maxPairs = DEMO_MAX_PAIRS;
            err.println("monitor: no --checkpoints/--data given: running the bundled grokking demo in " + series);
        } else if (checkpoints == null || data == null) {
            throw new BadInputException("give both --checkpoints and --data (or neither, for the bundled demo)");
        }
        if (maxPairs == null) maxPairs = DEFAULT_MAX_PAIRS;
        if (!(tau > 0 && tau <= 1)) throw new BadInputException("--tau must be in (0, 1]");
        if (targetFraction.length != 2 || targetFraction[0] > targetFraction[1]) {
            throw new BadInputException("--target-fraction takes LOW,HIGH with LOW <= HIGH");
        }
        Integer tokensPerCall = batchTokens.checked();
        if (maxPairs < 1 || movingAverage < 1) {
            throw new BadInputException("--max-pairs and --moving-average must be >= 1");
        }
        if (reportMinPoints < 2) throw new BadInputException("--report-min-points must be >= 2 (a correlation needs two points)");
        var cluster = spark.master == null ? null : spark.cluster(backend.name);
        Checkpoints series = Checkpoints.resolve(checkpoints);
        int vocab;
        try (Checkpoint first = Checkpoint.open(series.entries().get(0).dir())) {
            vocab = Families.parse(first.config(), first.configSource()).vocabSize();
        }
        var encoder = Engines.textEncoder(series.entries().get(0).dir(), tokenizer);
        List<Sample> train = SampleReader.read(data, vocab, encoder);
        List<Sample> testSamples = test == null ? List.of() : SampleReader.read(test, vocab, encoder);
        List<Sample> valSamples = validation == null ? List.of() : SampleReader.read(validation, vocab, encoder);
        Scores scoreTable = scores == null ? Scores.empty() : Scores.read(scores);
        MonitorSettings settings = new MonitorSettings(tau, epsilon == null ? Double.NaN : epsilon, delta, targetFraction[0],
                targetFraction[1], maxPairs, seed, movingAverage, correlateFrom);
        var tracingData = new MonitorTracing.Data(train, testSamples, valSamples, fingerprint(data, test, validation));
        if (Files.exists(out) && !Files.isDirectory(out)) {
            throw new BadInputException("--out " + out + ": is a file; monitor writes a directory");
        }
        Files.createDirectories(out);

        boolean saveHidden = switch (effectiveDimension) {
            case "on" -> true;
            case "off" -> false;
            case "auto" -> {
                try (Checkpoint first = Checkpoint.open(series.entries().get(0).dir())) {
                    ModelConfig c = Families.parse(first.config(), first.configSource());
                    yield (long) train.size() * c.numMoeLayers() * c.hiddenSize() * 4 <= 200L << 20;
                }
            }
            default -> throw new BadInputException("--effective-dimension takes auto, on or off");
        };
        long total = (long) series.entries().size() * (tokens(train) + tokens(testSamples) + tokens(valSamples));
        long t0 = System.nanoTime();
        List<MonitorTracing.CheckpointData> traced;
        if (cluster != null) {
            traced = MonitorTracing.runOnCluster(series, tracingData, out, cluster, spark.master, tokensPerCall, saveHidden,
                    Main.VERSION, line -> {
                        err.println(line);
                        err.flush();
                    });
        } else {
            try (ProgressBar bar = new ProgressBar(err, "monitor: tracing " + series.entries().size() + " checkpoints", total, "tok")) {
                traced = MonitorTracing.run(series, tracingData, out, dir -> Engines.load(dir, backend.name, err), tokensPerCall, saveHidden, Main.VERSION,
                        bar::update);
            }
        }
        long resumed = traced.stream().filter(MonitorTracing.CheckpointData::resumed).count();
        if (resumed > 0) {
            err.println("monitor: reused " + resumed + " finished checkpoint(s) from " + out.resolve("routes"));
        }
        double traceSeconds = (System.nanoTime() - t0) / 1e9;
        err.println("monitor: analysing pathways, memorisation groups and correlations");
        MonitorAnalysis.Result result = MonitorAnalysis.run(traced, scoreTable, settings);
        Map<String, String> inputs = new LinkedHashMap<>();
        inputs.put("checkpoints", String.join(" ", checkpoints.stream().map(Path::toString).toList()));
        inputs.put("data", data.toString());
        if (test != null) inputs.put("test", test.toString());
        if (validation != null) inputs.put("validation", validation.toString());
        if (scores != null) inputs.put("scores", scores.toString());
        inputs.put("moescope", Main.VERSION);
        var ctx = new MonitorReport.Context(series.entries().stream().map(Checkpoints.Entry::name).toList(), train.size(),
                testSamples.size(), valSamples.size(), settings, commandLine(), inputs, reportMinPoints);
        Path report = MonitorReport.write(out, result, ctx);
        err.printf(Locale.ROOT, "monitor: traced in %.1f s, total %.1f s; wrote metrics.csv, metrics.json, charts%n",
                traceSeconds, (System.nanoTime() - t0) / 1e9);
        stdout.println(report);
        return 0;
    }

    /** The command as typed, for the report: picocli's original arguments start with the subcommand's own name. */
    private String commandLine() {
        return commandLine(spec.commandLine().getParseResult().originalArgs());
    }

    static String commandLine(List<String> originalArgs) {
        List<String> args = new ArrayList<>(originalArgs);
        if (!args.isEmpty() && args.get(0).equals("monitor")) args.remove(0);
        return "moescope monitor" + (args.isEmpty() ? "" : " " + String.join(" ", args));
    }

    private static long tokens(List<Sample> s) {
        return s.stream().mapToLong(x -> x.ids().length).sum();
    }

    /** SHA-256 over the sample files' bytes: a rerun reuses traces only for the same data. */
    static String fingerprint(Path... files) throws IOException {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            for (Path f : files) {
                if (f == null) {
                    md.update((byte) 0);
                } else {
                    md.update(Files.readAllBytes(f));
                    md.update((byte) 1);
                }
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
