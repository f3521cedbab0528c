package org.moescope.weights;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ParameterDynamicsTest {
    /** A series where the router's relative change goes 0.4, 0.3, 0.2, 0.1 and its norm 10, 12, 12, 11, 11. */
    @Test
    void table3FollowsTheDocumentedFormulas() {
        double[] norms = {10, 12, 12, 11, 11};
        double[] rel = {0.4, 0.3, 0.2, 0.1};
        List<Diff.Result> steps = new ArrayList<>();
        for (int t = 0; t < rel.length; t++) {
            Diff.GroupChange g = new Diff.GroupChange(Component.ROUTER, Diff.ALL_LAYERS, 1, 4, norms[t], norms[t + 1],
                    rel[t] * norms[t]);
            steps.add(new Diff.Result("c" + t, "c" + (t + 1), List.of(), List.of(g), List.of(), List.of(), List.of()));
        }
        ParameterDynamics.Row row = ParameterDynamics.table(steps).getFirst();
        assertEquals(4, row.steps());
        assertEquals(0.25, row.meanRelChange(), 1e-12);
        // n = (1.6, 1.2, 0.8, 0.4): speed = mean(1.6, 1.2) - mean(0.8, 0.4) = 0.8
        assertEquals(0.8, row.convergenceSpeed(), 1e-12);
        // std of n (population) = sqrt(((.6)^2 + (.2)^2 + (.2)^2 + (.6)^2) / 4) = sqrt(0.2)
        assertEquals(1 / Math.sqrt(0.2), row.stability(), 1e-9);
        // mean |Δnorm| = (2 + 0 + 1 + 0) / 4 = 0.75, mean norm = 56 / 5 = 11.2
        assertEquals(0.75 / 11.2, row.meanNormChange(), 1e-12);
    }

    @Test
    void oneStepHasNoSpeedOrStability() {
        Diff.GroupChange g = new Diff.GroupChange(Component.EXPERTS, Diff.ALL_LAYERS, 1, 4, 2, 2, 1);
        ParameterDynamics.Row row = ParameterDynamics.table(List.of(
                new Diff.Result("a", "b", List.of(), List.of(g), List.of(), List.of(), List.of()))).getFirst();
        assertEquals(0.5, row.meanRelChange());
        assertTrue(Double.isNaN(row.convergenceSpeed()) && Double.isNaN(row.stability()));
    }
}
