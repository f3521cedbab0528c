package org.moescope.kernels;

import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

class ExpTest {
    /**
     * Every 61st float of [-104, 89] (37 million, subnormal results included) against the correctly rounded e^x
     * (StrictMath's double, rounded to float): at most 1 ulp off. An exhaustive sweep of all 2.24e9 floats in the range
     * against (float) Math.exp gave the same maximum (1 ulp, 0.8% of the floats off by one).
     */
    @Test
    void withinOneUlpOfTheCorrectlyRoundedExp() {
        long worst = 0;
        float worstAt = 0;
        for (float x : new float[] {-104f, 89f}) assertTrue(ulps(x) <= 1, "at " + x);
        for (int sign = -1; sign <= 1; sign += 2) {
            float end = sign < 0 ? -104f : 89f;
            for (int bits = 0; ; bits += 61) {
                float x = sign * Float.intBitsToFloat(bits);
                if (sign < 0 ? x < end : x > end) break;
                long d = ulps(x);
                if (d > worst) {
                    worst = d;
                    worstAt = x;
                }
            }
        }
        assertEquals(1, worst, "worst at " + worstAt);
    }

    private static long ulps(float x) {
        float expected = (float) StrictMath.exp(x), got = Exp.exp(x);
        return Math.abs((long) Float.floatToRawIntBits(expected) - Float.floatToRawIntBits(got));
    }

    @Test
    void edgesAsMathExp() {
        assertEquals(0f, Exp.exp(Float.NEGATIVE_INFINITY)); // a masked softmax entry
        assertEquals(0f, Exp.exp(-1e30f));
        assertEquals(0f, Exp.exp(-104f));
        assertEquals(Float.MIN_VALUE, Exp.exp(-103.27893f)); // the smallest subnormal
        assertEquals(Float.POSITIVE_INFINITY, Exp.exp(Float.POSITIVE_INFINITY));
        assertEquals(Float.POSITIVE_INFINITY, Exp.exp(88.72284f)); // just above ln(Float.MAX_VALUE)
        assertEquals(3.4027985e38f, Exp.exp(88.72283f)); // the float below: still finite
        assertTrue(Float.isNaN(Exp.exp(Float.NaN)));
        assertEquals(1f, Exp.exp(0f));
        assertEquals(1f, Exp.exp(-0f));
        // silu of a very negative gate: g / (1 + e^-g) = g / ∞ = -0, as with Math.exp
        assertEquals(-0f, -200f / (1f + Exp.exp(200f)));
    }

    /**
     * The vector form equals the scalar twin lane for lane, and both keep the bits of their first (interpreted) call
     * while the JIT compiles them (C1, then C2 with the intrinsics) over 200,000 calls. The Vector API's
     * {@code lanewise(EXP)} fails this: its compiled form differs from its interpreted one in the last bit.
     */
    @Test
    void vectorAndScalarGiveOneResultInEveryCompilationState() {
        int l = VectorKernels.L;
        SplittableRandom random = new SplittableRandom(11);
        float[] x = new float[l * 64];
        for (int i = 0; i < x.length; i++) x[i] = (float) ((random.nextDouble() - 0.75) * (1 << random.nextInt(8)));
        float[] specials = {Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY, Float.NaN, -0f, 0f, -104f, 89f, -110f,
                100f, -87.5f, 88.7f, Float.MIN_VALUE};
        System.arraycopy(specials, 0, x, 0, specials.length);
        float[] expected = new float[x.length];
        for (int i = 0; i < x.length; i++) expected[i] = Exp.exp(x[i]);
        float[] got = new float[l];
        for (int call = 0; call < 200_000; call++) {
            int off = (call % 64) * l;
            Exp.exp(FloatVector.fromArray(VectorKernels.F, x, off)).intoArray(got, 0);
            for (int i = 0; i < l; i++) {
                float scalar = Exp.exp(x[off + i]);
                if (Float.floatToIntBits(got[i]) != Float.floatToIntBits(expected[off + i])
                        || Float.floatToIntBits(scalar) != Float.floatToIntBits(expected[off + i])) {
                    fail("call " + call + ", e^" + x[off + i] + ": vector " + got[i] + ", scalar " + scalar
                            + ", first call " + expected[off + i]);
                }
            }
        }
    }

    /** A softmax with a scalar tail and masked (-∞) entries: the same bits on every call, zeros where masked. */
    @Test
    void softmaxKeepsItsBitsWhileCompiled() {
        VectorKernels kernels = new VectorKernels();
        int n = 3 * VectorKernels.L + 5;
        SplittableRandom random = new SplittableRandom(5);
        float[] logits = new float[n];
        for (int i = 0; i < n; i++) logits[i] = (float) (random.nextGaussian() * 4);
        logits[2] = Float.NEGATIVE_INFINITY;
        logits[n - 1] = Float.NEGATIVE_INFINITY;
        float[] first = logits.clone();
        kernels.softmax(first, 0, n);
        assertEquals(0f, first[2]);
        assertEquals(0f, first[n - 1]);
        float[] x = new float[n];
        for (int call = 0; call < 50_000; call++) {
            System.arraycopy(logits, 0, x, 0, n);
            kernels.softmax(x, 0, n);
            if (!Arrays.equals(x, first)) fail("call " + call + ": " + Arrays.toString(x) + " but first " + Arrays.toString(first));
        }
    }
}
