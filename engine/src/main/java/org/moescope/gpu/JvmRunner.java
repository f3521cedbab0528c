package org.moescope.gpu;

import org.moescope.gpu.DeviceWeights.Matrix;
import org.moescope.model.OlmoeConfig;

/**
 * The device kernels run as plain loops on one host thread, index by index, in the order the TornadoVM task graphs
 * run them. Slow; it exists so that the default build tests the kernels and their wiring against the CPU model.
 */
public final class JvmRunner implements DeviceRunner {
    private final OlmoeConfig c;
    private final DeviceWeights w;
    private final DeviceState s;

    public JvmRunner(OlmoeConfig c, DeviceWeights w, DeviceState s) {
        this.c = c;
        this.w = w;
        this.s = s;
    }

    @Override
    public void layer(int l) {
        DeviceState.Layer b = s.layers[l];
        int T = s.tokens;
        int hid = c.hiddenSize();
        int kv = c.kvDim();
        int rows = hid + 2 * kv;
        int k = c.numExpertsPerTok();
        int inter = c.intermediateSize();
        int E = c.numExperts();
        float eps = c.rmsNormEps();
        float clip = c.clipQkv() == null ? 0f : c.clipQkv();
        int dt = w.dtype;
        float[] tab = w.table;
        for (int i = 0; i < T; i++) DeviceKernels.rmsScaleRows(i, s.meta, s.x, b.scale, hid, eps);
        Matrix q = w.qkv[l];
        for (int i = 0; i < T * rows; i++) {
            DeviceKernels.qkvProj(i, s.meta, s.x, b.scale, w.attnNorm[l], q.f32(), q.half(), dt, tab, b.qkv, rows, hid);
        }
        for (int i = 0; i < T * 2; i++) DeviceKernels.qkScale(i, s.meta, b.qkv, b.qkScale, hid, kv, eps);
        int per = hid / 2 + kv / 2 + kv;
        for (int i = 0; i < T * per; i++) {
            DeviceKernels.qkNormRope(i, s.meta, s.pos, s.cacheRow, b.qkv, b.qkScale, w.qkNorm[l], s.rope, b.keys,
                    b.values, hid, kv, c.headDim(), clip);
        }
        for (int i = 0; i < T * hid; i++) {
            DeviceKernels.attention(i, s.meta, s.cacheRow, s.visibleFrom, b.qkv, b.keys, b.values, b.attn,
                    c.numAttentionHeads(), c.numKeyValueHeads(), c.headDim());
        }
        Matrix o = w.o[l];
        for (int i = 0; i < T * hid; i++) {
            DeviceKernels.outProjResidual(i, s.meta, b.attn, o.f32(), o.half(), dt, tab, s.x, hid);
        }
        for (int i = 0; i < T; i++) DeviceKernels.rmsScaleRows(i, s.meta, s.x, b.scale2, hid, eps);
        for (int i = 0; i < T * hid; i++) DeviceKernels.normRows(i, s.meta, s.x, b.scale2, w.postNorm[l], b.xb, hid);
        Matrix r = w.router[l];
        for (int i = 0; i < T * E; i++) {
            DeviceKernels.router(i, s.meta, b.xb, r.f32(), r.half(), dt, tab, b.routerLogits, E, hid);
        }
        for (int i = 0; i < T; i++) {
            DeviceKernels.routeTopK(i, s.meta, b.routerLogits, b.probs, b.ids, b.weights, b.order, E, k,
                    c.normTopkProb() ? 1 : 0);
        }
        for (int e = 0; e < E; e++) DeviceKernels.groupByExpert(e, s.meta, b.ids, b.slotToken, b.slotExpert, b.slotOf, k);
        Matrix gu = w.gateUp[l];
        for (int i = 0; i < T * k * inter; i++) {
            DeviceKernels.expertGateUp(i, s.meta, b.slotToken, b.slotExpert, b.xb, gu.f32(), gu.half(), dt, tab, b.h,
                    k, inter, hid);
        }
        Matrix d = w.down[l];
        for (int i = 0; i < T * hid; i++) {
            DeviceKernels.expertDownResidual(i, s.meta, b.ids, b.weights, b.order, b.slotOf, b.h, d.f32(), d.half(),
                    dt, tab, s.x, k, inter, hid);
        }
    }

    @Override
    public void routesToHost(int l) {
        // Host arrays are the device arrays here.
    }

    @Override
    public void head() {
        int hid = c.hiddenSize();
        int V = c.vocabSize();
        for (int r = 0; r < s.tokens; r++) {
            DeviceKernels.headScale(r, s.meta, s.logitRows, s.x, s.headScale, hid, c.rmsNormEps());
        }
        Matrix m = w.lmHead;
        for (int i = 0; i < s.tokens * V; i++) {
            DeviceKernels.lmHead(i, s.meta, s.logitRows, s.x, s.headScale, w.finalNorm, m.f32(), m.half(), w.dtype,
                    w.table, s.logits, V, hid);
        }
    }

    @Override
    public String describe() {
        return "device kernels on the JVM";
    }

    @Override
    public void close() {
    }
}
