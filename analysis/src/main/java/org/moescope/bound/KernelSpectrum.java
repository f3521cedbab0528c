package org.moescope.bound;

import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.EigenDecomposition_F64;

/**
 * H = U diag(μ) Uᵀ for a symmetric H, eigenvalues in descending order.
 *
 * @param eigenvalues  (n) μ_r, descending
 * @param eigenvectors (n, n) column r is u_r (row-major: eigenvectors[i][r] = (u_r)_i)
 */
public record KernelSpectrum(double[] eigenvalues, double[][] eigenvectors) {

    public static KernelSpectrum of(double[][] h) {
        int n = h.length;
        DMatrixRMaj a = new DMatrixRMaj(h);
        EigenDecomposition_F64<DMatrixRMaj> eig = DecompositionFactory_DDRM.eig(n, true, true);
        if (!eig.decompose(a)) {
            // EJML's symmetric QR algorithm only fails on non-finite input, which BoundInput rejects earlier.
            throw new ArithmeticException("eigendecomposition of the " + n + "x" + n + " routing kernel did not converge");
        }
        Integer[] order = new Integer[n];
        for (int r = 0; r < n; r++) {
            order[r] = r;
        }
        java.util.Arrays.sort(order, (p, q) -> Double.compare(eig.getEigenvalue(q).real, eig.getEigenvalue(p).real));
        double[] mu = new double[n];
        double[][] u = new double[n][n];
        for (int r = 0; r < n; r++) {
            mu[r] = eig.getEigenvalue(order[r]).real;
            DMatrixRMaj v = eig.getEigenVector(order[r]);
            for (int i = 0; i < n; i++) {
                u[i][r] = v.get(i, 0);
            }
        }
        return new KernelSpectrum(mu, u);
    }

    /** The eigenvalues alone, descending: about three times cheaper than the full decomposition. */
    public static double[] eigenvalues(double[][] h) {
        int n = h.length;
        EigenDecomposition_F64<DMatrixRMaj> eig = DecompositionFactory_DDRM.eig(n, false, true);
        if (!eig.decompose(new DMatrixRMaj(h))) {
            throw new ArithmeticException("eigendecomposition of the " + n + "x" + n + " routing kernel did not converge");
        }
        double[] mu = new double[n];
        for (int r = 0; r < n; r++) {
            mu[r] = eig.getEigenvalue(r).real;
        }
        java.util.Arrays.sort(mu);
        for (int r = 0; r < n / 2; r++) {
            double t = mu[r];
            mu[r] = mu[n - 1 - r];
            mu[n - 1 - r] = t;
        }
        return mu;
    }

    public int size() {
        return eigenvalues.length;
    }

    /** u_rᵀ v for every r: the coordinates of v in the eigenbasis. */
    public double[] project(double[] v) {
        int n = size();
        double[] c = new double[n];
        for (int i = 0; i < n; i++) {
            double vi = v[i];
            double[] ui = eigenvectors[i];
            for (int r = 0; r < n; r++) {
                c[r] += ui[r] * vi;
            }
        }
        return c;
    }

    /** Σ μ_r/(μ_r + λ), with rounding-level negative eigenvalues counted as 0. */
    public double effectiveDimension(double lambda) {
        return effectiveDimension(eigenvalues, lambda);
    }

    /** Σ μ_r/(μ_r + λ) over the given eigenvalues, negative ones counted as 0. */
    public static double effectiveDimension(double[] eigenvalues, double lambda) {
        double d = 0;
        for (double mu : eigenvalues) {
            double m = Math.max(mu, 0);
            d += m / (m + lambda);
        }
        return d;
    }
}
