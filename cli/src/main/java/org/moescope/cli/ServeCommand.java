package org.moescope.cli;

import org.moescope.chat.ChatConfig;
import org.moescope.errors.BadInputException;
import org.moescope.kernels.VectorKernels;
import org.moescope.model.MoeTransformer;
import org.moescope.serve.OpenAiServer;
import org.moescope.tokenizer.Tokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

/** {@code moescope serve}: the OpenAI HTTP API with continuous batching (org.moescope.serve; docs/serve.md). */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = {"Serves the model over OpenAI's HTTP API: /v1/models, /v1/completions, /v1/chat/completions "
                + "(streamed or not; \"moescope\": {\"routes\": true} adds each token's experts and weights), /health, "
                + "/metrics. Concurrent requests share each forward step (continuous batching) on the CPU.",
                "SIGTERM (or Ctrl-C) stops admitting, lets running requests finish for --grace-seconds, then ends "
                        + "the rest."})
public final class ServeCommand implements Callable<Integer> {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Mixin
    ModelOptions.Model modelOption;

    @Mixin
    ModelOptions.TokenizerFile tokenizerOption;

    @Option(names = "--host", defaultValue = "127.0.0.1", description = "Address to bind (default: ${DEFAULT-VALUE}, "
            + "this machine only).")
    String host;

    @Option(names = "--port", defaultValue = "8080", description = "TCP port; 0 picks a free one (default: "
            + "${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--api-key", paramLabel = "KEY", description = "Requests to /v1 must send Authorization: Bearer KEY.")
    String apiKey;

    @Option(names = "--max-sessions", defaultValue = "8", description = "Sequences of the full --context the KV cache "
            + "holds: its budget is max-sessions x context rows; shorter requests share it (default: ${DEFAULT-VALUE}).")
    int maxSessions;

    @Option(names = "--context", description = "The longest sequence, prompt + completion (default: the smaller of "
            + "max_position_embeddings and 4096).")
    Integer context;

    @Option(names = "--step-tokens", defaultValue = "256", description = "Tokens per forward step: the running "
            + "sequences' next tokens, then chunks of new prompts (default: ${DEFAULT-VALUE}).")
    int stepTokens;

    @Option(names = "--max-body-bytes", defaultValue = "1048576", description = "Larger request bodies get 413 "
            + "(default: ${DEFAULT-VALUE}).")
    int maxBodyBytes;

    @Option(names = "--grace-seconds", defaultValue = "10", description = "On SIGTERM, how long running requests may "
            + "finish (default: ${DEFAULT-VALUE}).")
    int graceSeconds;

    @Override
    public Integer call() throws InterruptedException {
        PrintWriter err = spec.commandLine().getErr();
        if (port < 0 || port > 65535) throw new BadInputException("--port must be in [0, 65535]");
        if (maxSessions < 1) throw new BadInputException("--max-sessions must be >= 1");
        if (stepTokens < 1) throw new BadInputException("--step-tokens must be >= 1");
        if (maxBodyBytes < 1024) throw new BadInputException("--max-body-bytes must be >= 1024");
        if (graceSeconds < 0) throw new BadInputException("--grace-seconds must be >= 0");
        if (apiKey != null && apiKey.isBlank()) throw new BadInputException("--api-key must not be empty");
        Tokenizer tok = Engines.tokenizer(modelOption.dir, tokenizerOption.file);
        if (tok == null) throw new BadInputException(Engines.noTokenizer(modelOption.dir));
        OpenAiServer.Chat chat = null;
        MoeTransformer model = MoeTransformer.load(modelOption.dir, VectorKernels.batchInvariant());
        try {
            int ctx = context != null ? context : Math.min(4096, model.config().maxPositionEmbeddings());
            if (ctx < 2 || ctx > model.config().maxPositionEmbeddings()) {
                throw new BadInputException("--context must be in [2, " + model.config().maxPositionEmbeddings()
                        + "] (max_position_embeddings)");
            }
            if ((long) maxSessions * ctx > Integer.MAX_VALUE / Math.max(1, model.config().kvDim())) {
                throw new BadInputException("--max-sessions x --context is too large a KV cache");
            }
            if (ChatSetup.hasChatFiles(modelOption.dir)) {
                ChatConfig cfg = ChatSetup.config(modelOption.dir, tokenizerOption.file);
                Set<Integer> stops = new HashSet<>(ChatSetup.stopIds(modelOption.dir, model.config(), cfg, tok));
                chat = new OpenAiServer.Chat(cfg.template(false), cfg.specialTokens(), stops);
            } else if (model.config().eosTokenId() != null) {
                chat = new OpenAiServer.Chat(null, java.util.Map.of(), Set.of(model.config().eosTokenId()));
            }
            String id = modelOption.dir.toAbsolutePath().normalize().getFileName().toString();
            OpenAiServer server;
            try {
                server = OpenAiServer.start(model, tok, chat, new OpenAiServer.Options(host, port, id, apiKey,
                        maxSessions, ctx, stepTokens, maxBodyBytes, 64));
            } catch (IOException e) {
                throw new BadInputException("cannot listen on " + host + ":" + port + ": " + e.getMessage());
            }
            CountDownLatch stopped = new CountDownLatch(1);
            Thread hook = new Thread(() -> {
                err.println("moescope serve: stopping (up to " + graceSeconds + " s for running requests)");
                err.flush();
                server.shutdown(graceSeconds * 1000L);
                stopped.countDown();
            });
            Runtime.getRuntime().addShutdownHook(hook);
            err.println("moescope serve: " + id + " (context " + ctx + ", KV cache " + maxSessions + " x " + ctx
                    + " tokens" + (chat == null || chat.template() == null ? ", no chat template" : "") + ")");
            spec.commandLine().getOut().println(server.uri() + "/v1");
            spec.commandLine().getOut().flush();
            err.flush();
            stopped.await(); // the model stays mapped until the JVM exits: the shutdown hook's last steps use it
            return 0;
        } catch (UncheckedIOException e) {
            throw new BadInputException(e.getMessage());
        }
    }
}
