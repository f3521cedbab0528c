package org.moescope.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;
import static org.moescope.cli.CliRun.run;

/**
 * {@code moescope template} prints exactly what transformers' apply_chat_template(..., tokenize=False) returned (the
 * goldens of tools/reference/make_chat_golden.py), for the committed chat model and, when ../shared is present, for
 * the real Qwen3 (tools, enable_thinking), DeepSeek-V3 and Llama-3.1 tokenizer folders; bad input is one line, exit 2.
 */
class TemplateCommandTest {
    @TempDir
    Path dir;

    private static final Path ENGINE_CHAT = Path.of("..", "engine", "src", "test", "resources", "chat")
            .toAbsolutePath().normalize();

    @Test
    void committedChatModelMatchesTransformers() throws Exception {
        Path model = dir.resolve("model");
        Files.createDirectories(model);
        Files.write(model.resolve("tokenizer.json"), ChatModels.resource("chat/model/tokenizer.json"));
        Files.write(model.resolve("tokenizer_config.json"), ChatModels.resource("chat/model/tokenizer_config.json"));
        int n = 0;
        for (JsonNode c : ChatModels.goldenPrompts()) {
            Path messages = ChatModels.writeJson(dir.resolve("m" + n++ + ".json"), c.get("messages"));
            List<String> args = new ArrayList<>(List.of("template", "--model", model.toString(), "--messages",
                    messages.toString()));
            if (!c.get("add_generation_prompt").asBoolean()) args.add("--no-generation-prompt");
            CliRun r = run(args.toArray(String[]::new));
            if (c.has("rendered")) {
                assertEquals(0, r.status(), r.err());
                assertEquals(c.get("rendered").textValue(), r.out(), c.get("case").textValue());
                // tokenize --model of the rendered prompt gives transformers' apply_chat_template(tokenize=True) ids
                Path prompt = dir.resolve("p" + n + ".txt");
                Files.writeString(prompt, r.out());
                CliRun ids = run("tokenize", "--model", model.toString(), "--file", prompt.toString());
                assertEquals(0, ids.status(), ids.err());
                assertEquals(c.get("ids").toString(), ids.out().strip(), c.get("case").textValue());
            } else {
                assertEquals(Main.EXIT_BAD_INPUT, r.status(), r.out());
                assertEquals("moescope: chat template " + model.resolve("tokenizer_config.json")
                        + " raised an exception: Unknown role: critic\n", r.err());
            }
        }
        assertEquals(20, n);
    }

    @Test
    void realTemplatesMatchTransformers() throws Exception {
        int checked = 0;
        for (String name : List.of("qwen3", "deepseek-v3", "llama3.1")) {
            Path folder = ChatModels.shared("fixtures/tokenizers/" + name + "/tokenizer_config.json").getParent();
            for (String line : Files.readAllLines(ENGINE_CHAT.resolve("golden-" + name + ".jsonl"))) {
                JsonNode c = ChatModels.JSON.readTree(line);
                List<String> args = new ArrayList<>(List.of("template", "--tokenizer", folder.toString(), "--messages",
                        ChatModels.writeJson(dir.resolve("m.json"), c.get("messages")).toString()));
                if (!c.get("tools").isNull()) {
                    args.addAll(List.of("--tools", ChatModels.writeJson(dir.resolve("t.json"), c.get("tools")).toString()));
                }
                for (Map.Entry<String, JsonNode> v : c.get("vars").properties()) {
                    args.addAll(List.of("--var", v.getKey() + "=" + v.getValue()));
                }
                if (!c.get("add_generation_prompt").asBoolean()) args.add("--no-generation-prompt");
                CliRun r = run(args.toArray(String[]::new));
                String label = name + " " + c.get("case").textValue();
                if (c.has("rendered")) {
                    assertEquals(0, r.status(), label + ": " + r.err());
                    assertEquals(c.get("rendered").textValue(), r.out(), label);
                } else {
                    assertEquals(Main.EXIT_BAD_INPUT, r.status(), label);
                    assertEquals(1, r.err().lines().count(), r.err());
                }
                checked++;
            }
        }
        assertEquals(3 * 44, checked);
    }

