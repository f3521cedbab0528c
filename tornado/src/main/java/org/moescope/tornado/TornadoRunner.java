package org.moescope.tornado;

import org.moescope.gpu.DeviceRunner;
import org.moescope.gpu.DeviceState;
import org.moescope.gpu.DeviceWeights;
import org.moescope.gpu.DeviceWeights.Matrix;
import org.moescope.model.ModelConfig;
import uk.ac.manchester.tornado.api.ImmutableTaskGraph;
import uk.ac.manchester.tornado.api.TaskGraph;
import uk.ac.manchester.tornado.api.GridScheduler;
import uk.ac.manchester.tornado.api.WorkerGrid1D;
import uk.ac.manchester.tornado.api.TornadoExecutionPlan;
import uk.ac.manchester.tornado.api.TornadoExecutionResult;
import uk.ac.manchester.tornado.api.common.TornadoDevice;
import uk.ac.manchester.tornado.api.enums.DataTransferMode;
import uk.ac.manchester.tornado.api.exceptions.TornadoExecutionPlanException;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * One TaskGraph per layer plus two for the head (Tmax rows, one row), in one execution plan. Weights, KV cache and
 * scratch go to the device on the first execution and stay there; the residual stream x is handed from graph to
 * graph on the device (persistOnDevice / consumeFromDevice). Per call only the small per-token inputs and layer 0's
 * x go up; logits come back, and the route arrays only when asked for.
 */
final class TornadoRunner implements DeviceRunner {
    private static final AtomicInteger PLANS = new AtomicInteger();

    private final ModelConfig c;
    private final DeviceWeights w;
    private final DeviceState s;
    private final String prefix;                    // graph names are global to the runtime
    private final TornadoExecutionPlan plan;
    private final TornadoExecutionResult[] results; // (layers) each layer graph's latest execution
    private final float[] scaleOne;                 // (1) final norm scale of the one decode row
    private final float[] logitsOne;                // (vocab) logits of the one decode row
    private final String description;
    private final GridScheduler grids = new GridScheduler(); // every task's threads and block size (see grid)

    TornadoRunner(ModelConfig c, DeviceWeights w, DeviceState s, TornadoDevice device) {
        this.c = c;
        this.w = w;
        this.s = s;
        this.prefix = "moescope" + PLANS.incrementAndGet() + "_";
        int L = c.numHiddenLayers();
        scaleOne = new float[1];
        logitsOne = new float[c.vocabSize()];
        ImmutableTaskGraph[] graphs = new ImmutableTaskGraph[L + 2];
        for (int l = 0; l < L; l++) {
            graphs[l] = layerGraph(l).snapshot();
        }
        // Two heads: Tmax rows for prefill, one row for decode, so a decode step launches and copies back one row.
        graphs[L] = headGraph(s.tokens, s.headScale, s.logits).snapshot();
        graphs[L + 1] = headGraph(1, scaleOne, logitsOne).snapshot();
        plan = new TornadoExecutionPlan(graphs);
        plan.withGridScheduler(grids);
        if (device != null) {
            plan.withDevice(device);
        }
        results = new TornadoExecutionResult[L];
        TornadoDevice d = device != null ? device : plan.getDevice(0);
        description = "tornado " + d.getTornadoVMBackend() + " " + d.getPhysicalDevice().getDeviceName();
    }

    @Override
    public String describe() {
        return description;
    }

    private String name(int l) {
        return prefix + (l < c.numHiddenLayers() ? "layer" + l : "head" + (l - c.numHiddenLayers()));
    }

