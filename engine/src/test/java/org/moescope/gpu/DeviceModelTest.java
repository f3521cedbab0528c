package org.moescope.gpu;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.moescope.backend.BackendStartupException;
import org.moescope.gpu.JvmRunner.ThreadOrder;
import org.moescope.kernels.ScalarKernels;
import org.moescope.model.Fixtures;
import org.moescope.model.MoeModel;
import org.moescope.model.Architectures;
import org.moescope.model.ModelConfig;
import org.moescope.model.MoeTransformer;
import org.moescope.model.RouteCapture;
import org.moescope.safetensors.DType;
import org.moescope.safetensors.Numbers;
import org.moescope.safetensors.SafetensorsFile;
import org.moescope.weights.Convert;
import org.moescope.weights.Init;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The device kernels, run on the JVM by JvmRunner, against HF's golden outputs and the CPU model. */
class DeviceModelTest {
    static DeviceModel jvm(String name, int tokens, int cacheRows) {
        return jvm(Fixtures.model(name), tokens, cacheRows, ThreadOrder.FORWARD);
    }

    static DeviceModel jvm(Path dir, int tokens, int cacheRows, ThreadOrder order) {
        return DeviceModel.load(dir, tokens, cacheRows, (c, w, s) -> new JvmRunner(c, w, s, order, 42));
    }

    static void assertClose(float[] expected, float[] actual, float tol, String what) {
        assertEquals(expected.length, actual.length, what + " length");
        float worst = 0f;
        for (int i = 0; i < expected.length; i++) {
            worst = Math.max(worst, Math.abs(expected[i] - actual[i]));
        }
        assertTrue(worst <= tol, what + ": max |diff| " + worst + " > " + tol);
    }

    @Test
    void halfWideningIsExactForEveryFiniteBitPattern() {
        float[] bf = DeviceKernels.exponentTable(DeviceKernels.BF16);
        float[] f16 = DeviceKernels.exponentTable(DeviceKernels.F16);
        for (int b = 0; b < 65536; b++) {
            short bits = (short) b;
            float ref = Numbers.bf16ToFloat(bits);
            if (Float.isFinite(ref)) {
                assertEquals(ref, DeviceKernels.half(bits, DeviceKernels.BF16, bf), 0f, "bf16 0x" + Integer.toHexString(b));
            }
            float ref16 = Float.float16ToFloat(bits);
            if (Float.isFinite(ref16)) {
                assertEquals(ref16, DeviceKernels.half(bits, DeviceKernels.F16, f16), 0f, "f16 0x" + Integer.toHexString(b));
            }
        }
    }

    /**
     * HF's logits, router logits and top-k on the fixtures; chunks of 3 tokens exercise the chunked path too. A GPU
     * runs the threads of a task in no fixed order, so they also run reversed and shuffled here.
     */
    @ParameterizedTest
    @CsvSource({"tiny-f32, FORWARD", "tiny-gqa-f32, FORWARD", "tiny-bf16, FORWARD", "tiny-f32, SHUFFLED",
            "tiny-gqa-f32, SHUFFLED", "tiny-bf16, SHUFFLED", "tiny-gqa-f32, REVERSE"})
    void matchesHfGolden(String name, ThreadOrder order) {
        for (int chunk : new int[] {64, 3}) {
            try (DeviceModel model = jvm(Fixtures.model(name), chunk, 128, order);
                 SafetensorsFile golden = SafetensorsFile.open(Fixtures.model(name).resolve("golden.safetensors"))) {
                ModelConfig c = model.config();
                long[] shape = golden.info("input_ids").shape();
                int B = (int) shape[0], S = (int) shape[1], V = c.vocabSize();
                int[] ids = golden.readInts("input_ids");
                float[] logits = golden.readFloats("logits");
                float[] routerLogits = golden.readFloats("router_logits");
                int[] topk = golden.readInts("topk_ids");
                float[] topkWeights = golden.readFloats("topk_weights");
                int tk = c.numHiddenLayers() * c.numExpertsPerTok();
                int rl = c.numHiddenLayers() * c.numExperts();
                for (int b = 0; b < B; b++) {
                    int[] seq = Arrays.copyOfRange(ids, b * S, (b + 1) * S);
                    RouteCapture r = new RouteCapture(S, c);
                    float[] out = model.forward(model.newSession(S), seq, MoeModel.Logits.ALL, r);
                    String what = name + " " + order + " chunk " + chunk + " seq " + b;
                    assertClose(Arrays.copyOfRange(logits, b * S * V, (b + 1) * S * V), out, 1e-4f, what + " logits");
                    assertClose(Arrays.copyOfRange(routerLogits, b * S * rl, (b + 1) * S * rl), r.routerLogits, 1e-4f,
                            what + " router logits");
                    assertArrayEquals(Arrays.copyOfRange(topk, b * S * tk, (b + 1) * S * tk), r.topkIds, what + " top-k");
                    assertClose(Arrays.copyOfRange(topkWeights, b * S * tk, (b + 1) * S * tk), r.topkWeights, 1e-5f,
                            what + " top-k weights");
                }
            }
        }
    }

