package org.moescope.model.family;

import org.moescope.model.ModelConfig;

/**
 * One architecture as a small difference from the common MoE transformer: which config.json fields it reads, their
 * defaults (HF's class defaults), and where its checkpoint keeps its MoE tensors. Everything else — the forward pass,
 * tensor checks, route recording — is written once over {@link ModelConfig}.
 */
public interface Family {
    /** config.json's model_type. */
    String modelType();

    /** The HF transformers class whose forward pass this family reproduces, for docs and messages. */
    String hfClass();

    ModelConfig parse(ConfigJson c);
}
