package org.moescope.chat;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.time.Clock;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Every small template of expressions-golden.jsonl (whitespace control, literals, operators, Python methods, filters,
 * tests, loops, macros, namespace, tojson, errors) renders to exactly what transformers' jinja2 environment rendered,
 * or fails where it failed; raise_exception's message comes through word for word.
 */
class ExpressionGoldenTest {
    @TestFactory
    List<DynamicTest> rendersAsTransformers() {
        List<DynamicTest> tests = new ArrayList<>();
        List<JsonNode> cases = ChatGoldens.lines("expressions-golden.jsonl");
        assertTrue(cases.size() > 100, "the golden file holds the expression cases");
        for (int i = 0; i < cases.size(); i++) {
            JsonNode c = cases.get(i);
            String template = c.get("template").textValue();
            Map<String, Object> context = ChatGoldens.map(c.get("context"));
            String label = (i + 1) + ": " + template.substring(0, Math.min(60, template.length())).replace("\n", "\\n");
            tests.add(DynamicTest.dynamicTest(label, () -> {
                if (c.has("output")) {
                    String got = ChatTemplate.parse(template, "case " + label).render(context);
                    assertEquals(c.get("output").textValue(), got, template);
                } else {
                    String error = c.get("error").textValue();
                    TemplateException e = assertThrows(TemplateException.class,
                            () -> ChatTemplate.parse(template, "case").render(context), "HF raised " + error);
                    assertFalse(e.getMessage().contains("\n"), "one line");
                    if (error.startsWith("TemplateError: ")) {
                        assertTrue(e.raisedByTemplate(), e.getMessage());
                        assertTrue(e.getMessage().endsWith(": " + error.substring("TemplateError: ".length())),
                                e.getMessage());
                    } else {
                        assertFalse(e.raisedByTemplate(), e.getMessage());
                    }
                }
            }));
        }
        return tests;
    }

    @Test
    void strftimeNowFormatsAsPython() {
        for (JsonNode c : ChatGoldens.lines("strftime-golden.jsonl")) {
            LocalDateTime moment = LocalDateTime.parse(c.get("moment").textValue());
            Clock clock = Clock.fixed(moment.toInstant(ZoneOffset.UTC), ZoneOffset.UTC);
            String fmt = c.get("format").textValue();
            ChatTemplate t = ChatTemplate.parse("{{ strftime_now(fmt) }}", "strftime");
            assertEquals(c.get("output").textValue(), t.render(Map.of("fmt", fmt), clock), fmt + " at " + moment);
        }
    }

    @Test
    void unsupportedConstructsAreRefusedWithTheirName() {
        TemplateException format = assertThrows(TemplateException.class,
                () -> ChatTemplate.parse("{{ '{}'.format(1) }}", "t.jinja").render(Map.of()));
        assertTrue(format.getMessage().contains("str.format() is not supported"), format.getMessage());
        TemplateException safe = assertThrows(TemplateException.class,
                () -> ChatTemplate.parse("\n{{ x | safe }}", "t.jinja"));
        assertEquals("chat template t.jinja, line 2: no filter named 'safe' (a jinja2 filter that moescope's template "
                + "engine does not implement)", safe.getMessage());
        TemplateException extend = assertThrows(TemplateException.class,
                () -> ChatTemplate.parse("{% extends 'base' %}", "t.jinja"));
        assertTrue(extend.getMessage().contains("tag 'extends' is not supported"), extend.getMessage());
    }

    @Test
    void errorsNameTheTemplateAndLine() {
        TemplateException e = assertThrows(TemplateException.class,
                () -> ChatTemplate.parse("line 1\n{{ 'a' }}\n{{ 'x' + 1 }}", "my.jinja").render(Map.of()));
        assertEquals("chat template my.jinja, line 3: can only concatenate str (not \"int\") to str", e.getMessage());
        TemplateException raised = assertThrows(TemplateException.class,
                () -> ChatTemplate.parse("{{ raise_exception('bad\nrole') }}", "my.jinja").render(Map.of()));
        assertEquals("chat template my.jinja raised an exception: bad\\nrole", raised.getMessage());
    }
}
