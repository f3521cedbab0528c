package org.moescope.bound;

/**
 * Both sides of Theorem 4.1 for one data set (notes §6.3, §7), with C1 = C2 = 1 unless stated.
 *
 * @param n                    training points
 * @param lambda               the ridge λ actually used (absolute)
 * @param lambdaRelative       the factor on Tr(H)/n when λ was given relatively, else NaN
 * @param traceOverN           Tr(H)/n, the kernel's scale
 * @param dEff                 Tr(H (H + λI)⁻¹) = Σ μ_r/(μ_r + λ)
 * @param biasTerm             (λ²/n) yᵀ(H + λI)⁻² y
 * @param varianceTerm         σ² d_eff / n
 * @param noiseTerm            σ² log(1/δ) / n
 * @param rhs                  bias + variance + noise
 * @param inSampleRisk         mean((Hα − f)²), or mean((Hα − y)²) when f was not given (see inSampleTarget)
 * @param inSampleTarget       "f" or "y": what the in-sample fit was compared with
 * @param expectedInSampleRisk E over label noise of the in-sample risk, (1/n)[λ² fᵀ(H+λI)⁻² f + σ² Tr(H²(H+λI)⁻²)];
 *                             NaN when f was not given
 * @param populationRisk       mean((H_test α − f_test)²), NaN without a test set
 * @param holdsInSample        inSampleRisk ≤ rhs
 * @param holdsPopulation      populationRisk ≤ rhs; false without a test set
 * @param minC1                smallest C1 ≥ 0 with risk ≤ C1·bias + variance + noise, where risk is the population risk
 *                             when there is a test set, else the in-sample risk; +∞ when no C1 suffices (bias = 0)
 * @param minC1Risk            "population" or "in_sample": which risk minC1 is for
 * @param eigenvalues          (n) μ_r of H, descending
 */
public record BoundResult(
        int n, double lambda, double lambdaRelative, double traceOverN, double sigma, double delta, ExpertKernel kernel,
        double dEff, double biasTerm, double varianceTerm, double noiseTerm, double rhs,
        double inSampleRisk, String inSampleTarget, double expectedInSampleRisk,
        double populationRisk, boolean holdsInSample, boolean holdsPopulation,
        double minC1, String minC1Risk,
        double[] eigenvalues
) {
    public boolean hasPopulationRisk() {
        return !Double.isNaN(populationRisk);
    }
}
