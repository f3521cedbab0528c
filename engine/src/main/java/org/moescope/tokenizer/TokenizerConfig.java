package org.moescope.tokenizer;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.moescope.errors.BadInputException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The special tokens of a model's tokenizer_config.json (transformers' file beside tokenizer.json): the
 * {@code bos_token}, {@code eos_token}, {@code pad_token} and {@code unk_token} strings resolved to ids of the
 * tokenizer, and the {@code add_bos_token} / {@code add_eos_token} flags. Each token is absent when the field is
 * missing or null. A token may be written as a string or as an AddedToken object ({@code {"content": ...}}).
 *
 * <p>tokenizer.json's own post-processor decides what {@link Tokenizer#encodeIds(String, boolean)} adds, as in HF
 * tokenizers; transformers' Llama-style fast tokenizers instead rebuild the post-processor from add_bos_token and
 * add_eos_token, which is why they are read here (DeepSeek-V3's file says add_bos_token while its tokenizer.json
 * adds nothing).
 */
public record TokenizerConfig(String source, Optional<SpecialToken> bos, Optional<SpecialToken> eos,
                              Optional<SpecialToken> pad, Optional<SpecialToken> unk, Optional<Boolean> addBosToken,
                              Optional<Boolean> addEosToken) {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** A special token: its text and its id in the tokenizer. */
    public record SpecialToken(String content, int id) {
    }

    /** Reads {@code file} and resolves its special tokens with {@code tokenizer}; errors name the file and field. */
    public static TokenizerConfig load(Path file, Tokenizer tokenizer) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new BadInputException(file + ": no such file");
        } catch (IOException e) {
            throw new BadInputException(file + ": cannot read (" + e.getMessage() + ")", e);
        }
        JsonNode root;
        try {
            root = JSON.readTree(bytes);
        } catch (JsonProcessingException e) {
            throw new BadInputException(file + ": not valid JSON (" + e.getOriginalMessage().replaceAll("\\s+", " ")
                    + ")");
        } catch (IOException e) {
            throw new BadInputException(file + ": cannot read (" + e.getMessage() + ")", e);
        }
        String source = file.toString();
        if (root == null || !root.isObject()) {
            throw new BadInputException(source + ": not a tokenizer_config.json (the top level is not a JSON object)");
        }
        return new TokenizerConfig(source, token(root, "bos_token", source, tokenizer),
                token(root, "eos_token", source, tokenizer), token(root, "pad_token", source, tokenizer),
                token(root, "unk_token", source, tokenizer), flag(root, "add_bos_token", source),
                flag(root, "add_eos_token", source));
    }

    /** {@code dir/tokenizer_config.json} resolved with {@code tokenizer}, or empty when the directory has none. */
    public static Optional<TokenizerConfig> forModelDirectory(Path dir, Tokenizer tokenizer) {
        Path file = dir.resolve("tokenizer_config.json");
        return Files.exists(file) ? Optional.of(load(file, tokenizer)) : Optional.empty();
    }

    private static Optional<SpecialToken> token(JsonNode root, String field, String source, Tokenizer tokenizer) {
        JsonNode v = root.get(field);
        if (v == null || v.isNull()) {
            return Optional.empty();
        }
        JsonNode content = v.isObject() ? v.get("content") : v;
        if (content == null || !content.isTextual()) {
            throw new BadInputException(source + ": " + field + " = " + v + " is neither a string nor an AddedToken "
                    + "with a \"content\" string");
        }
        String text = content.asText();
        int id = tokenizer.tokenToId(text).orElseThrow(() -> new BadInputException(source + ": " + field + " "
                + content + " is not a token of " + tokenizer.source()));
        return Optional.of(new SpecialToken(text, id));
    }

    private static Optional<Boolean> flag(JsonNode root, String field, String source) {
        JsonNode v = root.get(field);
        if (v == null || v.isNull()) {
            return Optional.empty();
        }
        if (!v.isBoolean()) {
            throw new BadInputException(source + ": " + field + " = " + v + " is not true or false");
        }
        return Optional.of(v.asBoolean());
    }
}