    @Test
    void chatTemplateJinjaWinsAndSpecialTokensMayBeObjects() throws Exception {
        Path tok = dir.resolve("tok");
        Files.createDirectories(tok);
        Files.writeString(tok.resolve("tokenizer_config.json"), """
                {"bos_token": {"__type": "AddedToken", "content": "<s>", "lstrip": false},
                 "eos_token": "</s>", "pad_token": null,
                 "chat_template": "from the config {{ messages[0].content }}"}
                """);
        Path messages = dir.resolve("m.json");
        Files.writeString(messages, "[{\"role\": \"user\", \"content\": \"hi\"}]");
        CliRun config = run("template", "--tokenizer", tok.toString(), "--messages", messages.toString());
        assertEquals("from the config hi", config.out(), config.err());
        Files.writeString(tok.resolve("chat_template.jinja"),
                "{{ bos_token }}[{{ messages[0].content }}]{{ eos_token }}{{ pad_token is defined }}\n");
        // A file in the directory names the directory too; one trailing newline of the template is dropped (jinja2).
        CliRun jinja = run("template", "--tokenizer", tok.resolve("tokenizer_config.json").toString(), "--messages",
                messages.toString());
        assertEquals(0, jinja.status(), jinja.err());
        assertEquals("<s>[hi]</s>False", jinja.out());
    }

    @Test
    void badInputIsOneLineAndExitTwo() throws Exception {
        Path model = dir.resolve("model");
        Files.createDirectories(model);
        Files.write(model.resolve("tokenizer_config.json"), ChatModels.resource("chat/model/tokenizer_config.json"));
        String m = model.toString();
        assertBad("message 1 is not an object with \"role\" and \"content\"", "[1, 2]", m);
        assertBad("not a JSON list of messages", "{\"role\": \"user\", \"content\": \"x\"}", m);
        assertBad("the list of messages is empty", "[]", m);
        assertBad("message 2 has no \"role\"", "[{\"role\": \"user\", \"content\": \"x\"}, {\"content\": \"y\"}]", m);
        assertBad("message 1 (user) has no \"content\"", "[{\"role\": \"user\"}]", m);
        assertBad("message 1: \"role\" must be a string", "[{\"role\": 3, \"content\": \"x\"}]", m);
        assertBad("\"content\" must be a string, null or a list", "[{\"role\": \"user\", \"content\": 5}]", m);
        assertBad("not valid JSON", "[{\"role\": \"user\",", m);
        assertBad("raised an exception: Unknown role: critic", "[{\"role\": \"critic\", \"content\": \"x\"}]", m);

        Path messages = dir.resolve("ok.json");
        Files.writeString(messages, "[{\"role\": \"user\", \"content\": \"x\"}]");
        CliRun noFile = run("template", "--model", m, "--messages", dir.resolve("absent.json").toString());
        assertOneLine(noFile, "absent.json: no such file");
        CliRun var = run("template", "--model", m, "--messages", messages.toString(), "--var", "messages=[]");
        assertOneLine(var, "--var messages: set by the command itself");
        CliRun badVar = run("template", "--model", m, "--messages", messages.toString(), "--var", "x=not json");
        assertOneLine(badVar, "--var x: not a JSON value");
        Path empty = dir.resolve("empty");
        Files.createDirectories(empty);
        assertOneLine(run("template", "--tokenizer", empty.toString(), "--messages", messages.toString()),
                "has neither tokenizer_config.json nor chat_template.jinja");
        Files.writeString(empty.resolve("tokenizer_config.json"), "{\"eos_token\": \"x\"}");
        assertOneLine(run("template", "--tokenizer", empty.toString(), "--messages", messages.toString()),
                "no chat template");
        Files.writeString(empty.resolve("chat_template.jinja"), "line one\n{% for m in messages %}{{ m.content }");
        assertOneLine(run("template", "--tokenizer", empty.toString(), "--messages", messages.toString()),
                "chat template " + empty.resolve("chat_template.jinja") + ", line 2: unexpected '}'");
        Files.writeString(empty.resolve("chat_template.jinja"), "{{ messages[0].content + 1 }}");
        assertOneLine(run("template", "--tokenizer", empty.toString(), "--messages", messages.toString()),
                "line 1: can only concatenate str (not \"int\") to str");
        ObjectNode tools = ChatModels.JSON.createObjectNode();
        Path toolsFile = ChatModels.writeJson(dir.resolve("tools.json"), tools);
        assertOneLine(run("template", "--model", m, "--messages", messages.toString(), "--tools", toolsFile.toString()),
                "tools.json: not a JSON list of tools");
    }

    private void assertBad(String expected, String messagesJson, String model) throws Exception {
        Path f = dir.resolve("bad.json");
        Files.writeString(f, messagesJson);
        assertOneLine(run("template", "--model", model, "--messages", f.toString()), expected);
    }

    private static void assertOneLine(CliRun r, String expected) {
        assertEquals(Main.EXIT_BAD_INPUT, r.status(), r.out() + r.err());
        assertEquals("", r.out());
        assertEquals(1, r.err().lines().count(), r.err());
        assertTrue(r.err().startsWith("moescope: ") && r.err().contains(expected), r.err());
    }
}
