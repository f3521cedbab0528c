package org.moescope.cli;

import org.moescope.errors.BadInputException;
import org.moescope.model.MoeModel;
import org.moescope.trace.Sample;
import org.moescope.trace.SampleReader;
import org.moescope.trace.TraceCluster;
import org.moescope.trace.Tracer;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code moescope trace}: run samples through a checkpoint and write their expert routes (docs/route-format.md). */
@Command(name = "trace", mixinStandardHelpOptions = true,
        description = "Run samples through a checkpoint and record every token's expert routes to a route file.")
public final class TraceCommand implements Callable<Integer> {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Mixin
    ModelOptions.Model modelOption;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Input input;

    static final class Input {
        @Option(names = "--tokens", description = "One sample given as comma-separated token ids, e.g. 1,2,3.")
        String tokens;

        @Option(names = "--data", description = "JSONL samples: {\"ids\": [...]} or {\"text\": \"...\"}, optional \"id\", \"group\", \"loss_start\".")
        Path data;
    }

    @Mixin
    ModelOptions.TokenizerFile tokenizerOption;

    @Option(names = "--out", required = true, description = "Route file to write (.safetensors).")
    Path out;

    @Option(names = "--save-logits", description = "Also store logits [T, V].")
    boolean saveLogits;

    @Option(names = "--save-router-logits", description = "Also store router logits [T, L, E].")
    boolean saveRouterLogits;

    @Option(names = "--save-hidden", description = "Also store each sample's mean MoE-input hidden state [N, L, H].")
    boolean saveHidden;

    @Mixin
    ModelOptions.BatchTokens batchTokens;

    @Mixin
    ModelOptions.Backend backend;

    @Mixin
    ModelOptions.Spark spark;

    @Override
    public Integer call() {
        var err = spec.commandLine().getErr();
        var stdout = spec.commandLine().getOut();
        Integer tokensPerCall = batchTokens.checked();
        TraceCluster cluster = spark.master == null ? null : spark.cluster(backend.name);
        List<Sample> samples;
        String dataPath;
        if (cluster == null) {
            try (MoeModel m = Engines.load(modelOption.dir, backend.name, err)) {
                samples = samples(m.config().vocabSize());
                dataPath = input.tokens != null ? "-" : input.data.toString();
                Tracer.Result r;
                try (ProgressBar bar = new ProgressBar(err, "trace", tokens(samples), "tok")) {
                    r = Tracer.traceResumable(m, samples, out, metadata(dataPath), options(tokensPerCall), bar::update,
                            err::println);
                }
                report(err, samples, r);
            }
        } else {
            samples = samples(Engines.vocabSize(modelOption.dir));
            dataPath = input.tokens != null ? "-" : input.data.toString();
            Path parts = out.resolveSibling(out.getFileName() + ".parts");
            Tracer.Result r = cluster.run(spark.master, List.of(new TraceCluster.Job(modelOption.dir, samples, out, parts,
                    metadata(dataPath), options(tokensPerCall))), line -> {
                        err.println(line);
                        err.flush();
                    }).get(0);
            report(err, samples, r);
        }
        stdout.println(out);
        return 0;
    }

    private List<Sample> samples(int vocab) {
        if (input.tokens != null) {
            return List.of(new Sample(null, null, Engines.parseTokenList(input.tokens, vocab), 1));
        }
        return SampleReader.read(input.data, vocab, Engines.textEncoder(modelOption.dir, tokenizerOption.file));
    }

    private Map<String, String> metadata(String dataPath) {
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("moescope_version", Main.VERSION);
        meta.put("model_path", modelOption.dir.toString());
        meta.put("data_path", dataPath);
        return meta;
    }

    private Tracer.Options options(Integer tokensPerCall) {
        return new Tracer.Options(saveLogits, saveRouterLogits, saveHidden, tokensPerCall);
    }

    private static long tokens(List<Sample> samples) {
        return samples.stream().mapToLong(s -> s.ids().length).sum();
    }

    private static void report(java.io.PrintWriter err, List<Sample> samples, Tracer.Result r) {
        err.printf(Locale.ROOT, "traced %d samples, %d tokens in %.2f s (%.0f tokens/s)%n", samples.size(), r.tokens(),
                r.seconds(), r.tokens() / Math.max(1e-9, r.seconds()));
    }
}
