package org.moescope.bound;

import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.factory.LinearSolverFactory_DDRM;
import org.ejml.interfaces.linsol.LinearSolverDense;
import org.moescope.errors.BadInputException;

/**
 * Evaluates the one-layer MoE bound of Theorem 4.1 (notes §6.3) against kernel ridge regression with the routing
 * kernel, which is what training only the experts converges to in the NTK regime with F(θ(0), ·) ≡ 0 (notes §7).
 */
public final class GeneralizationBound {
    private GeneralizationBound() {
    }

    /** Builds H from the input with settings.kernel() and evaluates the bound. */
    public static BoundResult evaluate(BoundInput input, BoundSettings settings) {
        BoundInput.RoutingGrams grams = input.routingGrams(settings.kernel());
        String kernelName = settings.kernel() == ExpertKernel.PRECOMPUTED
                ? "tensor K" : "the " + settings.kernel().cliName() + " kernel of X";
        return evaluate(input.source(), kernelName, grams.h(), input.y(), input.f(), grams.hTest(), input.fTest(), settings);
    }

    /**
     * The bound for a given routing kernel.
     *
     * @param source     for error messages
     * @param kernelName what H was built from, for the not-PSD message
     * @param h          (n, n) symmetric routing kernel H
     * @param y          (n) noisy labels
     * @param f          (n) noise-free targets, or null (the in-sample risk then uses y)
     * @param hTest      (m, n) routing kernel between test and training points, or null
     * @param fTest      (m) noise-free test targets, or null
     */
    public static BoundResult evaluate(String source, String kernelName, double[][] h, double[] y, double[] f,
                                       double[][] hTest, double[] fTest, BoundSettings settings) {
        int n = y.length;
        double[] mu = KernelSpectrum.eigenvalues(h); // (n) descending
        requirePsd(source, kernelName, mu);

        double trace = 0;
        for (int i = 0; i < n; i++) {
            trace += h[i][i];
        }
        double traceOverN = trace / n;
        double lambda = settings.lambda();
        if (settings.lambdaRelative()) {
            if (!(traceOverN > 0)) {
                throw new BadInputException(source + ": --lambda-relative needs a routing kernel with positive trace, got Tr(H) = " + trace);
            }
            lambda = settings.lambda() * traceOverN;
        }
        double sigma2 = settings.sigma() * settings.sigma();

        RidgeSystem ridge = new RidgeSystem(h, lambda);
        double[] alpha = ridge.solve(y);
        double dEff = KernelSpectrum.effectiveDimension(mu, lambda);
        // yᵀ(H + λI)⁻² y = ‖(H + λI)⁻¹ y‖² = ‖α‖²
        double biasTerm = lambda * lambda / n * squaredNorm(alpha);
        double varianceTerm = sigma2 * dEff / n;
        double noiseTerm = sigma2 * Math.log(1 / settings.delta()) / n;
        double rhs = biasTerm + varianceTerm + noiseTerm;

        double[] target = f != null ? f : y;
        double inSampleRisk = meanSquaredError(multiply(h, alpha), target);
        double expectedInSample = f == null ? Double.NaN : expectedInSampleRisk(mu, ridge.solve(f), lambda, settings.sigma());
        double populationRisk = hTest == null ? Double.NaN : meanSquaredError(multiply(hTest, alpha), fTest);

        double risk = hTest == null ? inSampleRisk : populationRisk;
        double minC1 = minimalC1(risk, biasTerm, varianceTerm + noiseTerm);
        return new BoundResult(n, lambda, settings.lambdaRelative() ? settings.lambda() : Double.NaN, traceOverN,
                settings.sigma(), settings.delta(), settings.kernel(),
                dEff, biasTerm, varianceTerm, noiseTerm, rhs,
                inSampleRisk, f != null ? "f" : "y", expectedInSample,
                populationRisk, inSampleRisk <= rhs, hTest != null && populationRisk <= rhs,
                minC1, hTest == null ? "in_sample" : "population",
                mu);
    }

