package org.moescope.bound;

import org.moescope.errors.BadInputException;

/**
 * The data the bound is evaluated on, checked on construction: every shape mismatch, missing companion tensor or
 * non-finite value is a BadInputException that names the tensor as it is called in the input file.
 * Either X (and Xtest) or the precomputed expert kernel K (and Ktest) must be there.
 *
 * @param source where the data came from, for error messages (a file name, or "synthetic")
 */
public record BoundInput(
        String source,
        double[][] x,     // (n, D) inputs, or null when the expert kernel is given as k
        double[][] g,     // (n, experts) fixed routing weights g_k(x_i)
        double[] y,       // (n) noisy training labels
        double[] f,       // (n) noise-free targets f*(x_i), or null
        double[][] xTest, // (m, D) or null
        double[][] gTest, // (m, experts) or null when there is no test set
        double[] fTest,   // (m) noise-free test targets, or null when there is no test set
        double[][] k,     // (n, n) precomputed expert kernel K_f(x_i, x_j), or null
        double[][] kTest  // (m, n) precomputed K_f(xtest_i, x_j), or null
) {
    public BoundInput {
        if (g == null) {
            throw bad(source, "tensor G is missing");
        }
        if (y == null) {
            throw bad(source, "tensor y is missing");
        }
        if (x == null && k == null) {
            throw bad(source, "need tensor X (or a precomputed expert kernel K)");
        }
        int n = y.length;
        if (n < 1) {
            throw bad(source, "tensor y is empty");
        }
        requireRows(source, "G", g, n, "y");
        requireRectangular(source, "G", g);
        if (g[0].length < 1) {
            throw bad(source, "tensor G has no experts (second dimension 0)");
        }
        requireGates(source, "G", g);
        requireFinite(source, "y", y);
        if (x != null) {
            requireRows(source, "X", x, n, "y");
            requireRectangular(source, "X", x);
            requireFinite(source, "X", x);
        }
        if (f != null) {
            requireLength(source, "f", f, n, "y");
            requireFinite(source, "f", f);
        }
        if (k != null) {
            requireRows(source, "K", k, n, "y");
            requireRectangular(source, "K", k);
            if (k[0].length != n) {
                throw bad(source, "tensor K must be [" + n + ", " + n + "] but is [" + n + ", " + k[0].length + "]");
            }
            requireFinite(source, "K", k);
        }
        boolean anyTest = xTest != null || gTest != null || fTest != null || kTest != null;
        if (anyTest) {
            if (gTest == null || fTest == null) {
                throw bad(source, "a test set needs both Gtest and ftest" + (xTest != null ? " (Xtest is there)" : ""));
            }
            int m = fTest.length;
            if (m < 1) {
                throw bad(source, "tensor ftest is empty");
            }
            requireFinite(source, "ftest", fTest);
            requireRows(source, "Gtest", gTest, m, "ftest");
            requireRectangular(source, "Gtest", gTest);
            if (gTest[0].length != g[0].length) {
                throw bad(source, "tensor Gtest has " + gTest[0].length + " experts but G has " + g[0].length);
            }
            requireGates(source, "Gtest", gTest);
            if (xTest == null && kTest == null) {
                throw bad(source, "a test set needs Xtest (or a precomputed Ktest)");
            }
            if (xTest != null) {
                if (x == null) {
                    throw bad(source, "tensor Xtest is given but X is not");
                }
                requireRows(source, "Xtest", xTest, m, "ftest");
                requireRectangular(source, "Xtest", xTest);
                if (xTest[0].length != x[0].length) {
                    throw bad(source, "tensor Xtest has dimension " + xTest[0].length + " but X has " + x[0].length);
                }
                requireFinite(source, "Xtest", xTest);
            }
            if (kTest != null) {
                requireRows(source, "Ktest", kTest, m, "ftest");
                requireRectangular(source, "Ktest", kTest);
                if (kTest[0].length != n) {
                    throw bad(source, "tensor Ktest must be [" + m + ", " + n + "] but is [" + m + ", " + kTest[0].length + "]");
                }
                requireFinite(source, "Ktest", kTest);
            }
        }
    }

    public int n() {
        return y.length;
    }

    public boolean hasTestSet() {
        return fTest != null;
    }

    /** The routing kernel on the training set and, when there is a test set, between test and training points. */
    public record RoutingGrams(
            double[][] h,     // (n, n) H = (G Gᵀ) ⊙ K_f(X, X)
            double[][] hTest  // (m, n) (Gtest Gᵀ) ⊙ K_f(Xtest, X), or null
    ) {
    }

    /** Builds H (and H_test) with the given expert kernel; PRECOMPUTED takes K and Ktest from the input. */
    public RoutingGrams routingGrams(ExpertKernel kernel) {
        double[][] kTrain;
        double[][] kCross = null;
        if (kernel == ExpertKernel.PRECOMPUTED) {
            if (k == null) {
                throw bad(source, "--kernel precomputed needs tensor K");
            }
            if (hasTestSet() && kTest == null) {
                throw bad(source, "--kernel precomputed with a test set needs tensor Ktest");
            }
            kTrain = symmetrised(source, k);
            kCross = hasTestSet() ? kTest : null;
        } else {
            if (x == null) {
                throw bad(source, "--kernel " + kernel.cliName() + " needs tensor X (the file has only a precomputed K)");
            }
            if (hasTestSet() && xTest == null) {
                throw bad(source, "--kernel " + kernel.cliName() + " with a test set needs tensor Xtest");
            }
            kTrain = kernel.gram(x, x);
            kCross = hasTestSet() ? kernel.gram(xTest, x) : null;
        }
        double[][] h = RoutingKernel.hadamardWithGates(g, g, kTrain);
        double[][] hTest = kCross == null ? null : RoutingKernel.hadamardWithGates(gTest, g, kCross);
        return new RoutingGrams(h, hTest);
    }

    /** K must be symmetric up to rounding (float32 files); averaging the two halves removes that rounding. */
    private static double[][] symmetrised(String source, double[][] k) {
        int n = k.length;
        double max = 0;
        for (double[] row : k) {
            for (double v : row) {
                max = Math.max(max, Math.abs(v));
            }
        }
        double tol = 1e-5 * max;
        double[][] s = new double[n][n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                if (Math.abs(k[i][j] - k[j][i]) > tol) {
                    throw bad(source, "tensor K is not symmetric: K[" + i + "][" + j + "] = " + k[i][j]
                            + " but K[" + j + "][" + i + "] = " + k[j][i]);
                }
                s[i][j] = 0.5 * (k[i][j] + k[j][i]);
            }
        }
        return s;
    }

    static BadInputException bad(String source, String message) {
        return new BadInputException(source + ": " + message);
    }

    private static void requireRows(String source, String name, double[][] a, int n, String other) {
        if (a.length != n) {
            throw bad(source, "tensor " + name + " has " + a.length + " rows but " + other + " has " + n);
        }
    }

    private static void requireLength(String source, String name, double[] a, int n, String other) {
        if (a.length != n) {
            throw bad(source, "tensor " + name + " has " + a.length + " entries but " + other + " has " + n);
        }
    }

    private static void requireRectangular(String source, String name, double[][] a) {
        for (int i = 1; i < a.length; i++) {
            if (a[i].length != a[0].length) {
                throw bad(source, "tensor " + name + " is ragged: row " + i + " has " + a[i].length
                        + " columns, row 0 has " + a[0].length);
            }
        }
    }

    private static void requireFinite(String source, String name, double[] a) {
        for (int i = 0; i < a.length; i++) {
            if (!Double.isFinite(a[i])) {
                throw bad(source, "tensor " + name + " has a non-finite value (" + a[i] + ") at [" + i + "]");
            }
        }
    }

    private static void requireFinite(String source, String name, double[][] a) {
        for (int i = 0; i < a.length; i++) {
            for (int j = 0; j < a[i].length; j++) {
                if (!Double.isFinite(a[i][j])) {
                    throw bad(source, "tensor " + name + " has a non-finite value (" + a[i][j] + ") at [" + i + ", " + j + "]");
                }
            }
        }
    }

    /** The theory assumes gates in [0, 1] (notes §6.1); anything else is not a router output. */
    private static void requireGates(String source, String name, double[][] a) {
        requireFinite(source, name, a);
        for (int i = 0; i < a.length; i++) {
            for (int j = 0; j < a[i].length; j++) {
                if (a[i][j] < 0 || a[i][j] > 1 + 1e-6) {
                    throw bad(source, "tensor " + name + " has a gate outside [0, 1] (" + a[i][j] + ") at [" + i + ", " + j + "]");
                }
            }
        }
    }
}
