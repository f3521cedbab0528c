package org.moescope.cli;

import org.moescope.chat.ChatConfig;
import org.moescope.chat.ChatMessages;
import org.moescope.chat.ChatTemplate;
import org.moescope.errors.BadInputException;
import org.moescope.model.ModelConfig;
import org.moescope.tokenizer.Tokenizer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;

/** What template, chat and generate --chat share: where the chat template is, extra template variables, stop ids. */
final class ChatSetup {
    private ChatSetup() {
    }

    /**
     * The chat configuration of a model: its directory's tokenizer_config.json / chat_template.jinja; when the model
     * directory has no chat template and a tokenizer.json elsewhere was given, that file's directory.
     */
    static ChatConfig config(Path modelDir, Path tokenizerFile) {
        ChatConfig cfg = hasChatFiles(modelDir) ? ChatConfig.load(modelDir) : null;
        if ((cfg == null || !cfg.hasTemplate()) && tokenizerFile != null) {
            Path other = tokenizerFile.toAbsolutePath().getParent();
            if (other != null && hasChatFiles(other)) cfg = ChatConfig.load(other);
        }
        if (cfg == null || !cfg.hasTemplate()) {
            throw new BadInputException(modelDir + ": no chat template (no chat_template in tokenizer_config.json and "
                    + "no chat_template.jinja" + (tokenizerFile != null ? ", nor beside " + tokenizerFile : "") + ")");
        }
        return cfg;
    }

    static boolean hasChatFiles(Path dir) {
        return Files.isRegularFile(dir.resolve("tokenizer_config.json"))
                || Files.isRegularFile(dir.resolve("chat_template.jinja"));
    }

    /** --var NAME=JSON assignments as template variables (names transformers passes itself are refused). */
    static Map<String, Object> vars(List<String> assignments) {
        Map<String, Object> vars = new LinkedHashMap<>();
        for (String a : assignments) {
            int eq = a.indexOf('=');
            if (eq <= 0) throw new BadInputException("--var " + a + ": expected NAME=JSON, e.g. enable_thinking=false");
            String name = a.substring(0, eq);
            if (!name.matches("[A-Za-z_][A-Za-z0-9_]*")) {
                throw new BadInputException("--var " + a + ": \"" + name + "\" is not a template variable name");
            }
            if (ChatTemplate.RESERVED.contains(name)) {
                throw new BadInputException("--var " + name + ": set by the command itself (" + String.join(", ",
                        ChatTemplate.RESERVED.stream().sorted().toList()) + ")");
            }
            vars.put(name, ChatMessages.parseValue(a.substring(eq + 1), "--var " + name));
        }
        return vars;
    }

    /**
     * The ids that end a reply: config.json's eos_token_id, generation_config.json's, and tokenizer_config.json's
     * eos_token (Qwen's <|im_end|>, Llama 3's <|eot_id|>), whichever are set.
     */
    static List<Integer> stopIds(Path modelDir, ModelConfig config, ChatConfig chat, Tokenizer tok) {
        Integer templateEos = null;
        if (chat.eosToken() != null) {
            OptionalInt id = tok.tokenToId(chat.eosToken());
            if (id.isPresent()) templateEos = id.getAsInt();
        }
        return ChatConfig.stopIds(modelDir, config.eosTokenId(), templateEos);
    }
}
