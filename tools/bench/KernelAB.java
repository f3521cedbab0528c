import java.lang.foreign.Arena;
import java.lang.reflect.*;
import java.net.*;
import java.nio.file.Path;
import java.util.*;

/**
 * In-process A/B of two builds of the kernels: benchmarks.jar of build A and of build B are loaded side by side (one
 * class loader each) and their VectorKernels.moe (shape EXPERTSxHIDDENxINTER) or matmul (dense:ROWSxCOLS in BF16, or
 * TYPE:ROWSxCOLS in a GGUF block type, TYPE one of q8_0, q4_0, q4_k, q5_k, q6_k) over 512
 * tokens (-Dab.tokens=N for another count, 1 for decode) run in alternating 150 ms bursts; each B burst is divided
 * by the mean of the A bursts around it. On a shared
 * VM whose FMA rate swings by 2x for seconds at a time, two separate runs cannot resolve a 5% change; this can, to
 * about +-3% (run it both ways round: A/B and B/A).
 *
 * <p>Usage (single-file source, no build): java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED
 * -Dmoescope.threads=2 tools/bench/KernelAB.java A.jar B.jar PAIRS SHAPE... Build each jar with
 * ./mvnw -o -DskipTests -pl benchmarks -am package and copy benchmarks/target/benchmarks.jar away.
 */
public class KernelAB {
    record Side(Object kernels, Method moe, Object[] args, long flops) {}

