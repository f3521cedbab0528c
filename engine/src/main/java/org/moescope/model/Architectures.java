package org.moescope.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.moescope.errors.BadInputException;
import org.moescope.model.family.Families;
import org.moescope.weights.ArchitectureSummary;
import org.moescope.weights.Init;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What the weights tools need to know about the supported architectures: the tensors a config.json implies (verify),
 * how HF initialises them (init), and a summary with parameter counts (inspect).
 */
public final class Architectures {
    /** HF's default initializer_range (every supported family's). */
    public static final double DEFAULT_INITIALIZER_RANGE = 0.02;
    private static final long MAX_CONFIG_BYTES = 16 << 20;
    /** E8M0 byte of 2^-7: the exponent of weights init's MXFP4 values. */
    static final int MXFP4_INIT_EXPONENT = 127 - 7;

    private Architectures() {
    }

    /** Reads a config.json file given on the command line. */
    public static JsonNode readConfig(Path file) {
        try {
            if (Files.size(file) > MAX_CONFIG_BYTES) {
                throw new BadInputException(file + ": larger than 16 MB; not a config.json");
            }
            JsonNode node = new ObjectMapper().readTree(Files.readAllBytes(file));
            if (node == null || !node.isObject()) {
                throw new BadInputException(file + ": not a JSON object");
            }
            return node;
        } catch (NoSuchFileException e) {
            throw new BadInputException(file + ": no such file");
        } catch (IOException e) {
            String msg = e.getMessage() == null ? "" : e.getMessage().lines().findFirst().orElse("");
            throw new BadInputException(file + ": not valid JSON: " + msg);
        }
    }

    /** True when config.json names an architecture this engine knows. */
    public static boolean isSupported(JsonNode config) {
        return Families.isSupported(config);
    }

    /**
     * What a checkpoint of this config.json holds: every tensor inference reads, with its shape, and which other stored
     * tensors it may hold without reading them (multi-token-prediction layers; null when none).
     */
    public record Expected(Map<String, long[]> shapes, java.util.function.Predicate<String> unused) {
    }

    /** The tensors a config.json implies (bad input when it is not a valid config of a supported family). */
    public static Expected expectedTensors(JsonNode config, Path where) {
        ModelConfig c = Families.parse(config, where);
        return new Expected(c.expectedTensors(), c.unusedTensors());
    }

    /**
     * HF's initialisation (PreTrainedModel._init_weights): normal(0, initializer_range) for every Linear weight, router
     * and expert tensor and the embedding, whose padding row is zeroed; ones for the norm weights; zeros for biases.
     * MXFP4 experts (gpt-oss with quantization_config mxfp4): uniform FP4 codes, whose root mean square is 2.93, and
     * every exponent 2^-7, so that the values' spread (0.023) is about HF's 0.02.
     */
    public static List<Init.TensorPlan> initPlan(JsonNode config, Path where) {
        ModelConfig c = Families.parse(config, where);
        double std = initializerRange(config, where);
        long pad = c.padTokenId() != null && c.padTokenId() >= 0 && c.padTokenId() < c.vocabSize() ? c.padTokenId() : -1;
        List<Init.TensorPlan> plan = new ArrayList<>();
        for (Map.Entry<String, long[]> e : c.expectedTensors().entrySet()) {
            String name = e.getKey();
            Init.Fill fill;
            if (name.endsWith("norm.weight")) {
                fill = new Init.Constant(1f);
            } else if (c.mxfp4Experts() && name.endsWith("_blocks")) {
                fill = new Init.UniformBytes(0, 256);
            } else if (c.mxfp4Experts() && name.endsWith("_scales")) {
                fill = new Init.UniformBytes(MXFP4_INIT_EXPONENT, MXFP4_INIT_EXPONENT + 1);
            } else if (name.endsWith(".bias") || name.endsWith("_proj_bias")) {
                fill = new Init.Constant(0f);
            } else if (name.equals("model.embed_tokens.weight")) {
                fill = new Init.Normal(std, pad);
            } else {
                fill = new Init.Normal(std, -1);
            }
            plan.add(new Init.TensorPlan(name, e.getValue(), fill));
        }
        return plan;
    }

