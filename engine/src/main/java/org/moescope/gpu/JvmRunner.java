package org.moescope.gpu;

import org.moescope.gpu.DeviceWeights.Matrix;
import org.moescope.model.ModelConfig;

import java.util.SplittableRandom;
import java.util.function.IntConsumer;

/**
 * The device kernels run as plain loops on one host thread, task by task in the order the TornadoVM task graphs
 * run them. Slow; it exists so that the default build tests the kernels and their wiring against the CPU model.
 * A device runs the threads of one task in no promised order, so the threads can also run reversed or shuffled:
 * a thread that reads what another thread of its task writes then gives different results.
 */
public final class JvmRunner implements DeviceRunner {
    /** The order the threads of each task run in. */
    public enum ThreadOrder { FORWARD, REVERSE, SHUFFLED }

    private final ModelConfig c;
    private final DeviceWeights w;
    private final DeviceState s;
    private final ThreadOrder order;
    private final SplittableRandom random; // draws a fresh permutation per task in SHUFFLED order

    public JvmRunner(ModelConfig c, DeviceWeights w, DeviceState s) {
        this(c, w, s, ThreadOrder.FORWARD, 0);
    }

    public JvmRunner(ModelConfig c, DeviceWeights w, DeviceState s, ThreadOrder order, long seed) {
        this.c = c;
        this.w = w;
        this.s = s;
        this.order = order;
        this.random = new SplittableRandom(seed);
    }

    /** Runs thread bodies 0 .. n-1 in this runner's order. */
    private void threads(int n, IntConsumer body) {
        switch (order) {
            case FORWARD -> {
                for (int i = 0; i < n; i++) body.accept(i);
            }
            case REVERSE -> {
                for (int i = n - 1; i >= 0; i--) body.accept(i);
            }
            case SHUFFLED -> {
                int[] p = new int[n];
                for (int i = 0; i < n; i++) p[i] = i;
                for (int i = n - 1; i > 0; i--) {
                    int j = random.nextInt(i + 1);
                    int t = p[i];
                    p[i] = p[j];
                    p[j] = t;
                }
                for (int i : p) body.accept(i);
            }
        }
    }

    @Override
    public void layer(int l) {
        DeviceState.Layer b = s.layers[l];
        int T = s.tokens;
        int hid = c.hiddenSize();
        int kv = c.kvDim();
        int rows = hid + 2 * kv;
        int k = c.numExpertsPerTok();
        int inter = c.moeIntermediateSize();
        int E = c.numExperts();
        float eps = c.normEps();
        float clip = c.clipQkv() == null ? 0f : c.clipQkv();
        int dt = w.dtype;
        float[] tab = w.table;
        int[] meta = s.meta;
        threads(T, i -> DeviceKernels.rmsScaleRows(i, meta, s.x, b.scale, hid, eps));
        Matrix q = w.qkv[l];
        threads(T * rows, i -> DeviceKernels.qkvProj(i, meta, s.x, b.scale, w.attnNorm[l], q.f32(), q.half(), dt, tab,
                b.qkv, rows, hid));
        threads(T * 2, i -> DeviceKernels.qkScale(i, meta, b.qkv, b.qkScale, hid, kv, eps));
        int per = hid / 2 + kv / 2 + kv;
        threads(T * per, i -> DeviceKernels.qkNormRope(i, meta, s.pos, s.cacheRow, b.qkv, b.qkScale, w.qkNorm[l],
                s.rope, b.keys, b.values, hid, kv, c.headDim(), clip));
        threads(T * hid, i -> DeviceKernels.attention(i, meta, s.cacheRow, s.visibleFrom, b.qkv, b.keys, b.values,
                b.attn, c.numAttentionHeads(), c.numKeyValueHeads(), c.headDim()));
        Matrix o = w.o[l];
        threads(T * hid, i -> DeviceKernels.outProjResidual(i, meta, b.attn, o.f32(), o.half(), dt, tab, s.x, hid));
        threads(T, i -> DeviceKernels.rmsScaleRows(i, meta, s.x, b.scale2, hid, eps));
        threads(T * hid, i -> DeviceKernels.normRows(i, meta, s.x, b.scale2, w.postNorm[l], b.xb, hid));
        Matrix r = w.router[l];
        threads(T * E, i -> DeviceKernels.router(i, meta, b.xb, r.f32(), r.half(), dt, tab, b.routerLogits, E, hid));
        int normTopk = c.normTopkProb() ? 1 : 0;
        threads(T, i -> DeviceKernels.routeTopK(i, meta, b.routerLogits, b.probs, b.ids, b.weights, b.order, E, k,
                normTopk));
        threads(E, e -> DeviceKernels.groupByExpert(e, meta, b.ids, b.slotToken, b.slotExpert, b.slotOf, k));
        Matrix gu = w.gateUp[l];
        threads(T * k * inter, i -> DeviceKernels.expertGateUp(i, meta, b.slotToken, b.slotExpert, b.xb, gu.f32(),
                gu.half(), dt, tab, b.h, k, inter, hid));
        Matrix d = w.down[l];
        threads(T * hid, i -> DeviceKernels.expertDownResidual(i, meta, b.ids, b.weights, b.order, b.slotOf, b.h,
                d.f32(), d.half(), dt, tab, s.x, k, inter, hid));
    }

    @Override
    public void routesToHost(int l) {
        // Host arrays are the device arrays here.
    }

    @Override
    public void head() {
        int hid = c.hiddenSize();
        int V = c.vocabSize();
        threads(s.tokens, r -> DeviceKernels.headScale(r, s.meta, s.logitRows, s.x, s.headScale, hid,
                c.normEps()));
        Matrix m = w.lmHead;
        threads(s.tokens * V, i -> DeviceKernels.lmHead(i, s.meta, s.logitRows, s.x, s.headScale, w.finalNorm,
                m.f32(), m.half(), w.dtype, w.table, s.logits, V, hid));
    }

    @Override
    public String describe() {
        return "device kernels on the JVM, threads " + order.name().toLowerCase();
    }

    @Override
    public void close() {
    }
}
