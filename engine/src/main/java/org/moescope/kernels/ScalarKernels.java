package org.moescope.kernels;

import org.moescope.safetensors.Numbers;

import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/** Plain loops: the reference implementation the SIMD path is tested against. Single-threaded. */
public final class ScalarKernels implements Kernels {
    static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    @Override
    public void matmul(float[] out, float[] x, int tokens, Weight w) {
        float[] row = new float[w.cols()];
        for (int r = 0; r < w.rows(); r++) {
            row(w, r, row, 0);
            for (int t = 0; t < tokens; t++) {
                out[t * w.rows() + r] = dot(row, 0, x, t * w.cols(), w.cols());
            }
        }
    }

    @Override
    public void matmul(float[] x, int tokens, Weight[] ws, float[][] outs) {
        for (int i = 0; i < ws.length; i++) {
            matmul(outs[i], x, tokens, ws[i]);
        }
    }

    @Override
    public void matmulTransposed(float[] out, float[] x, int tokens, Weight w) {
        int rows = w.rows(), cols = w.cols();
        float[] row = new float[cols];
        java.util.Arrays.fill(out, 0, tokens * cols, 0f);
        for (int r = 0; r < rows; r++) {
            row(w, r, row, 0);
            for (int t = 0; t < tokens; t++) {
                axpy(out, t * cols, x[t * rows + r], row, 0, cols);
            }
        }
    }

    /** One token at a time, its experts in ascending id order: the definition, with no grouping. */
    @Override
    public void moe(float[] out, float[] x, int tokens, int[] topkIds, float[] topkWeights, int k, Experts experts) {
        Weight[] gate = experts.gate(), up = experts.up(), down = experts.down();
        int hidden = down[0].rows();
        int inter = gate[0].rows();
        float[] xt = new float[hidden];
        float[] g = new float[inter];
        float[] u = new float[inter];
        float[] o = new float[hidden];
        int[] order = new int[k];
        for (int t = 0; t < tokens; t++) {
            System.arraycopy(x, t * hidden, xt, 0, hidden);
            java.util.Arrays.fill(out, t * hidden, (t + 1) * hidden, 0f);
            ascendingExperts(topkIds, t * k, k, order);
            for (int j : order) {
                int e = topkIds[t * k + j];
                matmul(g, xt, 1, gate[e]);
                matmul(u, xt, 1, up[e]);
                for (int i = 0; i < inter; i++) {
                    g[i] = experts.activate(g[i] + experts.gateBias(e, i), u[i] + experts.upBias(e, i));
                }
                matmul(o, g, 1, down[e]);
                for (int i = 0; i < hidden; i++) o[i] += experts.downBias(e, i);
                axpy(out, t * hidden, topkWeights[t * k + j], o, 0, hidden);
            }
        }
    }

    /** order[0..k) = the choice indices j of ids[off .. off+k), sorted by expert id. */
    static void ascendingExperts(int[] ids, int off, int k, int[] order) {
        for (int j = 0; j < k; j++) {
            int i = j;
            while (i > 0 && ids[off + order[i - 1]] > ids[off + j]) {
                order[i] = order[i - 1];
                i--;
            }
            order[i] = j;
        }
    }

    @Override
    public void attention(float[] out, float[] q, int tokens, float[] keys, float[] values, int[] cacheRow,
                          int[] visibleFrom, int heads, int kvHeads, int headDim, float scale, float[] sinks) {
        int dim = heads * headDim;
        int kvDim = kvHeads * headDim;
        int group = heads / kvHeads;
        java.util.Arrays.fill(out, 0, tokens * dim, 0f);
        for (int t = 0; t < tokens; t++) {
            int from = visibleFrom[t];
            int seen = cacheRow[t] - from + 1;
            float[] scores = new float[seen];
            for (int h = 0; h < heads; h++) {
                int qOff = t * dim + h * headDim;
                int kvOff = (h / group) * headDim;
                for (int j = 0; j < seen; j++) {
                    scores[j] = dot(q, qOff, keys, (from + j) * kvDim + kvOff, headDim) * scale;
                }
                if (sinks == null) {
                    softmax(scores, 0, seen);
                } else {
                    softmaxWithSink(scores, 0, seen, sinks[h]);
                }
                for (int j = 0; j < seen; j++) {
                    axpy(out, qOff, scores[j], values, (from + j) * kvDim + kvOff, headDim);
                }
            }
        }
    }

    /**
     * Softmax of x[off .. off+n) with one more logit, the sink, in the denominator only (HF's gpt-oss eager attention:
     * softmax over the scores and the sink, the sink's probability dropped).
     */
    static void softmaxWithSink(float[] x, int off, int n, float sink) {
        float max = sink;
        for (int i = 0; i < n; i++) max = Math.max(max, x[off + i]);
        float sum = Exp.exp(sink - max);
        for (int i = 0; i < n; i++) {
            x[off + i] = Exp.exp(x[off + i] - max);
            sum += x[off + i];
        }
        for (int i = 0; i < n; i++) x[off + i] /= sum;
    }

