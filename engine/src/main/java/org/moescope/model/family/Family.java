package org.moescope.model.family;

import org.moescope.model.ModelConfig;

import java.util.function.Function;

/**
 * One architecture as a small difference from the common MoE transformer: which config.json fields it reads, their
 * defaults (HF's class defaults), and where its checkpoint keeps its MoE tensors — all in its {@code parser}.
 * Everything else — the forward pass, tensor checks, route recording — is written once over {@link ModelConfig}.
 *
 * @param modelType config.json's model_type
 * @param hfClass   the HF transformers class whose forward pass this family reproduces, for docs and messages
 * @param parser    reads the family's config.json
 */
public record Family(String modelType, String hfClass, Function<ConfigJson, ModelConfig> parser) {
    public ModelConfig parse(ConfigJson c) {
        return parser.apply(c);
    }
}
