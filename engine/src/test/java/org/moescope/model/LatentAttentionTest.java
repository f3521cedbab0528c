package org.moescope.model;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.moescope.kernels.Kernels;
import org.moescope.kernels.ScalarKernels;
import org.moescope.kernels.VectorKernels;
import org.moescope.safetensors.SafetensorsFile;

import java.util.Arrays;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Multi-head latent attention computed both ways — kv_b_proj expanded into per-head keys and values, or absorbed into
 * the queries and outputs — for prefill and for token-by-token decoding, each against HF's logits on every DeepSeek
 * fixture (GoldenTest runs the default choice).
 */
class LatentAttentionTest {
    static Stream<Arguments> cases() {
        return GoldenTest.fixtures().stream().filter(n -> n.startsWith("deepseek-")).flatMap(name -> Stream.of(
                MoeTransformer.MlaPath.EXPANDED, MoeTransformer.MlaPath.ABSORBED).flatMap(path -> Stream.of(
                Arguments.of(name, path, new ScalarKernels()), Arguments.of(name, path, new VectorKernels()))));
    }

    @ParameterizedTest(name = "{0} {1} {2}")
    @MethodSource("cases")
    void prefillAndDecodeMatchHfEitherWay(String name, MoeTransformer.MlaPath path, Kernels kernels) {
        try (MoeTransformer model = MoeTransformer.load(Fixtures.model(name), kernels);
             SafetensorsFile golden = SafetensorsFile.open(Fixtures.model(name).resolve("golden.safetensors"))) {
            assertNotNull(model.config().mla(), name + " uses MLA");
            model.mlaPath(path);
            int S = (int) golden.info("input_ids").shape()[1];
            int V = model.config().vocabSize();
            int[] seq = Arrays.copyOf(golden.readInts("input_ids"), S);
            float[] hf = Arrays.copyOf(golden.readFloats("logits"), S * V);
            float[] prefill = model.forward(model.newSession(S), seq, MoeTransformer.Logits.ALL, null);
            GoldenTest.assertClose(hf, prefill, 1e-4f, name + " " + path + " prefill");
            MoeTransformer.Session s = model.newSession(S);
            model.forward(s, Arrays.copyOf(seq, 3), MoeTransformer.Logits.NONE, null);
            for (int t = 3; t < S; t++) {
                float[] step = model.forward(s, new int[] {seq[t]}, MoeTransformer.Logits.LAST, null);
                GoldenTest.assertClose(Arrays.copyOfRange(hf, t * V, (t + 1) * V), step, 1e-4f,
                        name + " " + path + " decode position " + t);
            }
        }
    }

    @org.junit.jupiter.api.Test
    void theCacheHoldsTheLatentAndTheRopeKeyOnly() {
        try (MoeTransformer model = MoeTransformer.load(Fixtures.model("deepseek-v3-f32"), new ScalarKernels())) {
            ModelConfig c = model.config();
            MoeTransformer.Session s = model.newSession(4);
            // kv_lora_rank 32 + qk_rope_head_dim 8 floats per token and layer, instead of 4 heads x (24 + 20)
            assertEquals(40, c.keyCacheWidth());
            assertEquals(0, c.valueCacheWidth());
            assertEquals(4 * 40, s.keyCache[0].length);
            assertEquals(0, s.valueCache[0].length);
        }
    }
}