    static Side side(String jar, Arena arena, String shape, int tokens) throws Exception {
        ClassLoader cl = new URLClassLoader(new URL[] {Path.of(jar).toUri().toURL()}, ClassLoader.getPlatformClassLoader());
        if (shape.matches("(q8_0|q4_0|q4_k|q5_k|q6_k):\\d+x\\d+")) {
            // A GGUF block-type matrix: random values quantised by weights-tools' GgmlQuantiser (in both jars).
            String[] tc = shape.split(":");
            String[] rc = tc[1].split("x");
            int rows = Integer.parseInt(rc[0]), cols = Integer.parseInt(rc[1]);
            Class<?> gt = Class.forName("org.moescope.gguf.GgmlType", true, cl);
            Object type = gt.getMethod("byName", String.class).invoke(null, tc[0]);
            Class<?> bw = Class.forName("org.moescope.benchmarks.BenchWeights", true, cl);
            Method act = bw.getDeclaredMethod("activations", int.class, long.class);
            act.setAccessible(true);
            float[] values = (float[]) act.invoke(null, rows * cols, 5L);
            byte[] q = (byte[]) Class.forName("org.moescope.gguf.GgmlQuantiser", true, cl)
                    .getMethod("encode", gt, float[].class, int.class, int.class).invoke(null, type, values, 0, values.length);
            java.lang.foreign.MemorySegment seg = arena.allocate(q.length, 64);
            java.lang.foreign.MemorySegment.copy(q, 0, seg, java.lang.foreign.ValueLayout.JAVA_BYTE, 0, q.length);
            Class<?> wc = Class.forName("org.moescope.kernels.Weight", true, cl);
            Object w = wc.getMethod("ggml", String.class, java.lang.foreign.MemorySegment.class, gt, int.class, int.class)
                    .invoke(null, shape, seg, type, rows, cols);
            Class<?> vk = Class.forName("org.moescope.kernels.VectorKernels", true, cl);
            Method mm = vk.getMethod("matmul", float[].class, float[].class, int.class, wc);
            return new Side(vk.getConstructor().newInstance(), mm,
                    new Object[] {new float[tokens * rows], act.invoke(null, tokens * cols, 7L), tokens, w}, 2L * rows * cols * tokens);
        }
        if (shape.startsWith("dense:")) {
            String[] rc = shape.substring(6).split("x");
            int rows = Integer.parseInt(rc[0]), cols = Integer.parseInt(rc[1]);
            Class<?> bw = Class.forName("org.moescope.benchmarks.BenchWeights", true, cl);
            Class<?> dt = Class.forName("org.moescope.safetensors.DType", true, cl);
            Method weight = bw.getDeclaredMethod("weight", Arena.class, dt, int.class, int.class, long.class);
            weight.setAccessible(true);
            Method act = bw.getDeclaredMethod("activations", int.class, long.class);
            act.setAccessible(true);
            Object bf16 = java.util.Arrays.stream(dt.getEnumConstants()).filter(c -> c.toString().equals("BF16")).findFirst().orElseThrow();
            Object w = weight.invoke(null, arena, bf16, rows, cols, 5L);
            Class<?> vk = Class.forName("org.moescope.kernels.VectorKernels", true, cl);
            Class<?> wc = Class.forName("org.moescope.kernels.Weight", true, cl);
            Method mm = vk.getMethod("matmul", float[].class, float[].class, int.class, wc);
            return new Side(vk.getConstructor().newInstance(), mm,
                    new Object[] {new float[tokens * rows], act.invoke(null, tokens * cols, 7L), tokens, w}, 2L * rows * cols * tokens);
        }
        Class<?> layerC = Class.forName("org.moescope.benchmarks.ExpertsLayer", true, cl);
        Method create = layerC.getDeclaredMethod("create", Arena.class, String.class, int.class, int.class);
        create.setAccessible(true);
        Object l = create.invoke(null, arena, shape, tokens, 8);
        Class<?> vk = Class.forName("org.moescope.kernels.VectorKernels", true, cl);
        Object kernels = vk.getConstructor().newInstance();
        Class<?> wc = Class.forName("org.moescope.kernels.Weight", true, cl);
        Class<?> wa = wc.arrayType();
        Method moe = vk.getMethod("moe", float[].class, float[].class, int.class, int[].class, float[].class, int.class, wa, wa, wa);
        java.util.function.Function<String, Object> get = name -> {
            try { Method m = layerC.getDeclaredMethod(name); m.setAccessible(true); return m.invoke(l); } catch (Exception e) { throw new RuntimeException(e); }
        };
        Object[] down = (Object[]) get.apply("down");
        int hidden = (Integer) wc.getMethod("rows").invoke(down[0]);
        Object[] args = {new float[tokens * hidden], get.apply("x"), tokens, get.apply("topkIds"), get.apply("topkWeights"), 8,
                get.apply("gate"), get.apply("up"), down};
        return new Side(kernels, moe, args, (Long) get.apply("flopsPerCall"));
    }

    static double burst(Side s) throws Exception {
        long t0 = System.nanoTime(), t; long calls = 0;
        do { s.moe.invoke(s.kernels, s.args); calls++; t = System.nanoTime(); } while (t - t0 < 150_000_000L);
        return (double) calls * s.flops / (t - t0);
    }

    public static void main(String[] a) throws Exception {
        Arena arena = Arena.ofShared();
        int pairs = Integer.parseInt(a[2]);
        for (int si = 3; si < a.length; si++) {
            String shape = a[si];
            int tokens = Integer.getInteger("ab.tokens", 512);
            Side A = side(a[0], arena, shape, tokens), B = side(a[1], arena, shape, tokens);
            for (int w = 0; w < 4; w++) { burst(A); burst(B); }
            double[] r = new double[pairs]; double sa = 0, sb = 0;
            double prev = burst(A);
            for (int p = 0; p < pairs; p++) {
                double b = burst(B), next = burst(A);
                r[p] = b / ((prev + next) / 2); sb += b; sa += prev; prev = next;
            }
            Arrays.sort(r);
            System.out.printf("%s: B/A median %.3f (q1 %.3f q3 %.3f); mean A %.1f B %.1f GFLOP/s%n", shape, r[pairs / 2],
                r[pairs / 4], r[3 * pairs / 4], sa / pairs, sb / pairs);
        }
    }
}
