package org.moescope.model.family;

import com.fasterxml.jackson.databind.JsonNode;
import org.moescope.errors.BadInputException;
import org.moescope.model.ModelConfig;

import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;

/** The registry of supported architectures, keyed by config.json's model_type. */
public final class Families {
    public static final List<Family> ALL = List.of(Olmoe.FAMILY, FlexOlmo.FAMILY, Qwen2Moe.FAMILY, Qwen3Moe.FAMILY,
            Mixtral.FAMILY, GraniteMoe.FAMILY, PhiMoe.FAMILY, Glm4Moe.FAMILY, DeepseekV2.FAMILY,
            DeepseekV3.FAMILY, GptOss.FAMILY);

    private Families() {
    }

    /** The supported model_types, comma-separated, for messages. */
    public static String supported() {
        return ALL.stream().map(Family::modelType).collect(Collectors.joining(", "));
    }

    /** The family of a model_type, or null. */
    public static Family byModelType(String modelType) {
        for (Family f : ALL) {
            if (f.modelType().equals(modelType)) return f;
        }
        return null;
    }

    /** True when config.json names an architecture the engine runs. */
    public static boolean isSupported(JsonNode config) {
        JsonNode t = config.get("model_type");
        return t != null && t.isTextual() && byModelType(t.textValue()) != null;
    }

    /** Parses config.json (read from {@code source}) with its family's rules; bad input names the file and field. */
    public static ModelConfig parse(JsonNode config, Path source) {
        ConfigJson c = new ConfigJson(config, source.toString());
        String modelType = c.text("model_type");
        if (modelType == null) {
            throw new BadInputException(source + ": missing field \"model_type\"");
        }
        Family f = byModelType(modelType);
        if (f == null) {
            throw new BadInputException(source + ": unsupported architecture " + modelType + "; supported: " + supported());
        }
        return f.parse(c);
    }
}
