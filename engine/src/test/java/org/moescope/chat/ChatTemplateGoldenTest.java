package org.moescope.chat;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.moescope.model.Fixtures;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Chat templates render every message list of their golden file byte for byte as transformers'
 * apply_chat_template(messages, tools=..., tokenize=False, add_generation_prompt=...) did, or refuse it where
 * transformers raised. The committed synthetic templates run everywhere; the real Qwen3, DeepSeek-V3 and Llama-3.1
 * templates are read from ../shared (those tests skip when it is absent).
 */
class ChatTemplateGoldenTest {
    private static final Map<String, String> SYNTHETIC_SPECIAL = Map.of("bos_token", "<s>", "eos_token", "</s>",
            "unk_token", "<unk>");

    @TestFactory
    List<DynamicTest> syntheticTemplates() {
        List<DynamicTest> tests = new ArrayList<>();
        for (String name : List.of("chatml-tools", "alternating", "macros")) {
            ChatTemplate t = ChatTemplate.parse(ChatGoldens.resource("templates/" + name + ".jinja"), name + ".jinja");
            tests.addAll(cases(name, t, SYNTHETIC_SPECIAL));
        }
        return tests;
    }

    @TestFactory
    List<DynamicTest> realTemplates() {
        List<DynamicTest> tests = new ArrayList<>();
        for (String name : List.of("qwen3", "deepseek-v3", "llama3.1")) {
            tests.add(DynamicTest.dynamicTest(name, () -> {
                Path config = Fixtures.shared("fixtures/tokenizers/" + name + "/tokenizer_config.json");
                ChatConfig chat = ChatConfig.load(config.getParent());
                ChatTemplate t = chat.template(false);
                int n = 0;
                for (DynamicTest d : cases(name, t, chat.specialTokens())) {
                    d.getExecutable().execute();
                    n++;
                }
                assertTrue(n >= 40, name + ": " + n + " cases");
            }));
        }
        return tests;
    }

    private static List<DynamicTest> cases(String name, ChatTemplate t, Map<String, String> special) {
        List<DynamicTest> tests = new ArrayList<>();
        for (JsonNode c : ChatGoldens.lines("golden-" + name + ".jsonl")) {
            String label = name + " " + c.get("case").textValue() + " agp=" + c.get("add_generation_prompt").asBoolean();
            tests.add(DynamicTest.dynamicTest(label, () -> {
                List<Object> messages = ChatGoldens.list(c.get("messages"));
                List<Object> tools = ChatGoldens.list(c.get("tools"));
                Map<String, Object> vars = ChatGoldens.map(c.get("vars"));
                boolean agp = c.get("add_generation_prompt").asBoolean();
                if (c.has("rendered")) {
                    assertEquals(c.get("rendered").textValue(), t.apply(messages, tools, agp, special, vars), label);
                } else {
                    String error = c.get("error").textValue();
                    TemplateException e = assertThrows(TemplateException.class,
                            () -> t.apply(messages, tools, agp, special, vars), label + ": HF raised " + error);
                    if (error.startsWith("TemplateError: ")) {
                        assertTrue(e.getMessage().endsWith(error.substring("TemplateError: ".length())), e.getMessage());
                    }
                }
            }));
        }
        return tests;
    }
}
