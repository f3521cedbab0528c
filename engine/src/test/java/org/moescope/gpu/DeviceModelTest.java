package org.moescope.gpu;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.moescope.kernels.ScalarKernels;
import org.moescope.model.Fixtures;
import org.moescope.model.MoeModel;
import org.moescope.model.OlmoeConfig;
import org.moescope.model.OlmoeModel;
import org.moescope.model.RouteRecorder;
import org.moescope.safetensors.Numbers;
import org.moescope.safetensors.SafetensorsFile;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The device kernels, run on the JVM by JvmRunner, against HF's golden outputs and the CPU model. */
class DeviceModelTest {
    /** Top-k ids and weights and router probabilities per (token, layer) of one call. */
    static final class Routes implements RouteRecorder {
        final int L, E, K;
        final int[] ids;       // (T, L, k)
        final float[] weights; // (T, L, k)
        final float[] probs;   // (T, L, E)
        final float[] logits;  // (T, L, E)

        Routes(int T, OlmoeConfig c) {
            L = c.numHiddenLayers();
            E = c.numExperts();
            K = c.numExpertsPerTok();
            ids = new int[T * L * K];
            weights = new float[T * L * K];
            probs = new float[T * L * E];
            logits = new float[T * L * E];
        }

        @Override
        public void onLayer(int layer, int tokens, float[] in, float[] rl, float[] p, int[] id, float[] w) {
            for (int t = 0; t < tokens; t++) {
                System.arraycopy(id, t * K, ids, (t * L + layer) * K, K);
                System.arraycopy(w, t * K, weights, (t * L + layer) * K, K);
                System.arraycopy(p, t * E, probs, (t * L + layer) * E, E);
                System.arraycopy(rl, t * E, logits, (t * L + layer) * E, E);
            }
        }
    }

    static DeviceModel jvm(String name, int tokens, int cacheRows) {
        return DeviceModel.load(Fixtures.model(name), tokens, cacheRows, JvmRunner::new);
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

    /** HF's logits, router logits and top-k on the fixtures; chunks of 3 tokens exercise the chunked path too. */
    @ParameterizedTest
    @ValueSource(strings = {"tiny-f32", "tiny-gqa-f32", "tiny-bf16"})
    void matchesHfGolden(String name) {
        for (int chunk : new int[] {64, 3}) {
            try (DeviceModel model = jvm(name, chunk, 128);
                 SafetensorsFile golden = SafetensorsFile.open(Fixtures.model(name).resolve("golden.safetensors"))) {
                OlmoeConfig c = model.config();
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
                    Routes r = new Routes(S, c);
                    float[] out = model.forward(model.newSession(S), seq, MoeModel.Logits.ALL, r);
                    String what = name + " chunk " + chunk + " seq " + b;
                    assertClose(Arrays.copyOfRange(logits, b * S * V, (b + 1) * S * V), out, 1e-4f, what + " logits");
                    assertClose(Arrays.copyOfRange(routerLogits, b * S * rl, (b + 1) * S * rl), r.logits, 1e-4f,
                            what + " router logits");
                    assertArrayEquals(Arrays.copyOfRange(topk, b * S * tk, (b + 1) * S * tk), r.ids, what + " top-k");
                    assertClose(Arrays.copyOfRange(topkWeights, b * S * tk, (b + 1) * S * tk), r.weights, 1e-5f,
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
             OlmoeModel cpu = OlmoeModel.load(Fixtures.model("tiny-bf16"), new ScalarKernels())) {
            MoeModel.Session ds = dev.newSession(seq.length);
            MoeModel.Session cs = cpu.newSession(seq.length);
            assertClose(cpu.forward(cs, Arrays.copyOf(seq, 5), MoeModel.Logits.LAST, null),
                    dev.forward(ds, Arrays.copyOf(seq, 5), MoeModel.Logits.LAST, null), 1e-4f, "prompt");
            for (int t = 5; t < seq.length; t++) {
                Routes rd = new Routes(1, cpu.config());
                Routes rc = new Routes(1, cpu.config());
                float[] d = dev.forward(ds, new int[] {seq[t]}, MoeModel.Logits.LAST, rd);
                float[] e = cpu.forward(cs, new int[] {seq[t]}, MoeModel.Logits.LAST, rc);
                assertClose(e, d, 1e-4f, "step " + t);
                assertArrayEquals(rc.ids, rd.ids, "step " + t + " top-k");
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
             OlmoeModel cpu = OlmoeModel.load(Fixtures.model("tiny-gqa-f32"), new ScalarKernels())) {
            Routes rd = new Routes(T, cpu.config());
            Routes rc = new Routes(T, cpu.config());
            float[] d = dev.prefillBatch(seqs, rows, rd);
            float[] e = cpu.prefillBatch(seqs, rows, rc);
            assertClose(e, d, 1e-4f, "logits");
            assertArrayEquals(rc.ids, rd.ids, "top-k ids");
            assertClose(rc.weights, rd.weights, 1e-5f, "top-k weights");
            assertClose(rc.probs, rd.probs, 1e-5f, "probs");
        }
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
}