    /** Decoding token by token reads the KV cache the earlier calls left on the "device". */
    @Test
    void decodeStepsMatchTheCpuModel() {
        int[] seq = {3, 17, 42, 5, 99, 150, 7, 61, 8};
        try (DeviceModel dev = jvm("tiny-bf16", 4, 16);
             MoeTransformer cpu = MoeTransformer.load(Fixtures.model("tiny-bf16"), new ScalarKernels())) {
            MoeModel.Session ds = dev.newSession(seq.length);
            MoeModel.Session cs = cpu.newSession(seq.length);
            assertClose(cpu.forward(cs, Arrays.copyOf(seq, 5), MoeModel.Logits.LAST, null),
                    dev.forward(ds, Arrays.copyOf(seq, 5), MoeModel.Logits.LAST, null), 1e-4f, "prompt");
            for (int t = 5; t < seq.length; t++) {
                RouteCapture rd = new RouteCapture(1, cpu.config());
                RouteCapture rc = new RouteCapture(1, cpu.config());
                float[] d = dev.forward(ds, new int[] {seq[t]}, MoeModel.Logits.LAST, rd);
                float[] e = cpu.forward(cs, new int[] {seq[t]}, MoeModel.Logits.LAST, rc);
                assertClose(e, d, 1e-4f, "step " + t);
                assertArrayEquals(rc.topkIds, rd.topkIds, "step " + t + " top-k");
                assertClose(rc.probs, rd.probs, 1e-5f, "step " + t + " probs");
            }
            assertEquals(seq.length, ds.length());
        }
    }

    /** Independent sequences, also when they overflow the cache and later ones reuse its rows. */
    @ParameterizedTest
    @ValueSource(ints = {64, 12})
    void prefillBatchMatchesTheCpuModel(int cacheRows) {
        int[][] seqs = {{1, 2, 3, 4, 5, 6, 7}, {9, 8, 7}, {100, 101, 102, 103, 104, 105}, {44}};
        int T = Arrays.stream(seqs).mapToInt(a -> a.length).sum();
        int[] rows = {0, 6, 7, 9, 15, T - 1};
        try (DeviceModel dev = jvm("tiny-gqa-f32", 5, cacheRows);
             MoeTransformer cpu = MoeTransformer.load(Fixtures.model("tiny-gqa-f32"), new ScalarKernels())) {
            RouteCapture rd = new RouteCapture(T, cpu.config());
            RouteCapture rc = new RouteCapture(T, cpu.config());
            float[] d = dev.prefillBatch(seqs, rows, rd);
            float[] e = cpu.prefillBatch(seqs, rows, rc);
            assertClose(e, d, 1e-4f, "logits");
            assertArrayEquals(rc.topkIds, rd.topkIds, "top-k ids");
            assertClose(rc.topkWeights, rd.topkWeights, 1e-5f, "top-k weights");
            assertClose(rc.probs, rd.probs, 1e-5f, "probs");
        }
    }

    @TempDir
    Path tmp;

    /**
     * A random bf16 checkpoint with the shape ratios of tools/bench/configs/olmoe-mini.json (32 experts, top-8, head
     * dim 64, ~0.02 weights) but small enough for the JVM, plus GQA: prefill, a chunked batch and decode steps, with
     * the threads of every task forward, reversed and shuffled. No thread may depend on another thread of its task,
     * so every order must give the same bits.
     */
    @Test
    void randomMiniMatchesTheCpuModelInEveryThreadOrder() throws Exception {
        JsonNode json = new ObjectMapper().readTree("""
                {"model_type": "olmoe", "vocab_size": 3000, "hidden_size": 256, "intermediate_size": 128,
                 "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "num_experts": 32,
                 "num_experts_per_tok": 8, "pad_token_id": 1, "initializer_range": 0.02,
                 "max_position_embeddings": 4096, "rms_norm_eps": 1e-5, "tie_word_embeddings": false,
                 "dtype": "bfloat16"}""");
        Path cfg = tmp.resolve("config.json");
        Files.writeString(cfg, json.toString());
        Path dir = tmp.resolve("mini");
        Init.run(Architectures.initPlan(json, cfg), json, DType.BF16, 1, 1L << 30, dir, false, 2);
        SplittableRandom rnd = new SplittableRandom(7);
        int[][] seqs = {rnd.ints(20, 0, 3000).toArray(), rnd.ints(11, 0, 3000).toArray()};
        int T = seqs[0].length + seqs[1].length;
        int[] rows = new int[T];
        for (int i = 0; i < T; i++) rows[i] = i;
        try (MoeTransformer cpu = MoeTransformer.load(dir, new ScalarKernels())) {
            ModelConfig c = cpu.config();
            RouteCapture cpuRoutes = new RouteCapture(T, c);
            float[] cpuBatch = cpu.prefillBatch(seqs, rows, cpuRoutes);
            int[] seq = seqs[0];
            int prompt = 12;
            MoeModel.Session cs = cpu.newSession(seq.length);
            int[] cpuIds = new int[(seq.length - prompt) * c.numHiddenLayers() * c.numExpertsPerTok()];
            float[] cpuDecode = decode(cpu, cs, seq, prompt, cpuIds);
            float[] forwardBatch = null, forwardDecode = null;
            for (ThreadOrder order : ThreadOrder.values()) {
                // Chunks of 8 tokens and the default 4096 cache rows: several chunks, cache rows shared in the batch.
                try (DeviceModel dev = jvm(dir, 8, 4096, order)) {
                    RouteCapture r = new RouteCapture(T, c);
                    float[] batch = dev.prefillBatch(seqs, rows, r);
                    assertClose(cpuBatch, batch, 1e-3f, order + " batch logits");
                    assertArrayEquals(cpuRoutes.topkIds, r.topkIds, order + " batch top-k");
                    int[] ids = new int[cpuIds.length];
                    float[] dec = decode(dev, dev.newSession(seq.length), seq, prompt, ids);
                    assertClose(cpuDecode, dec, 1e-3f, order + " decode logits");
                    assertArrayEquals(cpuIds, ids, order + " decode top-k");
                    if (forwardBatch == null) {
                        forwardBatch = batch;
                        forwardDecode = dec;
                    } else {
                        assertArrayEquals(forwardBatch, batch, order + " batch logits differ from forward order");
                        assertArrayEquals(forwardDecode, dec, order + " decode logits differ from forward order");
                    }
                }
            }
        }
    }