    private TaskGraph layerGraph(int l) {
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
        Matrix q = w.qkv[l], o = w.o[l], r = w.router[l], gu = w.gateUp[l], d = w.down[l];
        TaskGraph g = new TaskGraph(name(l));
        if (l == 0) {
            g.transferToDevice(DataTransferMode.EVERY_EXECUTION, s.x);
        } else {
            g.consumeFromDevice(name(l - 1), s.x);
        }
        g.transferToDevice(DataTransferMode.EVERY_EXECUTION, s.meta, s.pos, s.cacheRow, s.visibleFrom);
        g.transferToDevice(DataTransferMode.FIRST_EXECUTION, w.table, s.rope, w.attnNorm[l], q.f32(), q.half(),
                w.qkNorm[l], o.f32(), o.half(), w.postNorm[l], r.f32(), r.half(), gu.f32(), gu.half(), d.f32(),
                d.half());
        // KV cache and scratch: zeros once, then device-only.
        g.transferToDevice(DataTransferMode.FIRST_EXECUTION, b.keys, b.values, b.scale, b.qkv, b.qkScale, b.attn,
                b.scale2, b.xb, b.routerLogits, b.probs, b.ids, b.weights, b.order, b.slotToken, b.slotExpert,
                b.slotOf, b.h);
        grid(g, "attnScale");
        g.task("attnScale", TornadoKernels::rmsScaleRows, T, THREADS, s.meta, s.x, b.scale, hid, eps);
        grid(g, "qkv");
        g.task("qkv", TornadoKernels::qkvProj, T * rows, THREADS, s.meta, s.x, b.scale, w.attnNorm[l], q.f32(),
                q.half(), dt, w.table, b.qkv, rows, hid);
        grid(g, "qkScale");
        g.task("qkScale", TornadoKernels::qkScale, T * 2, THREADS, s.meta, b.qkv, b.qkScale, hid, kv, eps);
        grid(g, "rope");
        g.task("rope", TornadoKernels::qkNormRope, T * (hid / 2 + kv / 2 + kv), THREADS, s.meta, s.pos, s.cacheRow,
                b.qkv, b.qkScale, w.qkNorm[l], s.rope, b.keys, b.values, hid, kv, c.headDim(), clip);
        grid(g, "attention");
        g.task("attention", TornadoKernels::attention, T * hid, THREADS, s.meta, s.cacheRow, s.visibleFrom, b.qkv,
                b.keys, b.values, b.attn, c.numAttentionHeads(), c.numKeyValueHeads(), c.headDim());
        grid(g, "oProj");
        g.task("oProj", TornadoKernels::outProjResidual, T * hid, THREADS, s.meta, b.attn, o.f32(), o.half(), dt,
                w.table, s.x, hid);
        grid(g, "moeScale");
        g.task("moeScale", TornadoKernels::rmsScaleRows, T, THREADS, s.meta, s.x, b.scale2, hid, eps);
        grid(g, "moeInput");
        g.task("moeInput", TornadoKernels::normRows, T * hid, THREADS, s.meta, s.x, b.scale2, w.postNorm[l], b.xb, hid);
        grid(g, "router");
        g.task("router", TornadoKernels::router, T * E, THREADS, s.meta, b.xb, r.f32(), r.half(), dt, w.table,
                b.routerLogits, E, hid);
        grid(g, "topk");
        g.task("topk", TornadoKernels::routeTopK, T, THREADS, s.meta, b.routerLogits, b.probs, b.ids, b.weights,
                b.order, E, k, c.normTopkProb() ? 1 : 0);
        grid(g, "group");
        g.task("group", TornadoKernels::groupByExpert, E, THREADS, s.meta, b.ids, b.slotToken, b.slotExpert, b.slotOf,
                k);
        grid(g, "gateUp");
        g.task("gateUp", TornadoKernels::expertGateUp, T * k * inter, THREADS, s.meta, b.slotToken, b.slotExpert, b.xb,
                gu.f32(), gu.half(), dt, w.table, b.h, k, inter, hid);
        grid(g, "down");
        g.task("down", TornadoKernels::expertDownResidual, T * hid, THREADS, s.meta, b.ids, b.weights, b.order,
                b.slotOf, b.h, d.f32(), d.half(), dt, w.table, s.x, k, inter, hid);
        g.persistOnDevice(s.x);
        g.transferToHost(DataTransferMode.UNDER_DEMAND, b.xb, b.routerLogits, b.probs, b.ids, b.weights);
        return g;
    }

