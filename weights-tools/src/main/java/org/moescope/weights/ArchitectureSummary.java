package org.moescope.weights;

import java.util.Map;

/**
 * What the model code (engine) makes of config.json, for {@code weights inspect}: named facts in display order, the
 * parameter count the config implies, the parameters one token uses (MoE: only the chosen experts), and a problem
 * when the config cannot be understood (then only {@code facts} may be filled).
 */
public record ArchitectureSummary(String modelType, Map<String, Object> facts, Long expectedParameters,
                                  Long activeParametersPerToken, String problem) {
}
