package org.moescope.tornado;

import org.moescope.gpu.DeviceKernels;
import uk.ac.manchester.tornado.api.annotations.Parallel;

/**
 * The task methods TornadoVM compiles: each runs the per-thread bodies 0 .. n-1 of {@link DeviceKernels}, which the
 * default build tests on the JVM, as a grid-stride loop over a {@code @Parallel} range of the same `threads` in every
 * task (see TornadoRunner.grid for why). n is fixed when the graph is built (Tmax times the rows per token); bodies
 * past the live token count do nothing.
 */
final class TornadoKernels {
    private TornadoKernels() {
    }

    static void rmsScaleRows(int n, int threads, int[] meta, float[] x, float[] scale, int hidden, float eps) {
        for (@Parallel int g = 0; g < threads; g++) {
            for (int i = g; i < n; i += threads) {
                DeviceKernels.rmsScaleRows(i, meta, x, scale, hidden, eps);
            }
        }
    }

    static void qkvProj(int n, int threads, int[] meta, float[] x, float[] scale, float[] norm, float[] wf, short[] wh,
                        int dtype, float[] table, float[] qkv, int rows, int hidden) {
        for (@Parallel int g = 0; g < threads; g++) {
            for (int i = g; i < n; i += threads) {
                DeviceKernels.qkvProj(i, meta, x, scale, norm, wf, wh, dtype, table, qkv, rows, hidden);
            }
        }
    }

    static void qkScale(int n, int threads, int[] meta, float[] qkv, float[] qkScale, int hidden, int kvDim,
                        float eps) {
        for (@Parallel int g = 0; g < threads; g++) {
            for (int i = g; i < n; i += threads) {
                DeviceKernels.qkScale(i, meta, qkv, qkScale, hidden, kvDim, eps);
            }
        }
    }

    static void qkNormRope(int n, int threads, int[] meta, int[] pos, int[] cacheRow, float[] qkv, float[] qkScale,
                           float[] qkNorm, float[] rope, float[] keys, float[] values, int hidden, int kvDim,
                           int headDim, float clip) {
        for (@Parallel int g = 0; g < threads; g++) {
            for (int i = g; i < n; i += threads) {
                DeviceKernels.qkNormRope(i, meta, pos, cacheRow, qkv, qkScale, qkNorm, rope, keys, values, hidden,
                        kvDim, headDim, clip);
            }
        }
    }

    static void attention(int n, int threads, int[] meta, int[] cacheRow, int[] visibleFrom, float[] qkv, float[] keys,
                          float[] values, float[] out, int heads, int kvHeads, int headDim) {
        for (@Parallel int g = 0; g < threads; g++) {
            for (int i = g; i < n; i += threads) {
                DeviceKernels.attention(i, meta, cacheRow, visibleFrom, qkv, keys, values, out, heads, kvHeads,
                        headDim);
            }
        }
    }

    static void outProjResidual(int n, int threads, int[] meta, float[] attn, float[] wf, short[] wh, int dtype,
                                float[] table, float[] x, int hidden) {
        for (@Parallel int g = 0; g < threads; g++) {
            for (int i = g; i < n; i += threads) {
                DeviceKernels.outProjResidual(i, meta, attn, wf, wh, dtype, table, x, hidden);
            }
        }
    }

    static void normRows(int n, int threads, int[] meta, float[] x, float[] scale, float[] norm, float[] xb,
                         int hidden) {
        for (@Parallel int g = 0; g < threads; g++) {
            for (int i = g; i < n; i += threads) {
                DeviceKernels.normRows(i, meta, x, scale, norm, xb, hidden);
            }
        }
    }

    static void router(int n, int threads, int[] meta, float[] xb, float[] wf, short[] wh, int dtype, float[] table,
                       float[] logits, int experts, int hidden) {
        for (@Parallel int g = 0; g < threads; g++) {
            for (int i = g; i < n; i += threads) {
                DeviceKernels.router(i, meta, xb, wf, wh, dtype, table, logits, experts, hidden);
            }
        }
    }

    static void routeTopK(int n, int threads, int[] meta, float[] logits, float[] probs, int[] ids, float[] weights,
                          int[] order, int experts, int k, int normTopk) {
        for (@Parallel int g = 0; g < threads; g++) {
            for (int i = g; i < n; i += threads) {
                DeviceKernels.routeTopK(i, meta, logits, probs, ids, weights, order, experts, k, normTopk);
            }
        }
    }

    static void groupByExpert(int n, int threads, int[] meta, int[] ids, int[] slotToken, int[] slotExpert,
                              int[] slotOf, int k) {
        for (@Parallel int g = 0; g < threads; g++) {
            for (int i = g; i < n; i += threads) {
                DeviceKernels.groupByExpert(i, meta, ids, slotToken, slotExpert, slotOf, k);
            }
        }
    }

    static void expertGateUp(int n, int threads, int[] meta, int[] slotToken, int[] slotExpert, float[] xb, float[] wf,
                             short[] wh, int dtype, float[] table, float[] h, int k, int inter, int hidden) {
        for (@Parallel int g = 0; g < threads; g++) {
            for (int i = g; i < n; i += threads) {
                DeviceKernels.expertGateUp(i, meta, slotToken, slotExpert, xb, wf, wh, dtype, table, h, k, inter,
                        hidden);
            }
        }
    }

    static void expertDownResidual(int n, int threads, int[] meta, int[] ids, float[] weights, int[] order,
                                   int[] slotOf, float[] h, float[] wf, short[] wh, int dtype, float[] table, float[] x,
                                   int k, int inter, int hidden) {
        for (@Parallel int g = 0; g < threads; g++) {
            for (int i = g; i < n; i += threads) {
                DeviceKernels.expertDownResidual(i, meta, ids, weights, order, slotOf, h, wf, wh, dtype, table, x, k,
                        inter, hidden);
            }
        }
    }

    static void headScale(int n, int threads, int[] meta, int[] logitRows, float[] x, float[] scale, int hidden,
                          float eps) {
        for (@Parallel int g = 0; g < threads; g++) {
            for (int i = g; i < n; i += threads) {
                DeviceKernels.headScale(i, meta, logitRows, x, scale, hidden, eps);
            }
        }
    }

    static void lmHead(int n, int threads, int[] meta, int[] logitRows, float[] x, float[] scale, float[] norm,
                       float[] wf, short[] wh, int dtype, float[] table, float[] logits, int vocab, int hidden) {
        for (@Parallel int g = 0; g < threads; g++) {
            for (int i = g; i < n; i += threads) {
                DeviceKernels.lmHead(i, meta, logitRows, x, scale, norm, wf, wh, dtype, table, logits, vocab, hidden);
            }
        }
    }
}
