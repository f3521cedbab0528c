package org.moescope.benchmarks;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.moescope.checkpoint.Checkpoint;
import org.moescope.kernels.VectorKernels;
import org.moescope.model.Generation;
import org.moescope.model.ModelConfig;
import org.moescope.model.MoeTransformer;
import org.moescope.model.Sampler;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.SplittableRandom;

/**
 * Decode as a fraction of the machine's memory read bandwidth, the two measured in alternation: probe, decode,
 * probe, decode, ... Decode reads every weight it uses once per token, so its bytes per second over the bandwidth
 * the machine gives a plain C reader is how close it is to its roofline.
 *
 * <p>Why alternate: on the shared VM this project is benchmarked on, the bandwidth a probe reads moves by 20-30%
 * within minutes, so a probe run before a benchmark says little about the minute the benchmark ran in. Each decode
 * burst is divided by the probe bursts on either side of it (their mean, and separately their best repeat), and the
 * medians of those ratios are reported.
 *
 * <p>The probe is tools/bench/bandwidth.c (plain C, AVX2 loads, `threads` threads), run as a child process for each
 * burst: `PROBE threads 512 5` reads a fresh 512 MiB buffer five times. Bytes per token are those of the checkpoint's
 * tensors one step reads: all of attention, the routers, the final norm and lm_head, and top-k / experts of the
 * expert tensors (one embedding row is left out). The same count as tools/bench/summarize.py's.
 *
 * <p>Usage: java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Dmoescope.threads=T -cp
 * benchmarks.jar org.moescope.benchmarks.DecodeEfficiency MODEL_DIR PROBE [pairs]; prints JSON.
 */
public final class DecodeEfficiency {
    /** Each decode burst decodes at least this long (new prompts as needed). */
    private static final double DECODE_BURST_SECONDS = 0.4;
    private static final int PROMPT_TOKENS = 16;
    private static final int TOKENS_PER_GENERATION = 32;

    private DecodeEfficiency() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: DecodeEfficiency MODEL_DIR PROBE [pairs]");
            System.exit(2);
        }
        Path dir = Path.of(args[0]);
        String probe = args[1];
        int pairs = args.length > 2 ? Integer.parseInt(args[2]) : 15;
        VectorKernels kernels = new VectorKernels();
        int threads = kernels.threads();
        ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        try (MoeTransformer model = MoeTransformer.load(dir, kernels)) {
            long bytesPerToken = bytesPerToken(model.checkpoint(), model.config());
            SplittableRandom random = new SplittableRandom(1);
            // Warm-up: C2 compiles the decode kernels within about 2 s.
            long until = System.nanoTime() + 3_000_000_000L;
            while (System.nanoTime() < until) {
                decode(model, random);
            }
            double[] best = new double[pairs + 1], mean = new double[pairs + 1];
            double[] decode = new double[pairs], ofMean = new double[pairs], ofBest = new double[pairs];
            probe(json, probe, threads, best, mean, 0);
            for (int i = 0; i < pairs; i++) {
                decode[i] = decodeBurst(model, random) * bytesPerToken / 1e9;
                probe(json, probe, threads, best, mean, i + 1);
                ofMean[i] = decode[i] / ((mean[i] + mean[i + 1]) / 2);
                ofBest[i] = decode[i] / Math.max(best[i], best[i + 1]);
            }
            ObjectNode r = json.createObjectNode();
            r.put("model", dir.toString());
            r.put("threads", threads);
            r.put("pairs", pairs);
            r.put("weight_bytes_per_token", bytesPerToken);
            r.put("decode_gb_per_s_median", KernelEfficiency.median(decode));
            r.put("decode_tokens_per_s_median", KernelEfficiency.median(decode) * 1e9 / bytesPerToken);
            r.put("probe_mean_gb_per_s_median", KernelEfficiency.median(mean));
            r.put("probe_best_gb_per_s_median", KernelEfficiency.median(best));
            r.put("fraction_of_probe_mean_median", KernelEfficiency.median(ofMean));
            r.put("fraction_of_probe_mean_q1", KernelEfficiency.quantile(ofMean, 0.25));
            r.put("fraction_of_probe_mean_q3", KernelEfficiency.quantile(ofMean, 0.75));
            r.put("fraction_of_probe_best_median", KernelEfficiency.median(ofBest));
            r.put("fraction_of_probe_best_q1", KernelEfficiency.quantile(ofBest, 0.25));
            r.put("fraction_of_probe_best_q3", KernelEfficiency.quantile(ofBest, 0.75));
            System.err.printf("%s: decode %.1f GB/s (%.1f tok/s); probe mean %.1f, best %.1f GB/s; decode / probe mean "
                            + "%.2f (q1 %.2f, q3 %.2f), / probe best %.2f (q1 %.2f, q3 %.2f)%n", dir.getFileName(),
                    KernelEfficiency.median(decode), r.get("decode_tokens_per_s_median").asDouble(),
                    KernelEfficiency.median(mean), KernelEfficiency.median(best), KernelEfficiency.median(ofMean),
                    KernelEfficiency.quantile(ofMean, 0.25), KernelEfficiency.quantile(ofMean, 0.75),
                    KernelEfficiency.median(ofBest), KernelEfficiency.quantile(ofBest, 0.25),
                    KernelEfficiency.quantile(ofBest, 0.75));
            System.out.println(json.writeValueAsString(r));
        }
    }

    /**
     * Bytes of the checkpoint's tensors one decode step reads. Routed expert tensors (per expert or packed, as the
     * family stores them) count top-k / experts of their size, the embedding table none (one row of it is read) unless lm_head is tied to it.
     */
    static long bytesPerToken(Checkpoint checkpoint, ModelConfig config) {
        double bytes = 0;
        double expertShare = (double) config.numExpertsPerTok() / config.numExperts();
        for (String name : checkpoint.tensorNames()) {
            long size = checkpoint.info(name).byteSize();
            if (name.contains("embed_tokens") && !config.tieWordEmbeddings()) continue; // tied: it is lm_head too
            bytes += config.isRoutedExpertTensor(name) ? size * expertShare : size;
        }
        return Math.round(bytes);
    }

    /** One generation: a random prompt, then greedy tokens. Returns it for its token count and decode time. */
    private static Generation.Result decode(MoeTransformer model, SplittableRandom random) {
        int[] prompt = new int[PROMPT_TOKENS];
        for (int i = 0; i < prompt.length; i++) prompt[i] = random.nextInt(model.config().vocabSize());
        return Generation.generate(model, prompt, TOKENS_PER_GENERATION, Sampler.greedy(model.config().vocabSize()),
                null, null, null);
    }

    /** Decode tokens per second over generations lasting at least DECODE_BURST_SECONDS of decode time. */
    private static double decodeBurst(MoeTransformer model, SplittableRandom random) {
        double seconds = 0;
        long tokens = 0;
        while (seconds < DECODE_BURST_SECONDS) {
            Generation.Result g = decode(model, random);
            seconds += g.decodeSeconds();
            tokens += g.tokens().length - 1;
        }
        return tokens / seconds;
    }

    /** Runs the bandwidth probe once; stores its best and mean GB/s at index i. */
    private static void probe(ObjectMapper json, String probe, int threads, double[] best, double[] mean, int i)
            throws IOException, InterruptedException {
        Process p = new ProcessBuilder(probe, Integer.toString(threads), "512", "5")
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) throw new IOException(probe + " exited with " + p.exitValue());
        JsonNode r = json.readTree(out);
        best[i] = r.get("best_gb_per_s").asDouble();
        mean[i] = r.get("mean_gb_per_s").asDouble();
    }
}
