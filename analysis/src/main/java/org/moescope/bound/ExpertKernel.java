package org.moescope.bound;

import org.moescope.errors.BadInputException;

import java.util.Locale;

/**
 * The NTK of one expert, K_f(x, x'). With identical experts the routing kernel is H = (G Gᵀ) ⊙ K_f (notes §6.2).
 * ARCCOS is the infinite-width NTK of a one-hidden-layer ReLU net f(x) = (1/√m) aᵀ ReLU(W x) with a, W ~ N(0, 1);
 * LINEAR is the plain inner product; PRECOMPUTED means the caller supplies the kernel matrix (e.g. an empirical
 * NTK), so there is no function to evaluate.
 */
public enum ExpertKernel {
    ARCCOS, LINEAR, PRECOMPUTED;

    /** The lower-case name used on the command line and in JSON. */
    public String cliName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static ExpertKernel parse(String name) {
        for (ExpertKernel k : values()) {
            if (k.cliName().equals(name)) {
                return k;
            }
        }
        throw new BadInputException(
                "--kernel: unknown kernel '" + name + "' (expected arccos, linear or precomputed)");
    }

    /** K_f(a, b). */
    public double value(double[] a, double[] b) {
        return switch (this) {
            case LINEAR -> dot(a, b);
            case ARCCOS -> {
                double na = Math.sqrt(dot(a, a));
                double nb = Math.sqrt(dot(b, b));
                yield arccos(na, nb, dot(a, b), angle(a, na, b, nb));
            }
            case PRECOMPUTED -> throw new IllegalStateException("a precomputed kernel comes from a matrix, not a function");
        };
    }

    /** The matrix K_f(a_i, b_j), shape (a.length, b.length). Rows of a and b are points of the same dimension. */
    public double[][] gram(double[][] a, double[][] b) {
        if (this == PRECOMPUTED) {
            throw new IllegalStateException("a precomputed kernel comes from a matrix, not a function");
        }
        double[] normA = norms(a); // (a.length)
        double[] normB = norms(b); // (b.length)
        double[][] k = new double[a.length][b.length];
        for (int i = 0; i < a.length; i++) {
            for (int j = 0; j < b.length; j++) {
                double d = dot(a[i], b[j]);
                k[i][j] = this == LINEAR ? d : arccos(normA[i], normB[j], d, angle(a[i], normA[i], b[j], normB[j]));
            }
        }
        return k;
    }

    /**
     * (‖a‖‖b‖/2π)(sin φ + (π − φ) cos φ) + aᵀb (π − φ)/2π. The first term is the readout-layer part of the NTK
     * (degree-1 arc-cosine kernel), the second the hidden-layer part (degree-0 kernel times aᵀb).
     */
    static double arccos(double normA, double normB, double dot, double phi) {
        double scale = normA * normB;
        if (scale == 0.0) {
            return 0.0; // a zero input makes every ReLU feature and its gradient zero
        }
        return scale / (2 * Math.PI) * (Math.sin(phi) + (Math.PI - phi) * Math.cos(phi)) + dot * (Math.PI - phi) / (2 * Math.PI);
    }

    /**
     * The angle between a and b as 2·atan2(‖â − b̂‖, ‖â + b̂‖) (Kahan). acos of a clamped cosine loses half the digits
     * near φ = 0, where the kernel's diagonal lives: acos(1 − 2⁻⁵²) is already 2e-8.
     */
    static double angle(double[] a, double normA, double[] b, double normB) {
        if (normA == 0.0 || normB == 0.0) {
            return Math.PI / 2; // unused: the kernel is 0 for a zero vector
        }
        double minus = 0;
        double plus = 0;
        for (int i = 0; i < a.length; i++) {
            double ua = a[i] / normA;
            double ub = b[i] / normB;
            minus += (ua - ub) * (ua - ub);
            plus += (ua + ub) * (ua + ub);
        }
        return 2 * Math.atan2(Math.sqrt(minus), Math.sqrt(plus));
    }

    private static double[] norms(double[][] rows) {
        double[] n = new double[rows.length];
        for (int i = 0; i < rows.length; i++) {
            n[i] = Math.sqrt(dot(rows[i], rows[i]));
        }
        return n;
    }

    static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += a[i] * b[i];
        }
        return s;
    }
}
