package org.moescope.cli;

import org.moescope.chat.ChatConfig;
import org.moescope.chat.ChatMessages;
import org.moescope.chat.ChatTemplate;
import org.moescope.checkpoint.Checkpoint;
import org.moescope.errors.BadInputException;
import org.moescope.gguf.GgufChat;
import org.moescope.model.ModelConfig;
import org.moescope.tokenizer.Tokenizer;

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
     * The chat configuration of a model: its directory's tokenizer_config.json / chat_template.jinja, or a GGUF
     * file's tokenizer.chat_template; when the model has no chat template and a tokenizer was given, that GGUF file's
     * or that tokenizer.json's directory's.
     */
    static ChatConfig config(Path model, Path tokenizerFile) {
        Checkpoint.checkModelPath(model);
        ChatConfig cfg = hasChatFiles(model) ? ChatConfig.load(model) : null;
        if ((cfg == null || !cfg.hasTemplate()) && tokenizerFile != null) {
            Path other = Checkpoint.isGguf(tokenizerFile) ? tokenizerFile : tokenizerFile.toAbsolutePath().getParent();
            if (other != null && hasChatFiles(other)) cfg = ChatConfig.load(other);
        }
        if (cfg == null || !cfg.hasTemplate()) {
            throw new BadInputException(model + ": no chat template (" + (Checkpoint.isGguf(model)
                    ? "no " + GgufChat.TEMPLATE : "no chat_template in tokenizer_config.json and no chat_template.jinja")
                    + (tokenizerFile != null ? ", nor in or beside " + tokenizerFile : "") + ")");
        }
        return cfg;
    }

    /** Whether a model directory has tokenizer_config.json or chat_template.jinja, or a GGUF file a chat template. */
    static boolean hasChatFiles(Path model) {
        return ChatConfig.inModel(model);
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
