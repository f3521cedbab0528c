package org.moescope.cli;

import org.moescope.errors.BadInputException;
import org.moescope.model.MoeModel;
import org.moescope.trace.Sample;
import org.moescope.trace.SampleReader;
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

    @Override
    public Integer call() {
        var err = spec.commandLine().getErr();
        var stdout = spec.commandLine().getOut();
        Integer tokensPerCall = batchTokens.checked();
        try (MoeModel m = Engines.load(modelOption.dir, backend.name, err)) {
            List<Sample> samples;
            String dataPath;
            if (input.tokens != null) {
                samples = List.of(new Sample(null, null, Engines.parseTokenList(input.tokens, m.config().vocabSize()), 1));
                dataPath = "-";
            } else {
                samples = SampleReader.read(input.data, m.config().vocabSize(),
                        Engines.textEncoder(modelOption.dir, tokenizerOption.file));
                dataPath = input.data.toString();
            }
            Map<String, String> meta = new LinkedHashMap<>();
            meta.put("moescope_version", Main.VERSION);
            meta.put("model_path", modelOption.dir.toString());
            meta.put("data_path", dataPath);
            long total = samples.stream().mapToLong(s -> s.ids().length).sum();
            Tracer.Result r;
            try (ProgressBar bar = new ProgressBar(err, "trace", total, "tok")) {
                r = Tracer.traceResumable(m, samples, out, meta,
                        new Tracer.Options(saveLogits, saveRouterLogits, saveHidden, tokensPerCall), bar::update,
                        err::println);
            }
            err.printf(Locale.ROOT, "traced %d samples, %d tokens in %.2f s (%.0f tokens/s)%n", samples.size(), r.tokens(),
                    r.seconds(), r.tokens() / Math.max(1e-9, r.seconds()));
            stdout.println(out);
        }
        return 0;
    }

}
