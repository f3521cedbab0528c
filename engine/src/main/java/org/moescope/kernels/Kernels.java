package org.moescope.kernels;

/**
 * The numeric primitives of the forward pass. Two implementations compute the same thing: {@link ScalarKernels}
 * (plain loops, the reference the tests trust) and {@link VectorKernels} (JDK Vector API, all cores). Arrays are
 * row-major; offsets are in elements.
 */
public interface Kernels {
    /** out (T, w.rows) = x (T, w.cols) · wᵀ, widening w from its stored dtype. */
    void matmul(float[] out, float[] x, int tokens, Weight w);

    /** Copies row r of w into out[off .. off+w.cols), widened to float. */
    void row(Weight w, int r, float[] out, int off);

    /** out = weight ⊙ x / sqrt(mean(x²) + eps) over n elements. out may alias x. */
    void rmsnorm(float[] out, int outOff, float[] x, int xOff, float[] weight, int n, float eps);

    /** In-place softmax over x[off .. off+n). */
    void softmax(float[] x, int off, int n);

    /** gate[i] = silu(gate[i]) · up[i] for i < n (SwiGLU). */
    void siluMul(float[] gate, float[] up, int n);

    float dot(float[] a, int aOff, float[] b, int bOff, int n);

    /** y[yOff..] += alpha · x[xOff..] over n elements. */
    void axpy(float[] y, int yOff, float alpha, float[] x, int xOff, int n);
}
