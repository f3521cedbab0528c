package org.moescope.benchmarks;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;
import org.moescope.gguf.GgmlQuantiser;
import org.moescope.gguf.GgmlType;
import org.openjdk.jmh.annotations.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.concurrent.TimeUnit;

/**
 * Issue 22's int8 question: for a GGUF Q8_0 matrix (34-byte blocks: f16 d, 32 int8) times one token, one thread,
 * <ul>
 * <li>{@code float}: the engine's path (GgmlRows.dot): L int8 weights load and widen to ints, convert to float, FMA
 * with the float activations; each block's partial sum times d.</li>
 * <li>{@code int8Short}: llama.cpp's scheme in the Vector API: the activations quantised once per call to int8 per
 * 32-block (d_x = max|x| / 127, as quantize_row_q8_0); per block the int8 weights and activations widen to shorts,
 * multiply (16-bit products are exact: |q_w · q_x| ≤ 128 · 127), the two halves widen to ints and add; the block's int
 * sums convert to float and scale by d_w · d_x.</li>
 * <li>{@code int8Int}: the same with both widened straight to ints and multiplied as ints.</li>
 * </ul>
 * The Vector API has no dot-product instructions: no VNNI {@code vpdpbusd} (64 u8·s8 products summed by fours into 16
 * int32, accumulating, in one AVX-512 instruction), no {@code vpmaddubsw} (AVX2: u8·s8 pairs summed to s16) and no
 * {@code vpmaddwd} (s16·s16 pairs summed to s32). Its lanewise mul keeps the lane width, so products must first be
 * widened and the pairs summed by conversions: the int8 path spends more instructions per block than the float one, and
 * what it saves (a quarter of the activation bytes read from L1) is not the bound. {@code rows} 512 (557 KB, in L2)
 * measures the arithmetic; 16384 (17.8 MB) the streaming from memory. The setup prints the int8 path's error.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
@State(Scope.Thread)
public class Int8DotBench {
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
    static final int L = F.length();
    /** L bytes: one load widens to L ints (the engine's form). */
    static final VectorSpecies<Byte> BL = ByteVector.SPECIES_PREFERRED.withShape(VectorShape.forBitSize(8 * L));
    /** Shorts of a full register (16 AVX2, 32 AVX-512) and the bytes that widen to them. */
    static final VectorSpecies<Short> S = ShortVector.SPECIES_PREFERRED;
    static final VectorSpecies<Byte> BS = ByteVector.SPECIES_PREFERRED.withShape(VectorShape.forBitSize(S.vectorBitSize() / 2));
    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LE);

    @Param({"512", "16384"})
    int rows;
    int cols = 1024;

    MemorySegment w;
    float[] x, out;
    byte[] xq;
    float[] xd;

    @Setup
    public void setup() {
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(3);
        float[] values = new float[rows * cols];
        for (int i = 0; i < values.length; i++) values[i] = (float) rnd.nextGaussian() * 0.05f;
        byte[] q = GgmlQuantiser.encode(GgmlType.Q8_0, values, 0, values.length);
        w = Arena.ofAuto().allocate(q.length, 64);
        MemorySegment.copy(q, 0, w, ValueLayout.JAVA_BYTE, 0, q.length);
        x = new float[cols];
        for (int i = 0; i < cols; i++) x[i] = (float) rnd.nextGaussian();
        out = new float[rows];
        xq = new byte[cols];
        xd = new float[cols / 32];
        float[] f = new float[rows], a = new float[rows], b = new float[rows], c = new float[rows];
        floatPath(f);
        int8Short(a);
        int8Int(b);
        int8Pairs(c);
        double err = 0, ss = 0, errInt = 0;
        for (int r = 0; r < rows; r++) {
            ss += (double) f[r] * f[r];
            err = Math.max(err, Math.abs(a[r] - f[r]));
            errInt = Math.max(errInt, Math.max(Math.abs(b[r] - a[r]), Math.abs(c[r] - a[r])));
        }
        System.out.printf("%nInt8DotBench rows %d, %d float lanes: int8 vs float max |diff| %.3g, rms of the results %.3g"
                + " (relative %.2g); int8Int, int8Pairs vs int8Short max |diff| %.3g%n", rows, L, err, Math.sqrt(ss / rows),
                err / Math.sqrt(ss / rows), errInt);
    }

    @Benchmark
    public float[] floatPath() {
        floatPath(out);
        return out;
    }

    @Benchmark
    public float[] int8Short() {
        int8Short(out);
        return out;
    }

    @Benchmark
    public float[] int8Pairs() {
        int8Pairs(out);
        return out;
    }

    @Benchmark
    public float[] int8Int() {
        int8Int(out);
        return out;
    }

    void floatPath(float[] o) {
        int blocks = cols / 32;
        for (int r = 0; r < rows; r++) o[r] = dotFloat(w, (long) r * blocks * 34, blocks, x);
    }

    void int8Short(float[] o) {
        quantise(x, xq, xd);
        int blocks = cols / 32;
        for (int r = 0; r < rows; r++) o[r] = dotShort(w, (long) r * blocks * 34, blocks, xq, xd);
    }

    void int8Pairs(float[] o) {
        quantise(x, xq, xd);
        int blocks = cols / 32;
        for (int r = 0; r < rows; r++) o[r] = dotPairs(w, (long) r * blocks * 34, blocks, xq, xd);
    }

    void int8Int(float[] o) {
        quantise(x, xq, xd);
        int blocks = cols / 32;
        for (int r = 0; r < rows; r++) o[r] = dotInt(w, (long) r * blocks * 34, blocks, xq, xd);
    }

    static float f16(MemorySegment s, long at) {
        return Float.float16ToFloat(s.get(I16, at));
    }

    /** quantize_row_q8_0 with a float scale: q = round(x / d), d = max|x| / 127 per 32 values. */
    static void quantise(float[] x, byte[] q, float[] d) {
        for (int b = 0; b < d.length; b++) {
            float amax = 0;
            for (int i = 0; i < 32; i++) amax = Math.max(amax, Math.abs(x[32 * b + i]));
            float db = amax / 127f, id = db != 0 ? 1f / db : 0f;
            d[b] = db;
            for (int i = 0; i < 32; i++) q[32 * b + i] = (byte) Math.round(x[32 * b + i] * id);
        }
    }

    /** The engine's Q8_0 row · x (GgmlRows.dotQ8_0). */
    static float dotFloat(MemorySegment s, long at, int blocks, float[] x) {
        FloatVector acc0 = FloatVector.zero(F), acc1 = acc0;
        int xo = 0;
        for (int b = 0; b + 2 <= blocks; b += 2, at += 68, xo += 64) {
            FloatVector p = FloatVector.zero(F), q = p;
            for (int i = 0; i < 32; i += L) {
                p = ((FloatVector) ((IntVector) ByteVector.fromMemorySegment(BL, s, at + 2 + i, LE)
                        .convertShape(VectorOperators.B2I, I, 0)).convert(VectorOperators.I2F, 0))
                        .fma(FloatVector.fromArray(F, x, xo + i), p);
                q = ((FloatVector) ((IntVector) ByteVector.fromMemorySegment(BL, s, at + 36 + i, LE)
                        .convertShape(VectorOperators.B2I, I, 0)).convert(VectorOperators.I2F, 0))
                        .fma(FloatVector.fromArray(F, x, xo + 32 + i), q);
            }
            acc0 = p.fma(FloatVector.broadcast(F, f16(s, at)), acc0);
            acc1 = q.fma(FloatVector.broadcast(F, f16(s, at + 34)), acc1);
        }
        return acc0.add(acc1).reduceLanes(VectorOperators.ADD);
    }

    /** int8 · int8 through 16-bit products, pairs of halves added as ints, the block's sums scaled in float. */
    static float dotShort(MemorySegment s, long at, int blocks, byte[] xq, float[] xd) {
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < blocks; b++, at += 34) {
            IntVector sum = IntVector.zero(I);
            for (int i = 0; i < 32; i += S.length()) {
                ShortVector wv = (ShortVector) ByteVector.fromMemorySegment(BS, s, at + 2 + i, LE)
                        .convertShape(VectorOperators.B2S, S, 0);
                ShortVector xv = (ShortVector) ByteVector.fromArray(BS, xq, 32 * b + i).convertShape(VectorOperators.B2S, S, 0);
                ShortVector p = wv.mul(xv);
                sum = sum.add((IntVector) p.convertShape(VectorOperators.S2I, I, 0))
                        .add((IntVector) p.convertShape(VectorOperators.S2I, I, 1));
            }
            acc = ((FloatVector) sum.convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(F, f16(s, at) * xd[b]), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    /**
     * int8 · int8 through 16-bit products whose pairs are summed as vpmaddwd would: each int lane of the products holds
     * two of them, the low one sign-extended by a shift pair, the high one by an arithmetic shift (4 operations for
     * vpmaddwd's one).
     */
    static float dotPairs(MemorySegment s, long at, int blocks, byte[] xq, float[] xd) {
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < blocks; b++, at += 34) {
            IntVector sum = IntVector.zero(I);
            for (int i = 0; i < 32; i += S.length()) {
                ShortVector wv = (ShortVector) ByteVector.fromMemorySegment(BS, s, at + 2 + i, LE)
                        .convertShape(VectorOperators.B2S, S, 0);
                ShortVector xv = (ShortVector) ByteVector.fromArray(BS, xq, 32 * b + i).convertShape(VectorOperators.B2S, S, 0);
                IntVector p = wv.mul(xv).reinterpretAsInts();
                sum = sum.add(p.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16))
                        .add(p.lanewise(VectorOperators.ASHR, 16));
            }
            acc = ((FloatVector) sum.convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(F, f16(s, at) * xd[b]), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    /** int8 · int8 with both widened to ints and multiplied as ints. */
    static float dotInt(MemorySegment s, long at, int blocks, byte[] xq, float[] xd) {
        FloatVector acc = FloatVector.zero(F);
        for (int b = 0; b < blocks; b++, at += 34) {
            IntVector sum = IntVector.zero(I);
            for (int i = 0; i < 32; i += L) {
                IntVector wv = (IntVector) ByteVector.fromMemorySegment(BL, s, at + 2 + i, LE).convertShape(VectorOperators.B2I, I, 0);
                IntVector xv = (IntVector) ByteVector.fromArray(BL, xq, 32 * b + i).convertShape(VectorOperators.B2I, I, 0);
                sum = sum.add(wv.mul(xv));
            }
            acc = ((FloatVector) sum.convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(F, f16(s, at) * xd[b]), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }
}
