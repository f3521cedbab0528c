package org.moescope.cli;

import org.moescope.errors.BadInputException;
import org.moescope.model.Generation;
import org.moescope.model.MoeModel;
import org.moescope.model.Sampler;
import org.moescope.tokenizer.StreamingDecoder;
import org.moescope.tokenizer.Tokenizer;
import org.moescope.trace.Sample;
import org.moescope.trace.SequenceRoutes;
import org.moescope.trace.Tracer;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.function.IntPredicate;

/** {@code moescope generate}: continue a prompt, streaming text (or ids) as tokens are chosen. */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Continue a prompt with greedy decoding or sampling; streams the new text as it is produced.")
public final class GenerateCommand implements Callable<Integer> {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Mixin
    ModelOptions.Model modelOption;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Prompt prompt;

    static final class Prompt {
        @Option(names = "--tokens", description = "Prompt as comma-separated token ids; prints the new ids.")
        String tokens;

        @Option(names = "--prompt", description = "Prompt text (needs a tokenizer); prints the new text.")
        String text;
    }

    @Mixin
    ModelOptions.TokenizerFile tokenizerOption;

    @Option(names = "--max-new-tokens", defaultValue = "64", description = "Default: ${DEFAULT-VALUE}.")
    int maxNewTokens;

    @Option(names = "--temperature", defaultValue = "0", description = "0 = greedy (default: ${DEFAULT-VALUE}).")
    float temperature;

    @Option(names = "--top-k", defaultValue = "0", description = "Keep the k most likely tokens; 0 = all.")
    int topK;

    @Option(names = "--top-p", defaultValue = "1", description = "Nucleus sampling threshold; 1 = off.")
    float topP;

    @Option(names = "--min-p", defaultValue = "0", description = "Drop tokens below min-p x the best probability; 0 = off.")
    float minP;

    @Option(names = "--repeat-penalty", defaultValue = "1", description = "Penalty for tokens already present; 1 = off.")
    float repeatPenalty;

    @Option(names = "--seed", defaultValue = "0", description = "Sampling seed (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--routes", description = "Also write the routes of prompt + generated text to this route file, "
            + "as the prefill and the decode steps chose them.")
    Path routes;

    @Mixin
    ModelOptions.Backend backend;

    @Override
    public Integer call() {
        var out = spec.commandLine().getOut();
        var err = spec.commandLine().getErr();
        if (maxNewTokens < 0) throw new BadInputException("--max-new-tokens must be >= 0");
        if (temperature < 0) throw new BadInputException("--temperature must be >= 0");
        if (topP <= 0 || topP > 1) throw new BadInputException("--top-p must be in (0, 1]");
        if (minP < 0 || minP >= 1) throw new BadInputException("--min-p must be in [0, 1)");
        if (repeatPenalty <= 0) throw new BadInputException("--repeat-penalty must be > 0");
        if (topK < 0) throw new BadInputException("--top-k must be >= 0");
        try (MoeModel m = Engines.load(modelOption.dir, backend.name, err)) {
            int vocab = m.config().vocabSize();
            Tokenizer tok = prompt.text != null || tokenizerOption.file != null
                    ? Engines.tokenizer(modelOption.dir, tokenizerOption.file) : null;
            if (prompt.text != null && tok == null) {
                throw new BadInputException("--prompt needs a tokenizer: " + modelOption.dir
                        + " has no tokenizer.json; give --tokenizer");
            }
            int[] ids;
            if (prompt.text != null) {
                if (prompt.text.isEmpty()) throw new BadInputException("--prompt is empty");
                ids = tok.encodeIds(prompt.text);
                if (ids.length == 0) throw new BadInputException("--prompt encodes to no tokens");
            } else {
                ids = Engines.parseTokenList(prompt.tokens, vocab);
            }
            int context = m.config().maxPositionEmbeddings();
            if (ids.length >= context) {
                throw new BadInputException("prompt of " + ids.length + " tokens does not fit the context of " + context);
            }
            int maxNew = Math.min(maxNewTokens, context - ids.length);
            // Rows beyond the tokenizer's vocabulary are padding of the embedding matrix: never sample them.
            int valid = tok == null ? vocab : Math.min(vocab, tok.vocabSize());
            Sampler sampler = new Sampler(temperature, topK, topP, minP, repeatPenalty, valid, new SplittableRandom(seed));
            Integer eos = m.config().eosTokenId();
            if (eos == null && tok != null && tok.eosTokenId().isPresent()) eos = tok.eosTokenId().getAsInt();
            final Integer stopId = eos;
            IntPredicate stop = stopId == null ? null : id -> id == stopId;
            // The routes of the forward calls that chose the tokens: the prompt's prefill, then each decode step.
            SequenceRoutes recorded = routes != null ? new SequenceRoutes(m.config()) : null;
            Generation.Result r;
            if (prompt.text != null) {
                StreamingDecoder dec = tok.streamingDecoder(true);
                r = Generation.generate(m, ids, maxNew, sampler, stop, id -> {
                    out.print(dec.next(id));
                    out.flush();
                }, recorded);
                out.println(dec.finish());
            } else {
                r = Generation.generate(m, ids, maxNew, sampler, stop, null, recorded);
                out.println(Arrays.toString(r.tokens()).replace(" ", ""));
            }
            int decoded = Math.max(0, r.tokens().length - 1);
            err.printf(Locale.ROOT, "prefill %d tokens in %.3f s (%.1f tok/s), time to first token %.3f s; decode %d tokens "
                            + "in %.3f s (%.1f tok/s)%n", r.promptTokens(), r.prefillSeconds(),
                    r.promptTokens() / Math.max(1e-9, r.prefillSeconds()), r.timeToFirstToken(), decoded,
                    r.decodeSeconds(), decoded / Math.max(1e-9, r.decodeSeconds()));
            if (routes != null) {
                int[] all = Arrays.copyOf(ids, ids.length + r.tokens().length);
                System.arraycopy(r.tokens(), 0, all, ids.length, r.tokens().length);
                Map<String, String> meta = new LinkedHashMap<>();
                meta.put("moescope_version", Main.VERSION);
                meta.put("model_path", modelOption.dir.toString());
                meta.put("data_path", "-");
                meta.put("generated_from", Integer.toString(ids.length));
                Tracer.writeSequence(m, new Sample("generated", null, all, 1), recorded, r.nll(), routes, meta);
                err.println("routes written to " + routes);
            }
        }
        return 0;
    }
}
