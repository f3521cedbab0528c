package org.moescope.e2e;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;
import org.moescope.kernels.ScalarKernels;
import org.moescope.kernels.VectorKernels;
import org.moescope.model.MoeTransformer;
import org.moescope.safetensors.SafetensorsFile;

import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.*;
import static org.moescope.e2e.CliTraceGenerateTest.fixtures;
import static org.moescope.e2e.CliTraceGenerateTest.run;

/**
 * F16 and BF16 checkpoints made by `weights convert` from the F32 fixture run through the engine (weights widened inside
 * the kernels, SIMD and scalar alike) and stay close to HF's F32 logits: the error is the weights' rounding only.
 */
class HalfPrecisionCheckpointTest {
    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"f16", "bf16"})
    void convertedCheckpointStaysCloseToTheF32Golden(String dtype) {
        Path src = fixtures().resolve("models/tiny-f32");
        Path out = dir.resolve(dtype);
        var r = run("weights", "convert", src.toString(), "--dtype", dtype, "--out", out.toString());
        assertEquals(0, r.status(), r.err());
        try (SafetensorsFile golden = SafetensorsFile.open(src.resolve("golden.safetensors"));
             MoeTransformer fast = MoeTransformer.load(out, new VectorKernels());
             MoeTransformer scalar = MoeTransformer.load(out, new ScalarKernels())) {
            int S = (int) golden.info("input_ids").shape()[1];
            int V = fast.config().vocabSize();
            int[] seq = Arrays.copyOf(golden.readInts("input_ids"), S);
            float[] expected = Arrays.copyOf(golden.readFloats("logits"), S * V);
            float[] a = fast.forward(fast.newSession(S), seq, MoeTransformer.Logits.ALL, null);
            float[] b = scalar.forward(scalar.newSession(S), seq, MoeTransformer.Logits.ALL, null);
            double worst = 0;
            int sameArgmax = 0;
            for (int t = 0; t < S; t++) {
                int ea = 0, ga = 0;
                for (int v = 0; v < V; v++) {
                    assertEquals(b[t * V + v], a[t * V + v], 1e-4, "SIMD and scalar agree on " + dtype + " weights");
                    worst = Math.max(worst, Math.abs(expected[t * V + v] - a[t * V + v]));
                    if (expected[t * V + v] > expected[t * V + ea]) ea = v;
                    if (a[t * V + v] > a[t * V + ga]) ga = v;
                }
                if (ea == ga) sameArgmax++;
            }
            // bf16 keeps 8 mantissa bits, f16 11: the logits (|x| up to ~10) move by a few tenths at most.
            assertTrue(worst < (dtype.equals("f16") ? 0.05 : 0.5), dtype + " max |logit diff| " + worst);
            assertTrue(sameArgmax >= S - 1, dtype + ": argmax agrees at " + sameArgmax + " of " + S + " positions");
        }
    }
}
