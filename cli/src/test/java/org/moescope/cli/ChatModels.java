package org.moescope.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Tiny chat models for the CLI tests: a random OLMoE checkpoint from {@code weights init} whose vocabulary (384 rows)
 * covers the committed chat tokenizer (chat/model: the engine's synthetic byte-level BPE plus <|im_start|> 343 and
 * <|im_end|> 344, with a ChatML template; made by tools/reference/make_chat_golden.py).
 */
final class ChatModels {
    static final ObjectMapper JSON = new ObjectMapper();
    static final int IM_END = 344;

    private ChatModels() {
    }

    /**
     * A model directory with the chat tokenizer; {@code context} is max_position_embeddings. Without
     * {@code endOfTurn} the tokenizer_config has no eos_token, so replies only end at --max-new-tokens or the context.
     */
    static Path create(Path dir, int context, boolean endOfTurn, int hidden, int layers) {
        try {
            Files.createDirectories(dir);
            Path config = dir.resolve("init-config.json");
            Files.writeString(config, """
                    {"model_type": "olmoe", "vocab_size": 384, "hidden_size": %d, "intermediate_size": %d,
                     "num_hidden_layers": %d, "num_attention_heads": 4, "num_key_value_heads": 2, "num_experts": 4,
                     "num_experts_per_tok": 2, "max_position_embeddings": %d, "initializer_range": 0.5,
                     "tie_word_embeddings": false}
                    """.formatted(hidden, hidden / 2, layers, context));
            Path model = dir.resolve("model");
            CliRun r = CliRun.run("weights", "init", "--config", config.toString(), "--out", model.toString(),
                    "--seed", "3", "--dtype", "f32");
            assertEquals(0, r.status(), r.err());
            Files.write(model.resolve("tokenizer.json"), resource("chat/model/tokenizer.json"));
            String tokConfig = new String(resource("chat/model/tokenizer_config.json"), StandardCharsets.UTF_8);
            if (!endOfTurn) tokConfig = tokConfig.replace("\"eos_token\": \"<|im_end|>\"", "\"eos_token\": null");
            Files.writeString(model.resolve("tokenizer_config.json"), tokConfig);
            return model;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A file of the read-only shared folder beside the repository; the calling test is skipped when it is absent. */
    static Path shared(String relative) {
        // Tests run in the module directory (cli/); ../shared sits next to the repository root.
        Path p = Path.of("..", "..", "shared").resolve(relative).toAbsolutePath().normalize();
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.exists(p),
                "skipped: " + p + " is absent (../shared is not available here)");
        return p;
    }

    static byte[] resource(String name) {
        try (InputStream in = ChatModels.class.getResourceAsStream("/" + name)) {
            if (in == null) throw new IllegalStateException("test resource " + name + " is missing");
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static List<JsonNode> goldenPrompts() {
        List<JsonNode> out = new ArrayList<>();
        try {
            for (String line : new String(resource("chat/model/golden-prompts.jsonl"), StandardCharsets.UTF_8).split("\n")) {
                if (!line.isBlank()) out.add(JSON.readTree(line));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    static Path writeJson(Path file, JsonNode node) {
        try {
            Files.writeString(file, JSON.writeValueAsString(node));
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