    /**
     * A prompt of the first `prompt` tokens, then one token a step: the logits of every call concatenated; ids gets
     * each step's top-k, (steps, layers, k).
     */
    private static float[] decode(MoeModel m, MoeModel.Session session, int[] seq, int prompt, int[] ids) {
        ModelConfig c = m.config();
        int V = c.vocabSize();
        int lk = c.numHiddenLayers() * c.numExpertsPerTok();
        float[] out = new float[(seq.length - prompt + 1) * V];
        System.arraycopy(m.forward(session, Arrays.copyOf(seq, prompt), MoeModel.Logits.LAST, null), 0, out, 0, V);
        for (int t = prompt; t < seq.length; t++) {
            RouteCapture r = new RouteCapture(1, c);
            float[] l = m.forward(session, new int[] {seq[t]}, MoeModel.Logits.LAST, r);
            System.arraycopy(l, 0, out, (t - prompt + 1) * V, V);
            System.arraycopy(r.topkIds, 0, ids, (t - prompt) * lk, lk);
        }
        return out;
    }

    @Test
    void oneSessionAtATime() {
        try (DeviceModel dev = jvm("tiny-f32", 8, 16)) {
            MoeModel.Session a = dev.newSession(4);
            dev.newSession(4);
            assertThrows(IllegalStateException.class, () -> dev.forward(a, new int[] {1}, MoeModel.Logits.LAST, null));
            assertThrows(org.moescope.errors.BadInputException.class, () -> dev.newSession(17));
        }
    }

    @Test
    void aQ8CheckpointIsABackendItCannotRunNotBadInput(@TempDir Path tmp) {
        // So that --backend auto falls back to the CPU (Backends), and --backend tornado says what to use instead.
        Path q8 = tmp.resolve("q8");
        Convert.runQ8(Fixtures.model("tiny-bf16"), q8, 1L << 30, false);
        var e = assertThrows(BackendStartupException.class,
                () -> jvm(q8, 4, 16, ThreadOrder.FORWARD));
        assertTrue(e.getMessage().contains("cannot run Q8_0 checkpoints") && e.getMessage().contains("--backend cpu"),
                e.getMessage());
    }

    @Test
    void aGgufFileWithBlockQuantisedWeightsIsABackendItCannotRun(@TempDir Path tmp) {
        Path gguf = tmp.resolve("tiny.q8_0.gguf");
        org.moescope.weights.GgufConvert.toGguf(Fixtures.model("tiny-bf16"), gguf, "q8_0", false);
        var e = assertThrows(BackendStartupException.class, () -> jvm(gguf, 4, 16, ThreadOrder.FORWARD));
        assertTrue(e.getMessage().contains("(GGUF block-quantised weights;") && e.getMessage().contains("--backend cpu"),
                e.getMessage());
    }

    @Test
    void aFamilyTheDeviceKernelsLackIsABackendItCannotRunNamingWhatIsMissing() {
        String[][] cases = {{"flex-olmo-f32", "post-norm blocks"}, {"qwen3-moe-f32", "per-head q/k norm"},
                {"qwen2-moe-f32", "no q/k norm"}, {"mixtral-f32", "no q/k norm"}, {"granitemoe-f32", "no q/k norm"},
                {"phimoe-f32", "LayerNorm"}, {"deepseek-v2-f32", "multi-head latent attention"},
                {"deepseek-v3-fp8", "FP8 (F8_E4M3) weights"}};
        for (String[] c : cases) {
            var e = assertThrows(BackendStartupException.class,
                    () -> jvm(Fixtures.model(c[0]), 4, 16, ThreadOrder.FORWARD), c[0]);
            assertTrue(e.getMessage().contains("(" + c[1] + ";") && e.getMessage().contains("--backend cpu"),
                    e.getMessage());
        }
    }
}
