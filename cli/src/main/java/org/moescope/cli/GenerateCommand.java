package org.moescope.cli;

import org.moescope.chat.ChatConfig;
import org.moescope.chat.ChatMessages;
import org.moescope.chat.ChatTemplate;
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
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.function.IntPredicate;

/** {@code moescope generate}: continue a prompt (or answer a chat once), streaming text (or ids) as tokens are chosen. */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Continue a prompt (or answer a conversation once with --chat) with greedy decoding or sampling; "
                + "streams the new text as it is produced.")
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

        @Option(names = "--chat", paramLabel = "FILE", description = "A conversation (JSON list of {\"role\", "
                + "\"content\"} messages) rendered through the model's chat template with the assistant's generation "
                + "prompt; prints the reply, ending at the end-of-turn token.")
        Path chat;
    }

    @Mixin
    ModelOptions.TokenizerFile tokenizerOption;

    @Option(names = "--max-new-tokens", defaultValue = "64", description = "Default: ${DEFAULT-VALUE}.")
    int maxNewTokens;

    @Mixin
    SamplingOptions sampling;

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
        sampling.check();
        boolean text = prompt.text != null || prompt.chat != null;
        // A chat file is read and its template found before the model loads: bad input fails fast.
        List<Object> chatMessages = prompt.chat != null ? ChatMessages.load(prompt.chat) : null;
        ChatConfig chat = prompt.chat != null ? ChatSetup.config(modelOption.dir, tokenizerOption.file) : null;
        ChatTemplate chatTemplate = chat != null ? chat.template(false) : null;
        try (MoeModel m = Engines.load(modelOption.dir, backend.name, err)) {
            int vocab = m.config().vocabSize();
            Tokenizer tok = text || tokenizerOption.file != null
                    ? Engines.tokenizer(modelOption.dir, tokenizerOption.file) : null;
            if (text && tok == null) {
                throw new BadInputException((prompt.chat != null ? "--chat" : "--prompt") + " needs a tokenizer: "
                        + Engines.noTokenizer(modelOption.dir));
            }
            int[] ids;
            if (chatTemplate != null) {
                // As transformers' apply_chat_template(messages, add_generation_prompt=True, tokenize=True).
                String rendered = chatTemplate.apply(chatMessages, null, true, chat.specialTokens(), Map.of());
                ids = tok.encodeIds(rendered);
                if (ids.length == 0) throw new BadInputException("--chat " + prompt.chat + " renders to no tokens");
            } else if (prompt.text != null) {
                if (prompt.text.isEmpty()) throw new BadInputException("--prompt is empty");
                ids = tok.encodeIds(prompt.text, true); // with the template's BOS, as HF's tokenizer(text) does
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
            Sampler sampler = sampling.sampler(valid);
            IntPredicate stop;
            if (chat != null) {
                // A chat reply ends at the end-of-turn token the template uses (e.g. <|im_end|>), not only at EOS.
                Set<Integer> stops = new HashSet<>(ChatSetup.stopIds(modelOption.dir, m.config(), chat, tok));
                stop = stops.isEmpty() ? null : stops::contains;
            } else {
                Integer eos = m.config().eosTokenId();
                if (eos == null && tok != null && tok.eosTokenId().isPresent()) eos = tok.eosTokenId().getAsInt();
                final Integer stopId = eos;
                stop = stopId == null ? null : id -> id == stopId;
            }
            // The routes of the forward calls that chose the tokens: the prompt's prefill, then each decode step.
            SequenceRoutes recorded = routes != null ? new SequenceRoutes(m.config()) : null;
            Generation.Result r;
            if (text) {
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
