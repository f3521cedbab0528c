package org.moescope.bound;

import org.moescope.errors.BadInputException;

/**
 * The knobs of Theorem 4.1 (notes §6.3).
 *
 * @param lambda         ridge λ; when lambdaRelative, a multiple of Tr(H)/n instead of an absolute value
 * @param lambdaRelative λ = lambda · Tr(H)/n. Diffuse routing shrinks ⟨g(x), g(x')⟩ and with it the scale of H, which at
 *                       a fixed absolute λ lowers d_eff for no structural reason (notes §7, scale caveat)
 * @param sigma          label-noise standard deviation σ
 * @param delta          confidence δ of the high-probability statement, in (0, 1)
 * @param kernel         the expert NTK
 */
public record BoundSettings(double lambda, boolean lambdaRelative, double sigma, double delta, ExpertKernel kernel) {
    public BoundSettings {
        if (!(lambda > 0) || !Double.isFinite(lambda)) {
            throw new BadInputException("--lambda must be a positive finite number, got " + lambda);
        }
        if (!(sigma >= 0) || !Double.isFinite(sigma)) {
            throw new BadInputException("--sigma must be a finite number >= 0, got " + sigma);
        }
        if (!(delta > 0 && delta < 1)) {
            throw new BadInputException("--delta must lie strictly between 0 and 1, got " + delta);
        }
        if (kernel == null) {
            throw new BadInputException("--kernel is required");
        }
    }
}
