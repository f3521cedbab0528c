package org.moescope.model;

import org.moescope.checkpoint.Checkpoint;
import org.moescope.errors.BadInputException;
import org.moescope.kernels.Weight;
import org.moescope.safetensors.DType;
import org.moescope.safetensors.TensorInfo;
import org.moescope.weights.Q8;

import java.util.Arrays;
import java.util.Map;

/**
 * OLMoE's weights, named as in HF's modeling_olmoe.py. Matrices stay in the mapped checkpoint in their stored dtype;
 * the small norm vectors are widened to float once. Shapes are checked against config.json when loading.
 */
public final class OlmoeWeights {
    final Weight embedTokens;                // (vocab, hidden)
    final float[][] inputLayernorm;          // (layers, hidden)
    final Weight[] qProj;                    // (layers) x (hidden, hidden)
    final Weight[] kProj;                    // (layers) x (kv_dim, hidden)
    final Weight[] vProj;                    // (layers) x (kv_dim, hidden)
    final Weight[] oProj;                    // (layers) x (hidden, hidden)
    final float[][] qNorm;                   // (layers, hidden)   RMSNorm over the whole q projection
    final float[][] kNorm;                   // (layers, kv_dim)   RMSNorm over the whole k projection
    final float[][] postAttentionLayernorm;  // (layers, hidden)
    final Weight[] gate;                     // (layers) x (experts, hidden)   the router, mlp.gate
    final Weight[][] expertGateProj;         // (layers, experts) x (intermediate, hidden)
    final Weight[][] expertUpProj;           // (layers, experts) x (intermediate, hidden)
    final Weight[][] expertDownProj;         // (layers, experts) x (hidden, intermediate)
    final float[] norm;                      // (hidden)   final RMSNorm, model.norm
    final Weight lmHead;                     // (vocab, hidden); the embedding matrix when tied
    final DType dtype;                       // dtype of the big matrices (the embedding's)

    OlmoeWeights(Checkpoint ckpt, OlmoeConfig c) {
        // A Q8_0 checkpoint (weights convert --dtype q8_0) stores its projections and lm_head as int8 plus scales.
        Map<String, long[]> expected = Q8.isQ8(ckpt.config()) ? Q8.withScales(c.expectedTensors()) : c.expectedTensors();
        for (String name : ckpt.tensorNames()) {
            if (!expected.containsKey(name) && !name.equals("lm_head.weight")) {
                throw new BadInputException(ckpt.dir() + ": unexpected tensor '" + name + "' for an olmoe config.json"
                        + (name.endsWith(Q8.SCALE_SUFFIX) ? " (a Q8_0 scale, but config.json has no quantization_config)" : ""));
            }
        }
        int layers = c.numHiddenLayers();
        int experts = c.numExperts();
        embedTokens = matrix(ckpt, expected, "model.embed_tokens.weight");
        dtype = embedTokens.dtype();
        inputLayernorm = new float[layers][];
        qProj = new Weight[layers];
        kProj = new Weight[layers];
        vProj = new Weight[layers];
        oProj = new Weight[layers];
        qNorm = new float[layers][];
        kNorm = new float[layers][];
        postAttentionLayernorm = new float[layers][];
        gate = new Weight[layers];
        expertGateProj = new Weight[layers][experts];
        expertUpProj = new Weight[layers][experts];
        expertDownProj = new Weight[layers][experts];
        for (int l = 0; l < layers; l++) {
            String p = "model.layers." + l + ".";
            inputLayernorm[l] = vector(ckpt, expected, p + "input_layernorm.weight");
            qProj[l] = matrix(ckpt, expected, p + "self_attn.q_proj.weight");
            kProj[l] = matrix(ckpt, expected, p + "self_attn.k_proj.weight");
            vProj[l] = matrix(ckpt, expected, p + "self_attn.v_proj.weight");
            oProj[l] = matrix(ckpt, expected, p + "self_attn.o_proj.weight");
            qNorm[l] = vector(ckpt, expected, p + "self_attn.q_norm.weight");
            kNorm[l] = vector(ckpt, expected, p + "self_attn.k_norm.weight");
            postAttentionLayernorm[l] = vector(ckpt, expected, p + "post_attention_layernorm.weight");
            gate[l] = matrix(ckpt, expected, p + "mlp.gate.weight");
            for (int e = 0; e < experts; e++) {
                String x = p + "mlp.experts." + e + ".";
                expertGateProj[l][e] = matrix(ckpt, expected, x + "gate_proj.weight");
                expertUpProj[l][e] = matrix(ckpt, expected, x + "up_proj.weight");
                expertDownProj[l][e] = matrix(ckpt, expected, x + "down_proj.weight");
            }
        }
        norm = vector(ckpt, expected, "model.norm.weight");
        if (c.tieWordEmbeddings()) {
            lmHead = embedTokens;
        } else {
            lmHead = matrix(ckpt, expected, "lm_head.weight");
        }
    }

    private static TensorInfo checked(Checkpoint ckpt, Map<String, long[]> expected, String name) {
        if (!ckpt.contains(name)) {
            throw new BadInputException(ckpt.dir() + ": missing tensor '" + name + "'");
        }
        TensorInfo info = ckpt.info(name);
        if (!Arrays.equals(info.shape(), expected.get(name))) {
            throw new BadInputException(ckpt.dir() + ": tensor '" + name + "' has shape " + info.shapeString()
                    + ", config.json implies " + Arrays.toString(expected.get(name)));
        }
        DType t = info.dtype();
        boolean q8Slot = expected.containsKey(name + Q8.SCALE_SUFFIX); // a Q8_0 checkpoint's quantised weight
        if (t != DType.F32 && t != DType.BF16 && t != DType.F16 && !(t == DType.I8 && q8Slot)) {
            throw new BadInputException(ckpt.dir() + ": tensor '" + name + "' has dtype " + t
                    + "; supported: F32, BF16, F16" + (q8Slot ? ", or I8 in a Q8_0 checkpoint" : ""));
        }
        return info;
    }

    private static Weight matrix(Checkpoint ckpt, Map<String, long[]> expected, String name) {
        TensorInfo info = checked(ckpt, expected, name);
        int rows = (int) info.shape()[0], cols = (int) info.shape()[1];
        if (info.dtype() != DType.I8) {
            return new Weight(name, ckpt.segment(name), info.dtype(), rows, cols);
        }
        String scaleName = name + Q8.SCALE_SUFFIX;
        TensorInfo scales = checked(ckpt, expected, scaleName);
        if (scales.dtype() != DType.F32) {
            throw new BadInputException(ckpt.dir() + ": tensor '" + scaleName + "' has dtype " + scales.dtype()
                    + "; Q8_0 scales are F32");
        }
        return new Weight(name, ckpt.segment(name), DType.I8, rows, cols, ckpt.segment(scaleName));
    }

    private static float[] vector(Checkpoint ckpt, Map<String, long[]> expected, String name) {
        checked(ckpt, expected, name);
        return ckpt.readFloats(name);
    }
}