    /** Final norm and lm_head for up to rows logit rows (scale: (rows), logits: (rows, vocab)). */
    private TaskGraph headGraph(int rows, float[] scale, float[] logits) {
        int L = c.numHiddenLayers();
        int hid = c.hiddenSize();
        int V = c.vocabSize();
        Matrix m = w.lmHead;
        TaskGraph g = new TaskGraph(name(rows == 1 ? L + 1 : L));
        g.consumeFromDevice(name(L - 1), s.x);
        g.transferToDevice(DataTransferMode.EVERY_EXECUTION, s.meta, s.logitRows);
        g.transferToDevice(DataTransferMode.FIRST_EXECUTION, w.table, w.finalNorm, m.f32(), m.half(), scale, logits);
        grid(g, "headScale");
        g.task("headScale", TornadoKernels::headScale, rows, THREADS, s.meta, s.logitRows, s.x, scale, hid,
                c.normEps());
        grid(g, "lmHead");
        g.task("lmHead", TornadoKernels::lmHead, rows * V, THREADS, s.meta, s.logitRows, s.x, scale, w.finalNorm,
                m.f32(), m.half(), w.dtype, w.table, logits, V, hid);
        g.transferToHost(DataTransferMode.EVERY_EXECUTION, logits);
        return g;
    }

    /** Threads per CUDA block / OpenCL work-group (override: -Dmoescope.tornado.block). */
    private static final int BLOCK = Integer.getInteger("moescope.tornado.block", 128);

    /** Threads of every task, a multiple of BLOCK (override: -Dmoescope.tornado.threads). */
    static final int THREADS = Math.max(1, Integer.getInteger("moescope.tornado.threads", 1 << 17) / BLOCK) * BLOCK;

    /**
     * Gives a task THREADS threads in blocks of BLOCK; its kernel loops over its n bodies with stride THREADS. Why one
     * grid for all: with a GridScheduler, TornadoVM passes a task's loop bound as its grid's global size in a 24-byte
     * kernel context, and its PTX driver (5.2.0) keeps ONE context per execution plan, copied to the device with an
     * asynchronous copy from a pinned host buffer before each launch. When the GPU runs behind the host (kernels
     * longer than the host's enqueue, as at real sizes), the host has already refilled that buffer for a later task
     * by the time an earlier copy runs, so kernels ran with another task's bound: some outputs were never written
     * (the mini checkpoint's mismatch on an H200; tiny models, whose kernels finish at once, passed). With the same
     * global size everywhere the context never changes, so the race is harmless. Blocks: TornadoVM's default for a
     * one-dimensional task is the device's maximum (1024 on NVIDIA GPUs), which our register-heavy kernels cannot
     * launch with: CUDA error 701 (too many resources requested) through PTX, CL_OUT_OF_RESOURCES through OpenCL.
     */
    private void grid(TaskGraph g, String task) {
        WorkerGrid1D grid = new WorkerGrid1D(THREADS);
        grid.setLocalWork(Math.min(BLOCK, THREADS), 1, 1);
        grids.addWorkerGrid(g.getTaskGraphName() + "." + task, grid);
    }

    @Override
    public void layer(int l) {
        results[l] = plan.withGraph(l).execute();
    }

    @Override
    public void routesToHost(int l) {
        DeviceState.Layer b = s.layers[l];
        results[l].transferToHost(b.xb, b.routerLogits, b.probs, b.ids, b.weights);
    }

    @Override
    public void head() {
        if (s.meta[1] == 1) {
            plan.withGraph(c.numHiddenLayers() + 1).execute();
            System.arraycopy(logitsOne, 0, s.logits, 0, logitsOne.length);
        } else {
            plan.withGraph(c.numHiddenLayers()).execute();
        }
    }

    @Override
    public void close() {
        try {
            plan.close();
        } catch (TornadoExecutionPlanException e) {
            throw new IllegalStateException("TornadoVM: releasing the device memory failed", e);
        }
    }
}
