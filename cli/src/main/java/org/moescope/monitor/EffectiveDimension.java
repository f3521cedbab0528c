package org.moescope.monitor;

import org.moescope.bound.BoundInput;
import org.moescope.bound.BoundSettings;
import org.moescope.bound.ExpertKernel;
import org.moescope.bound.GeneralizationBound;
import org.moescope.routing.RouteFile;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/**
 * The paper's Theorem 4.1 quantity on real checkpoints: at each MoE layer, G = the samples' token-averaged routing
 * and X = their mean hidden state at the MoE input give H = (G Gᵀ) ⊙ K_arccos(X, X); d_eff = Tr(H (H + λI)⁻¹) with
 * λ = Tr(H)/n (relative, so that diffuse routing does not shrink d_eff merely by shrinking H). At most
 * {@link #MAX_SAMPLES} samples (a seeded subset) keep the eigen-decomposition cheap.
 */
final class EffectiveDimension {
    static final int MAX_SAMPLES = 400;

    private EffectiveDimension() {
    }

    static double meanOverLayers(RouteFile r, float[] loss, long seed) {
        int n = r.numSamples(), L = r.numLayers(), E = r.numExperts(), H = r.dims().hidden();
        List<Integer> kept = new ArrayList<>();
        for (int i = 0; i < n; i++) if (!Float.isNaN(loss[i])) kept.add(i);
        Collections.shuffle(kept, new Random(seed));
        kept = kept.subList(0, Math.min(MAX_SAMPLES, kept.size()));
        Collections.sort(kept);
        if (kept.size() < 2) return Double.NaN;
        float[] probs = r.routerProbsMean();
        float[] hidden = r.hiddenMean();
        double sum = 0;
        for (int l = 0; l < L; l++) {
            int m = kept.size();
            double[][] x = new double[m][H], g = new double[m][E];
            double[] y = new double[m];
            for (int j = 0; j < m; j++) {
                int i = kept.get(j);
                for (int h = 0; h < H; h++) x[j][h] = hidden[(i * L + l) * H + h];
                for (int e = 0; e < E; e++) g[j][e] = probs[(i * L + l) * E + e];
                y[j] = loss[i];
            }
            BoundInput in = new BoundInput(r.path() + " layer " + l, x, g, y, null, null, null, null, null, null);
            sum += GeneralizationBound.evaluate(in, new BoundSettings(1.0, true, 0.0, 0.05, ExpertKernel.ARCCOS)).dEff();
        }
        return sum / L;
    }
}
