package org.moescope.cli;

import org.moescope.chat.ChatConfig;
import org.moescope.chat.ChatMessages;
import org.moescope.chat.ChatTemplate;
import org.moescope.checkpoint.Checkpoint;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code moescope template}: a conversation rendered through a model's chat template, as transformers renders it. */
@Command(name = "template", mixinStandardHelpOptions = true,
        description = {"Renders a conversation (a JSON list of {\"role\", \"content\"} messages) through a chat "
                + "template and prints the prompt exactly, nothing added: what transformers' "
                + "apply_chat_template(messages, tokenize=False, add_generation_prompt=True) returns.",
                "The template is chat_template.jinja, else tokenizer_config.json's chat_template; the template also "
                        + "sees the named special tokens of tokenizer_config.json (bos_token, eos_token, ...). Of a GGUF "
                        + "file: tokenizer.chat_template, and the tokens of its tokenizer.ggml.*_token_id keys."})
public final class TemplateCommand implements Callable<Integer> {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Source source;

    static final class Source {
        @Option(names = "--tokenizer", paramLabel = "DIR", description = "a directory with tokenizer_config.json "
                + "or chat_template.jinja (a file in it works too), or a GGUF file")
        Path tokenizer;

        @Option(names = "--model", paramLabel = "DIR|FILE.gguf", description = "a model directory (its tokenizer "
                + "files) or a GGUF file (its tokenizer.chat_template and special token ids)")
        Path model;
    }

    @Option(names = "--messages", required = true, paramLabel = "FILE", description = "the conversation: a JSON list "
            + "of {\"role\": ..., \"content\": ...} objects (other keys such as tool_calls pass through)")
    Path messages;

    @Option(names = "--tools", paramLabel = "FILE", description = "a JSON list of tool schemas, passed as tools")
    Path tools;

    @Option(names = "--var", paramLabel = "NAME=JSON", description = "another template variable, e.g. "
            + "enable_thinking=false (repeatable)")
    List<String> vars = new ArrayList<>();

    @Option(names = "--no-generation-prompt", description = "render without the assistant's generation prompt "
            + "(add_generation_prompt=False)")
    boolean noGenerationPrompt;

    @Override
    public Integer call() {
        Path dir = source.model != null ? source.model : source.tokenizer;
        if (Files.isRegularFile(dir) && source.tokenizer != null && !Checkpoint.isGguf(dir)) {
            dir = dir.toAbsolutePath().getParent();
        }
        ChatConfig cfg = ChatConfig.load(dir);
        List<Object> msgs = ChatMessages.load(messages);
        List<Object> toolList = tools == null ? null : ChatMessages.loadTools(tools);
        ChatTemplate template = cfg.template(toolList != null);
        String prompt = template.apply(msgs, toolList, !noGenerationPrompt, cfg.specialTokens(), ChatSetup.vars(vars));
        PrintWriter out = spec.commandLine().getOut();
        out.print(prompt);
        out.flush();
        return 0;
    }
}
