package org.moescope.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.moescope.errors.BadInputException;
import org.moescope.model.Generation;
import org.moescope.model.MoeModel;
import org.moescope.model.Sampler;
import org.moescope.trace.Sample;
import org.moescope.trace.Tracer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;

/**
 * {@code moescope bench}: end-to-end speed of one checkpoint on this machine — load time, prefill of random samples
 * (as trace runs it, routes recorded, or as generate does, last-position logits only), decode, time to first token, memory. Prints JSON. Numbers here are for
 * comparing runs made in the same session; nothing is asserted.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Measure load time, prefill (as trace or as generate runs it) and decode tokens/s, time to first "
                + "token and memory.")
public final class BenchCommand implements Callable<Integer> {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Mixin
    ModelOptions.Model modelOption;

    @Option(names = "--samples", defaultValue = "8", description = "Prefill samples (default: ${DEFAULT-VALUE}).")
    int samples;

    @Option(names = "--sample-tokens", defaultValue = "128", description = "Tokens per prefill sample (default: ${DEFAULT-VALUE}).")
    int sampleTokens;

    @Option(names = "--prompt-tokens", defaultValue = "16", description = "Decode prompt length (default: ${DEFAULT-VALUE}).")
    int promptTokens;

    @Option(names = "--decode-tokens", defaultValue = "32", description = "Tokens to decode (default: ${DEFAULT-VALUE}).")
    int decodeTokens;

    @Mixin
    ModelOptions.BatchTokens batchTokens;

    /** What to time. One phase per process is how a whole-process time compares with another tool's process. */
    enum Phase { prefill, decode }

    @Option(names = "--phases", split = ",", defaultValue = "prefill,decode",
            description = "Phases to run, comma-separated: prefill, decode (default: ${DEFAULT-VALUE}).")
    EnumSet<Phase> phases;

    /**
     * How prefill runs: as trace runs it (samples batched, routes recorded, logits at every position for the loss), or
     * as generate does (each sample one prompt in its own session, logits of the last position only, no routes), which
     * is what a comparison with another engine's prompt processing for generation measures.
     */
    enum PrefillMode { trace, generate }

    @Option(names = "--prefill-mode", defaultValue = "trace",
            description = "trace: samples batched, routes recorded, logits at every position; generate: each sample a "
                    + "prompt of its own, logits of the last position only (default: ${DEFAULT-VALUE}).")
    PrefillMode prefillMode;

    @Option(names = "--warmup", defaultValue = "1", description = "Untimed warm-up rounds (JIT) before timing; a round decodes for at least 2 s (default: ${DEFAULT-VALUE}).")
    int warmup;

    @Option(names = "--seed", defaultValue = "1", description = "Seed of the random token ids.")
    long seed;

    @Mixin
    ModelOptions.Backend backend;

    /** Prefills the samples in --prefill-mode; returns {tokens, seconds}. */
    private double[] prefill(MoeModel m, List<Sample> samples, Path routes, Tracer.Options opts) {
        if (prefillMode == PrefillMode.trace) {
            Tracer.Result r = Tracer.trace(m, samples, routes, Map.of(), opts, null);
            return new double[] {r.tokens(), r.seconds()};
        }
        long tokens = 0;
        double seconds = 0;
        for (Sample s : samples) {
            // One new token: the prompt's forward pass with last-position logits and the greedy choice, as generate.
            seconds += Generation.generate(m, s.ids(), 1, Sampler.greedy(m.config().vocabSize()), null, null, null)
                    .prefillSeconds();
            tokens += s.ids().length;
        }
        return new double[] {tokens, seconds};
    }

    @Override
    public Integer call() throws IOException {
        if (samples < 1 || sampleTokens < 2 || decodeTokens < 1 || promptTokens < 1 || warmup < 0) {
            throw new BadInputException("--samples, --decode-tokens, --prompt-tokens must be >= 1, --sample-tokens >= 2, --warmup >= 0");
        }
        Integer tokensPerCall = batchTokens.checked();
        if (phases.isEmpty()) {
            throw new BadInputException("--phases: name at least one of prefill, decode");
        }
        var err = spec.commandLine().getErr();
        long t0 = System.nanoTime();
        try (MoeModel m = Engines.load(modelOption.dir, backend.name, err)) {
            double loadSeconds = (System.nanoTime() - t0) / 1e9;
            Tracer.Options prefillOpts = new Tracer.Options(false, false, false, tokensPerCall);
            int vocab = m.config().vocabSize();
            SplittableRandom rnd = new SplittableRandom(seed);
            List<Sample> batch = new ArrayList<>();
            for (int i = 0; i < samples; i++) {
                batch.add(new Sample("s" + i, null, rnd.ints(sampleTokens, 0, vocab).toArray(), 1));
            }
            int[] prompt = rnd.ints(promptTokens, 0, vocab).toArray();
            Path tmp = Files.createTempFile("moescope-bench", ".safetensors");
            try {
                boolean doPrefill = phases.contains(Phase.prefill), doDecode = phases.contains(Phase.decode);
                for (int w = 0; w < warmup; w++) {
                    err.println("bench: warm-up round " + (w + 1));
                    if (doPrefill) {
                        prefill(m, batch.subList(0, Math.min(2, samples)), tmp, prefillOpts);
                    }
                    if (doDecode) {
                        // Decode until 2 s have passed: C2 needs about that long for the decode kernels, and a
                        // decode-only process warmed up with 4 tokens (or one 32-token decode) timed them half
                        // compiled (mini: 47-65 instead of 75-84 tok/s).
                        long until = System.nanoTime() + 2_000_000_000L;
                        do {
                            Generation.generate(m, prompt, decodeTokens, Sampler.greedy(vocab), null, null, null);
                        } while (System.nanoTime() < until);
                    }
                }
                double[] prefill = null; // tokens, seconds
                if (doPrefill) {
                    err.println("bench: prefill " + samples + " x " + sampleTokens + " tokens "
                            + (prefillMode == PrefillMode.trace ? "with routes recorded" : "as generate's prompts"));
                    prefill = prefill(m, batch, tmp, prefillOpts);
                }
                Generation.Result gen = null;
                long allocated = 0;
                if (doDecode) {
                    err.println("bench: decode " + decodeTokens + " tokens");
                    long a0 = allocatedBytes();
                    gen = Generation.generate(m, prompt, decodeTokens, Sampler.greedy(vocab), null, null, null);
                    allocated = allocatedBytes() - a0;
                }
                ObjectNode j = new ObjectMapper().createObjectNode();
                j.put("model", modelOption.dir.toString());
                j.put("dtype", m.weightStorage()); // what the experts are stored in, not config.json's dtype
                j.put("backend", m.backend());
                j.put("threads", Runtime.getRuntime().availableProcessors());
                j.put("batch_tokens", prefillOpts.tokensPerCall(m.config()));
                j.put("load_seconds", loadSeconds);
                if (prefill != null) {
                    j.put("prefill_mode", prefillMode.name());
                    j.put("prefill_tokens", (long) prefill[0]);
                    j.put("prefill_seconds", prefill[1]);
                    j.put("prefill_tokens_per_second", prefill[0] / prefill[1]);
                }
                if (gen != null) {
                    j.put("time_to_first_token_seconds", gen.timeToFirstToken());
                    int decoded = gen.tokens().length - 1;
                    j.put("decode_tokens", decoded);
                    j.put("decode_tokens_per_second", decoded / Math.max(1e-9, gen.decodeSeconds()));
                    // Java heap allocated by all threads during the generate call (prompt included), per token: near 0
                    // once C2 has compiled the kernels; thousands of bytes mean a kernel runs boxed vectors (a method
                    // C2 did not inline), the usual reason for a slow decode.
                    j.put("decode_allocated_bytes_per_token", allocated / Math.max(1, gen.tokens().length));
                }
                Map<String, Long> mem = ProcMemory.read();
                j.put("peak_rss_bytes", mem.getOrDefault("VmHWM", -1L));
                j.put("rss_anon_bytes", mem.getOrDefault("RssAnon", -1L));
                j.put("rss_file_bytes", mem.getOrDefault("RssFile", -1L));
                j.put("jvm_uptime_seconds", ManagementFactory.getRuntimeMXBean().getUptime() / 1e3);
                spec.commandLine().getOut().println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
                        .writeValueAsString(j));
            } finally {
                Files.deleteIfExists(tmp);
            }
        }
        return 0;
    }

    /** Heap bytes allocated so far by all live threads (HotSpot's ThreadMXBean), or 0 where the JVM does not say. */
    private static long allocatedBytes() {
        return ManagementFactory.getThreadMXBean() instanceof com.sun.management.ThreadMXBean t
                && t.isThreadAllocatedMemorySupported() && t.isThreadAllocatedMemoryEnabled()
                ? t.getTotalThreadAllocatedBytes() : 0;
    }
}
