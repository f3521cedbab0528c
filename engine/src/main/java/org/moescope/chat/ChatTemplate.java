package org.moescope.chat;

import java.time.Clock;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A Hugging Face chat template (the {@code chat_template} of tokenizer_config.json or a chat_template.jinja file),
 * parsed once and rendered as transformers' {@code apply_chat_template(messages, tokenize=False, ...)} renders it.
 *
 * <p>The template language is jinja2 3.1 as transformers configures it, implemented here (no Java Jinja library
 * renders HF templates byte-identically; see docs/chat.md): statements if/for/set/macro/call/with/break/continue,
 * namespace(), loop.*, Python str/dict/list methods, slicing with steps and negative indices, jinja2's filters and
 * tests, transformers' tojson, raise_exception and strftime_now, and jinja2's whitespace control with trim_blocks and
 * lstrip_blocks. Values passed in are JSON-like Java values (Map, List, String, Long or Integer, Double, Boolean,
 * null). Rendering is deterministic except strftime_now, whose clock can be given.
 */
public final class ChatTemplate {
    /** Variables transformers passes itself; extra variables may not use these names. */
    public static final Set<String> RESERVED = Set.of("messages", "tools", "documents", "add_generation_prompt");

    private final String name;
    private final String source;
    private final List<Ast.Node> body;

    private ChatTemplate(String name, String source, List<Ast.Node> body) {
        this.name = name;
        this.source = source;
        this.body = body;
    }

    /**
     * Parses a template; a syntax error, or a construct outside the supported subset, is a {@link TemplateException}
     * naming {@code name} and the line.
     */
    public static ChatTemplate parse(String source, String name) {
        return new ChatTemplate(name, source, Parser.parse(source, name));
    }

    /** Where the template came from, for messages (e.g. "model/tokenizer_config.json"). */
    public String name() {
        return name;
    }

    public String source() {
        return source;
    }

    /** Renders with the given top-level variables. */
    public String render(Map<String, ?> variables) {
        return render(variables, Clock.systemDefaultZone());
    }

    /** Renders with the given variables; strftime_now reads {@code clock}. */
    public String render(Map<String, ?> variables, Clock clock) {
        Map<String, Object> vars = new LinkedHashMap<>();
        variables.forEach((k, v) -> vars.put(k, fromJava(v)));
        return new Interpreter(name, clock).render(body, vars);
    }

    /**
     * transformers' apply_chat_template(messages, tools=tools, tokenize=False, add_generation_prompt=..., **extra):
     * the template sees messages, tools (None when absent), documents (None), add_generation_prompt, the tokenizer's
     * named special tokens (bos_token, eos_token... those that are set) and the extra variables, which override
     * special tokens of the same name.
     */
    public String apply(List<?> messages, List<?> tools, boolean addGenerationPrompt, Map<String, String> specialTokens,
                        Map<String, ?> extra) {
        Map<String, Object> vars = new LinkedHashMap<>(specialTokens);
        extra.forEach((k, v) -> {
            if (RESERVED.contains(k)) throw new IllegalArgumentException(k + " is passed by apply itself");
            vars.put(k, v);
        });
        vars.put("messages", messages);
        vars.put("tools", tools);
        vars.put("documents", null);
        vars.put("add_generation_prompt", addGenerationPrompt);
        return render(vars);
    }

    /** JSON-like Java values as the interpreter's Python values (int types to Long, float to Double, copies). */
    static Object fromJava(Object v) {
        return switch (v) {
            case null -> null;
            case String s -> s;
            case Boolean b -> b;
            case Long l -> l;
            case Integer i -> (long) i;
            case Short s -> (long) s;
            case Byte b -> (long) b;
            case Double d -> d;
            case Float f -> (double) f;
            case Map<?, ?> m -> {
                Map<Object, Object> out = new LinkedHashMap<>();
                m.forEach((k, x) -> out.put(fromJava(k), fromJava(x)));
                yield out;
            }
            case List<?> l -> {
                List<Object> out = new ArrayList<>(l.size());
                for (Object x : l) out.add(fromJava(x));
                yield Collections.unmodifiableList(out);
            }
            default -> throw new IllegalArgumentException("not a JSON-like value: " + v.getClass().getName());
        };
    }
}
