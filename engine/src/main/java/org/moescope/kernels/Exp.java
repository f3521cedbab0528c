package org.moescope.kernels;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

import static jdk.incubator.vector.VectorOperators.FMA;

/**
 * e^x in float, one fixed sequence of float operations with a vector form and a scalar twin that give the same bits
 * lane for lane: the kernels' only exp (softmax, SwiGLU's sigmoid, the loss).
 *
 * <p>Why not the Vector API's {@code lanewise(EXP)}: its interpreted form is {@code (float) Math.exp} per lane and its
 * C2 form an SVML-like stub, which differ in the last bit for some inputs, so a softmax's result depended on whether
 * the JIT had compiled the kernel yet (two traces of the same data differed). Adds, multiplies, fused multiply-adds,
 * min/max, shifts and reinterpretations are exact IEEE operations in every form, scalar or vector.
 *
 * <p>The method (Cody-Waite): x = n·ln2 + r with n = round(x·log2 e) and |r| ≤ ln2/2, r from ln2 split in a high part
 * exact for every n in range and a low part; e^r = 1 + r + r²·P(r) with Cephes' degree-5 {@code expf} polynomial
 * (Horner, fused multiply-adds); times 2^n in two halves, so results down to the smallest subnormal round once. Within 1
 * ulp of e^x rounded to float for every float (ExpTest sweeps the range). x is clamped to [-104, 89] first:
 * e^-104 rounds to 0 and e^89 overflows to infinity in float, so -∞ gives 0 (masked softmax entries), +∞ gives ∞, and
 * NaN stays NaN (min and max keep it).
 */
final class Exp {
    private static final float LO = -104f, HI = 89f;
    private static final float LOG2E = 1.44269504f;
    /** 1.5·2^23: added to a float of magnitude below 2^22, its sum's low mantissa bits are the nearest integer. */
    private static final float ROUND = 0x1.8p23f;
    private static final int ROUND_BITS = Float.floatToRawIntBits(ROUND);
    /** ln 2 = LN2_HI + LN2_LO; LN2_HI has 9 significant bits, so n·LN2_HI is exact for |n| < 2^15. */
    private static final float LN2_HI = 0.693359375f, LN2_LO = -2.12194440e-4f;
    private static final float P0 = 1.9875691500e-4f, P1 = 1.3981999507e-3f, P2 = 8.3334519073e-3f,
            P3 = 4.1665795894e-2f, P4 = 1.6666665459e-1f, P5 = 5.0000001201e-1f;

    private Exp() {
    }

    /** e^x; the same bits as a lane of {@link #exp(FloatVector)}. */
    static float exp(float x) {
        x = Math.min(Math.max(x, LO), HI);
        float t = Math.fma(x, LOG2E, ROUND);
        float n = t - ROUND;
        int ni = Float.floatToRawIntBits(t) - ROUND_BITS;
        float r = Math.fma(n, -LN2_HI, x);
        r = Math.fma(n, -LN2_LO, r);
        float p = Math.fma(P0, r, P1);
        p = Math.fma(p, r, P2);
        p = Math.fma(p, r, P3);
        p = Math.fma(p, r, P4);
        p = Math.fma(p, r, P5);
        p = Math.fma(p, r * r, r) + 1f;
        int n1 = ni >> 1, n2 = ni - n1;
        return p * Float.intBitsToFloat((n1 + 127) << 23) * Float.intBitsToFloat((n2 + 127) << 23);
    }

    /** silu(g) = g · sigmoid(g), as g / (1 + e^-g): the same bits as a lane of the kernels' vector form of it. */
    static float silu(float g) {
        return g / (1f + exp(-g));
    }

    /** e^x lane by lane; each lane the same bits as {@link #exp(float)}. */
    static FloatVector exp(FloatVector x) {
        x = x.max(LO).min(HI);
        FloatVector t = x.fma(LOG2E, ROUND);
        FloatVector n = t.sub(ROUND);
        IntVector ni = ((IntVector) t.reinterpretAsInts()).sub(ROUND_BITS);
        FloatVector r = n.lanewise(FMA, -LN2_HI, x);
        r = n.lanewise(FMA, -LN2_LO, r);
        FloatVector p = r.fma(P0, P1); // P0·r + P1: a product's operands commute exactly
        p = p.lanewise(FMA, r, P2);
        p = p.lanewise(FMA, r, P3);
        p = p.lanewise(FMA, r, P4);
        p = p.lanewise(FMA, r, P5);
        p = p.fma(r.mul(r), r).add(1f);
        IntVector n1 = ni.lanewise(VectorOperators.ASHR, 1), n2 = ni.sub(n1);
        return p.mul(n1.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats())
                .mul(n2.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats());
    }
}
