package org.moescope.trace;

import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.moescope.kernels.VectorKernels;
import org.moescope.model.Fixtures;
import org.moescope.model.Generation;
import org.moescope.model.MoeTransformer;
import org.moescope.model.Sampler;
import org.moescope.routing.RouteFile;
import org.moescope.safetensors.SafetensorsFile;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/**
 * generate --routes records the routes of the calls that chose the tokens (prefill, then decode steps); they must be
 * those a trace of the finished sequence computes in one prefill, up to float rounding.
 */
class SequenceRoutesTest {
    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"tiny-gqa-f32", "qwen2-moe-f32", "mixtral-f32", "phimoe-f32"})
    void routesRecordedWhileGeneratingEqualATraceOfTheResult(String fixture) {
        try (MoeTransformer model = MoeTransformer.load(Fixtures.model(fixture), new VectorKernels());
             SafetensorsFile golden = SafetensorsFile.open(Fixtures.model(fixture).resolve("golden.safetensors"))) {
            int[] prompt = Arrays.copyOf(golden.readInts("input_ids"), 6);
            SequenceRoutes recorded = new SequenceRoutes(model.config());
            Sampler sampler = new Sampler(1.0f, 0, 1f, 0f, 1.3f, model.config().vocabSize(), new SplittableRandom(3));
            Generation.Result r = Generation.generate(model, prompt, 9, sampler, null, null, recorded);
            int[] all = Arrays.copyOf(prompt, prompt.length + r.tokens().length);
            System.arraycopy(r.tokens(), 0, all, prompt.length, r.tokens().length);
            assertEquals(all.length, recorded.tokens(), "every token of prompt + continuation, once");

            Sample sample = new Sample("g", null, all, 1);
            Path generated = dir.resolve(fixture + "-generated.safetensors");
            Path traced = dir.resolve(fixture + "-traced.safetensors");
            Tracer.writeSequence(model, sample, recorded, r.nll(), generated, Map.of());
            Tracer.trace(model, List.of(sample), traced, Map.of(), Tracer.Options.defaults(), null);
            try (RouteFile g = RouteFile.open(generated); RouteFile t = RouteFile.open(traced)) {
                assertArrayEquals(t.inputIds(0), g.inputIds(0));
                assertArrayEquals(t.topkIds(0), g.topkIds(0), fixture + ": top-k ids");
                assertClose(t.topkWeights(0), g.topkWeights(0), 1e-5f, "top-k weights");
                assertClose(t.routerProbsMean(), g.routerProbsMean(), 1e-5f, "router_probs_mean");
                assertClose(t.loss(), g.loss(), 1e-4f, "loss");
                assertEquals(t.has(RouteFile.Field.SHARED_EXPERT_GATE), g.has(RouteFile.Field.SHARED_EXPERT_GATE));
                if (g.has(RouteFile.Field.SHARED_EXPERT_GATE)) {
                    assertClose(t.sharedExpertGate(0), g.sharedExpertGate(0), 1e-5f, "shared expert gate");
                }
                assertEquals(t.metadata().get("moe_layers"), g.metadata().get("moe_layers"));
            }
        }
    }

    static void assertClose(float[] expected, float[] actual, float tol, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        for (int i = 0; i < expected.length; i++) {
            assertTrue(Math.abs(expected[i] - actual[i]) <= tol, what + " at " + i + ": " + expected[i] + " vs " + actual[i]);
        }
    }
}