    static double initializerRange(JsonNode config, Path where) {
        JsonNode n = config.get("initializer_range");
        if (n == null || n.isNull()) {
            return DEFAULT_INITIALIZER_RANGE;
        }
        if (!n.isNumber() || !(n.doubleValue() >= 0) || Double.isInfinite(n.doubleValue())) {
            throw new BadInputException(where + ": field \"initializer_range\" must be a non-negative number, got " + n);
        }
        return n.doubleValue();
    }

    /** The architecture as inspect shows it; an unsupported or broken config gives a summary with a problem line. */
    public static ArchitectureSummary describe(JsonNode config, Path where) {
        JsonNode t = config.get("model_type");
        String modelType = t != null && t.isTextual() ? t.textValue() : null;
        if (!isSupported(config)) {
            return new ArchitectureSummary(modelType, Map.of(), null, null,
                    "the engine supports model_type " + Families.supported() + " only: no parameter counts from the config");
        }
        ModelConfig c;
        try {
            c = Families.parse(config, where);
        } catch (BadInputException e) {
            return new ArchitectureSummary(modelType, Map.of(), null, null, e.getMessage());
        }
        Map<String, Object> facts = new LinkedHashMap<>();
        int moe = c.numMoeLayers();
        facts.put("layers", c.numHiddenLayers());
        if (moe < c.numHiddenLayers()) {
            facts.put("moe_layers", Arrays.toString(c.moeLayers()) + "; the others dense, intermediate " + c.intermediateSize());
        }
        facts.put("hidden_size", c.hiddenSize());
        facts.put("attention_heads", c.numAttentionHeads() + " (kv " + c.numKeyValueHeads() + ", head dim " + c.headDim() + ")");
        facts.put("attention", attentionFacts(c));
        facts.put("experts", c.numExperts() + " per layer, top-" + c.numExpertsPerTok() + ", router " + c.router().label
                + (c.router() == Router.SOFTMAX_TOPK && c.normTopkProb() ? ", renormalised" : "")
                + (c.hasSharedExpert() ? (c.sharedExpertGated() ? ", gated" : ", ungated") + " shared expert of "
                + c.sharedExpertIntermediateSize() : "")
                + (c.routedScalingFactor() != 1f ? ", weights x " + c.routedScalingFactor() : "")
                + (c.nGroup() > 1 ? ", " + c.topkGroup() + " of " + c.nGroup() + " groups" : ""));
        facts.put("expert_intermediate", c.moeIntermediateSize());
        facts.put("norm", (c.norm() == ModelConfig.Norm.RMS ? "RMSNorm" : "LayerNorm") + (c.postNorm() ? ", post-norm" : ""));
        facts.put("vocab_size", c.vocabSize());
        facts.put("max_positions", c.maxPositionEmbeddings());
        facts.put("rope_theta", c.ropeTheta());
        facts.put("tied_embeddings", c.tieWordEmbeddings());
        facts.put("dtype", c.dtype() == null ? "unspecified" : c.dtype());
        long expected = c.parameters();
        return new ArchitectureSummary(modelType, facts, expected, c.activeParametersPerToken(), null,
                c.unusedTensors());
    }

    private static String attentionFacts(ModelConfig c) {
        List<String> f = new ArrayList<>();
        f.add(switch (c.qkNorm()) {
            case WHOLE -> "q/k norm over the projection";
            case PER_HEAD -> "q/k norm per head";
            case NONE -> "no q/k norm";
        });
        if (c.clipQkv() != null) f.add("clip_qkv " + c.clipQkv());
        if (c.qkvBias()) f.add(c.oBias() ? "q/k/v/o biases" : "q/k/v biases");
        int[] w = c.slidingWindows();
        long sliding = Arrays.stream(w).filter(x -> x > 0).count();
        if (sliding > 0) f.add("sliding window " + Arrays.stream(w).max().getAsInt() + " on " + sliding + " of " + w.length + " layers");
        if (!c.hasDefaultAttentionScale()) f.add("scale " + c.attentionScale());
        if (c.rotaryDim() != c.headDim()) f.add("RoPE on " + c.rotaryDim() + " of " + c.headDim() + " dims");
        return String.join(", ", f);
    }
}
