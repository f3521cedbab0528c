package org.moescope.weights;

import java.util.Map;
import java.util.function.Predicate;

/**
 * What the model code (engine) makes of config.json, for {@code weights inspect}: named facts in display order, the
 * parameter count the config implies, the parameters one token uses (MoE: only the chosen experts), a problem when
 * the config cannot be understood (then only {@code facts} may be filled), and which stored tensors inference never
 * reads (GLM-4.5's multi-token-prediction layer: not counted against the config's parameters), or null.
 */
public record ArchitectureSummary(String modelType, Map<String, Object> facts, Long expectedParameters,
                                  Long activeParametersPerToken, String problem, Predicate<String> unusedTensors) {
    /** A summary of an architecture whose checkpoints hold only the tensors it runs. */
    public ArchitectureSummary(String modelType, Map<String, Object> facts, Long expectedParameters,
                               Long activeParametersPerToken, String problem) {
        this(modelType, facts, expectedParameters, activeParametersPerToken, problem, null);
    }
}