    /** H + λI, Cholesky-factored once; positive definite for PSD H and λ > 0. */
    static final class RidgeSystem {
        private final LinearSolverDense<DMatrixRMaj> chol;
        private final int n;

        RidgeSystem(double[][] h, double lambda) {
            n = h.length;
            DMatrixRMaj a = new DMatrixRMaj(h);
            for (int i = 0; i < n; i++) {
                a.add(i, i, lambda);
            }
            chol = LinearSolverFactory_DDRM.chol(n);
            if (!chol.setA(a)) {
                throw new ArithmeticException("H + λI is not positive definite (λ = " + lambda + "); H must be PSD");
            }
        }

        /** (H + λI)⁻¹ v. */
        double[] solve(double[] v) {
            DMatrixRMaj b = new DMatrixRMaj(n, 1, true, v.clone());
            DMatrixRMaj x = new DMatrixRMaj(n, 1);
            chol.solve(b, x);
            return x.getData().clone();
        }
    }

    /** α = (H + λI)⁻¹ y by a Cholesky solve. */
    public static double[] ridgeCoefficients(double[][] h, double[] y, double lambda) {
        return new RidgeSystem(h, lambda).solve(y);
    }

    /**
     * E over ε ~ N(0, σ² I) of mean((H(H+λI)⁻¹(f + ε) − f)²) = (1/n)[λ² fᵀ(H+λI)⁻² f + σ² Σ μ²/(μ+λ)²].
     * This is not in the paper (notes §7, LHS item 3); it is ≤ bias + variance term-by-term.
     */
    public static double expectedInSampleRisk(double[][] h, double[] f, double lambda, double sigma) {
        return expectedInSampleRisk(KernelSpectrum.eigenvalues(h), ridgeCoefficients(h, f, lambda), lambda, sigma);
    }

    /** The same from H's eigenvalues μ and β = (H + λI)⁻¹ f. */
    private static double expectedInSampleRisk(double[] mu, double[] beta, double lambda, double sigma) {
        double noise = 0;
        for (double m0 : mu) {
            double m = Math.max(m0, 0);
            noise += m * m / ((m + lambda) * (m + lambda));
        }
        return (lambda * lambda * squaredNorm(beta) + sigma * sigma * noise) / beta.length;
    }

    /** smallest C1 ≥ 0 with risk ≤ C1·bias + rest. */
    static double minimalC1(double risk, double bias, double rest) {
        double excess = risk - rest;
        if (excess <= 0) {
            return 0;
        }
        return bias > 0 ? excess / bias : Double.POSITIVE_INFINITY;
    }

    /**
     * Rounding makes a PSD H show eigenvalues slightly below zero; a float32 kernel perturbs them by up to about
     * n · 6e-8 · μ_max. Anything further below zero means the kernel itself is indefinite.
     */
    private static void requirePsd(String source, String kernelName, double[] mu) {
        int n = mu.length;
        double scale = Math.max(Math.abs(mu[0]), Math.abs(mu[n - 1]));
        double tol = 1e-7 * n * scale + Double.MIN_NORMAL;
        if (mu[n - 1] < -tol) {
            throw new BadInputException(source + ": " + kernelName + " is not positive semidefinite: the routing kernel "
                    + "(G Gᵀ) ⊙ K has eigenvalue " + mu[n - 1] + " (largest " + mu[0] + ")");
        }
    }

    static double[] multiply(double[][] a, double[] v) {
        double[] r = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            r[i] = ExpertKernel.dot(a[i], v);
        }
        return r;
    }

    static double squaredNorm(double[] v) {
        return ExpertKernel.dot(v, v);
    }

    static double meanSquaredError(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            double d = a[i] - b[i];
            s += d * d;
        }
        return s / a.length;
    }
}
