package org.moescope.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.moescope.errors.BadInputException;
import org.moescope.weights.ArchitectureSummary;
import org.moescope.weights.Init;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What the weights tools need to know about OLMoE checkpoints: the tensors a config.json implies (verify), how HF
 * initialises them (init), and a summary with parameter counts (inspect).
 */
public final class OlmoeCheckpoints {
    /** HF's OlmoeConfig default for initializer_range. */
    public static final double DEFAULT_INITIALIZER_RANGE = 0.02;
    private static final long MAX_CONFIG_BYTES = 16 << 20;

    private OlmoeCheckpoints() {
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
        JsonNode t = config.get("model_type");
        return t != null && t.isTextual() && t.textValue().equals(OlmoeConfig.SUPPORTED);
    }

    /** Every tensor and its shape for an OLMoE config.json (bad input when the config is not a valid OLMoE one). */
    public static Map<String, long[]> expectedShapes(JsonNode config, Path where) {
        return OlmoeConfig.parse(config, where).expectedTensors();
    }

    /**
     * HF's initialisation (PreTrainedModel._init_weights): normal(0, initializer_range) for every Linear and the
     * embedding, whose padding row is zeroed; ones for the RMSNorm weights.
     */
    public static List<Init.TensorPlan> initPlan(JsonNode config, Path where) {
        OlmoeConfig c = OlmoeConfig.parse(config, where);
        double std = initializerRange(config, where);
        long pad = c.padTokenId() != null && c.padTokenId() >= 0 && c.padTokenId() < c.vocabSize() ? c.padTokenId() : -1;
        List<Init.TensorPlan> plan = new ArrayList<>();
        for (Map.Entry<String, long[]> e : c.expectedTensors().entrySet()) {
            String name = e.getKey();
            Init.Fill fill;
            if (name.endsWith("norm.weight")) {
                fill = new Init.Constant(1f);
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
                    "the engine supports model_type " + OlmoeConfig.SUPPORTED + " only: no parameter counts from the config");
        }
        OlmoeConfig c;
        try {
            c = OlmoeConfig.parse(config, where);
        } catch (BadInputException e) {
            return new ArchitectureSummary(modelType, Map.of(), null, null, e.getMessage());
        }
        Map<String, Object> facts = new LinkedHashMap<>();
        facts.put("layers", c.numHiddenLayers());
        facts.put("hidden_size", c.hiddenSize());
        facts.put("attention_heads", c.numAttentionHeads() + " (kv " + c.numKeyValueHeads() + ", head dim " + c.headDim() + ")");
        facts.put("experts", c.numExperts() + " per layer, top-" + c.numExpertsPerTok()
                + (c.normTopkProb() ? ", renormalised" : ""));
        facts.put("expert_intermediate", c.intermediateSize());
        facts.put("vocab_size", c.vocabSize());
        facts.put("max_positions", c.maxPositionEmbeddings());
        facts.put("rope_theta", c.ropeTheta());
        facts.put("clip_qkv", c.clipQkv() == null ? "none" : c.clipQkv());
        facts.put("tied_embeddings", c.tieWordEmbeddings());
        facts.put("dtype", c.dtype() == null ? "unspecified" : c.dtype());
        long expected = 0;
        for (long[] shape : c.expectedTensors().values()) {
            long n = 1;
            for (long d : shape) n *= d;
            expected += n;
        }
        return new ArchitectureSummary(modelType, facts, expected, c.activeParametersPerToken(), null);
    }
}