    @Override
    public void row(Weight w, int r, float[] out, int off) {
        if (w.ggml() != null) {
            GgmlRows.decode(w, r, 0, w.cols(), out, off);
            return;
        }
        long base = w.rowOffset(r);
        for (int c = 0; c < w.cols(); c++) {
            out[off + c] = element(w, base, c);
        }
    }

    static float element(Weight w, long rowBase, int c) {
        return switch (w.dtype()) {
            case F32 -> w.data().get(F32, rowBase + 4L * c);
            case BF16 -> Numbers.bf16ToFloat(w.data().get(I16, rowBase + 2L * c));
            case F16 -> Float.float16ToFloat(w.data().get(I16, rowBase + 2L * c));
            // rowBase / (bytes of a row) is the stored row, whose scales are a stored scale row apart.
            case I8 -> w.data().get(ValueLayout.JAVA_BYTE, rowBase + c)
                    * w.scales().get(F32, (rowBase / w.cols() * (w.cols() / Weight.GROUP) + c / Weight.GROUP) * 4L);
            case U8 -> {
                int b = w.data().get(ValueLayout.JAVA_BYTE, rowBase + c / 2);
                int code = (c & 1) == 0 ? b & 0xF : (b >> 4) & 0xF;
                int e = w.scales().get(ValueLayout.JAVA_BYTE,
                        rowBase / (w.cols() / 2) * (w.cols() / Weight.MXFP4_GROUP) + c / Weight.MXFP4_GROUP) & 0xFF;
                yield Math.scalb(Weight.FP4[code], e - 127);
            }
            case F8_E4M3 -> org.moescope.weights.Fp8.e4m3(w.data().get(ValueLayout.JAVA_BYTE, rowBase + c))
                    * w.scale((int) (rowBase / w.cols()), c);
            default -> throw new IllegalStateException();
        };
    }

    @Override
    public void rmsnorm(float[] out, int outOff, float[] x, int xOff, float[] weight, int n, float eps) {
        float ss = 0f;
        for (int i = 0; i < n; i++) {
            ss += x[xOff + i] * x[xOff + i];
        }
        float scale = (float) (1.0 / Math.sqrt(ss / n + eps));
        for (int i = 0; i < n; i++) {
            out[outOff + i] = weight[i] * (x[xOff + i] * scale);
        }
    }

    @Override
    public void layernorm(float[] out, int outOff, float[] x, int xOff, float[] weight, float[] bias, int n, float eps) {
        layerNorm(out, outOff, x, xOff, weight, bias, n, eps);
    }

    /** LayerNorm with the statistics in double: once per token and block, not worth vectorising. */
    static void layerNorm(float[] out, int outOff, float[] x, int xOff, float[] weight, float[] bias, int n, float eps) {
        double sum = 0;
        for (int i = 0; i < n; i++) sum += x[xOff + i];
        float mean = (float) (sum / n);
        double ss = 0;
        for (int i = 0; i < n; i++) {
            float d = x[xOff + i] - mean;
            ss += d * d;
        }
        float inv = (float) (1.0 / Math.sqrt(ss / n + eps));
        for (int i = 0; i < n; i++) {
            out[outOff + i] = (x[xOff + i] - mean) * inv * weight[i] + bias[i];
        }
    }

    @Override
    public void softmax(float[] x, int off, int n) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) max = Math.max(max, x[off + i]);
        float sum = 0f;
        for (int i = 0; i < n; i++) {
            x[off + i] = Exp.exp(x[off + i] - max);
            sum += x[off + i];
        }
        for (int i = 0; i < n; i++) x[off + i] /= sum;
    }

    @Override
    public void siluMul(float[] gate, float[] up, int n) {
        for (int i = 0; i < n; i++) gate[i] = Exp.silu(gate[i]) * up[i];
    }

    @Override
    public float dot(float[] a, int aOff, float[] b, int bOff, int n) {
        float s = 0f;
        for (int i = 0; i < n; i++) s += a[aOff + i] * b[bOff + i];
        return s;
    }

    @Override
    public void axpy(float[] y, int yOff, float alpha, float[] x, int xOff, int n) {
        for (int i = 0; i < n; i++) y[yOff + i] += alpha * x[xOff + i];
    }

    @Override
    public void crossEntropy(float[] logits, int rows, int vocab, int[] targets, float[] nll, int[] argmax) {
        for (int r = 0; r < rows; r++) {
            int off = r * vocab;
            int best = 0;
            for (int i = 1; i < vocab; i++) {
                if (logits[off + i] > logits[off + best]) best = i;
            }
            float max = logits[off + best];
            double sum = 0;
            for (int i = 0; i < vocab; i++) sum += Exp.exp(logits[off + i] - max);
            nll[r] = (float) (max + Math.log(sum) - logits[off + targets[r]]);
            argmax[r] = best;
        }
    }
}
