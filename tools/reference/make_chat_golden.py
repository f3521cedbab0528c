#!/usr/bin/env python3
"""Golden renderings for org.moescope.chat (chat templates), made with transformers' own chat-template code.

transformers renders chat templates with jinja2 in an ImmutableSandboxedEnvironment (trim_blocks, lstrip_blocks,
loopcontrols, its own tojson filter, raise_exception and strftime_now globals). This script renders through exactly
that code path and writes what moescope's Java interpreter must reproduce byte for byte:

engine/src/test/resources/chat/
  expressions-golden.jsonl   small templates with a context each (whitespace control, literals, operators, Python
                             methods, filters, tests, loops, macros, namespace, tojson, errors), rendered with
                             transformers' compiled environment (_compile_jinja_template, what apply_chat_template uses)
  strftime-golden.jsonl      Python's strftime of a fixed date for the formats strftime_now may get
  templates/*.jinja          committed synthetic chat templates (ours, for CI without the real tokenizer files)
  golden-<name>.jsonl        per template: many message lists (system or not, multi-turn, tools, reasoning,
                             unicode, add_generation_prompt on and off), each rendered by
                             tokenizer.apply_chat_template(messages, tools=..., tokenize=False, ...) or the error it
                             raised
cli/src/test/resources/chat/model/
  tokenizer.json, tokenizer_config.json   a tiny byte-level BPE tokenizer (the engine's synthetic one plus ChatML
                             special tokens) with a committed chat template, for the end-to-end chat tests
  golden-prompts.jsonl       its rendered prompts and HF's token ids of them (apply_chat_template(tokenize=True))

The real templates (Qwen3, DeepSeek-V3, Llama-3.1) are read from ../shared/fixtures/tokenizers/<name>/ beside the
repository (not committed); their goldens are written only when those files are present.

Usage: python3 tools/reference/make_chat_golden.py [--shared DIR]
"""
import argparse
import datetime
import json
import os
import shutil
import tempfile

from transformers import AutoTokenizer
from transformers.utils.chat_template_utils import _compile_jinja_template, render_jinja_template

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RES = os.path.join(ROOT, "engine", "src", "test", "resources", "chat")
CLI_RES = os.path.join(ROOT, "cli", "src", "test", "resources", "chat", "model")
SYNTHETIC_TOKENIZER = os.path.join(ROOT, "engine", "src", "test", "resources", "tokenizer", "synthetic-tokenizer.json")
DEFAULT_SHARED = os.path.join(os.path.dirname(ROOT), "shared", "fixtures", "tokenizers")
REAL = ["qwen3", "deepseek-v3", "llama3.1"]


def dump(obj):
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def error_name(e):
    return type(e).__name__ + ": " + str(e)


# ---------------------------------------------------------------------------------------------------------------------
# Expression-level cases: (template, context). Every feature the Java interpreter implements appears here.

D = {"a": 1, "b": [2, 3], "items": "key named items", "n": None, "s": " Hi There ", "nested": {"x": {"y": "deep"}}}
USERS = [{"name": "ann", "age": 31, "role": "user"}, {"name": "bob", "age": 25, "role": "system"},
         {"name": "cy", "age": 31, "role": "user", "tag": None}]

EXPRESSIONS = [
    # whitespace control: trim_blocks, lstrip_blocks, -, +, comments, raw, newlines, trailing newline
    ("a\n{% if true %}\nb\n{% endif %}\nc", {}),
    ("  {% if true %}x{% endif %}  \n  y", {}),
    ("a  {%- if true -%}  b  {%- endif -%}  c", {}),
    ("  {%+ if true %}x{% endif %}\n", {}),
    ("{% if true +%}\nx{% endif %}", {}),
    ("{# comment #}\nx\n  {# indented #}\ny {#- trimmed -#} z", {}),
    ("{% raw %}{{ x }} {% if %}{% endraw %}|{%- raw -%}  {{ y }}  {%- endraw -%}|", {}),
    ("{{ 'a' }}\n{{ 'b' }}\n", {}),
    ("line1\r\nline2\rline3\n", {}),
    ("x\n\n", {}),
    ("\t{% if true %}\ttab{% endif %}\n\t{%- if true %}x{% endif %}", {}),
    ("{{- ' lead' }} {{ 'mid' -}}   \n  {{ 'end' }}", {}),
    ("{% for i in [1, 2] %}\n  {{ i }}\n{% endfor %}\n", {}),
    ("{% for i in [1, 2] -%}\n  {{ i }}\n{%- endfor %}", {}),
    ("a\u00a0{%- if true %}b{% endif %}\u3000\n{%- if true %}c{% endif %}", {}),
    # literals
    ("{{ 'a\\nb\\t\\x41\\u00e9\\U0001F600\\101\\'q' }}|{{ \"d\\\"q\" }}|{{ '\\d\\w' }}|{{ 'a' 'b' \"c\" }}", {}),
    ("{{ 1_000 }} {{ 0x1F }} {{ 0b101 }} {{ 0o17 }} {{ 1.5e3 }} {{ 2.50 }} {{ 1e-7 }} {{ 00 }} {{ 0_0 }}", {}),
    ("{{ 007 }}", {}),
    ("{{ [1, 'two', 3.0, none, true, false] }} {{ (1, 2) }} {{ (1,) }} {{ () }} {{ {'a': 1, 'b': [2]} }} {{ {} }}", {}),
    ("{{ ['it\\'s', \"q\\\"\", 'a\\nb', 'é', 'both\\'\"', '\\x00\\x7f\\u200b'] }}", {}),
    ("{{ True }} {{ False }} {{ None }} {{ none }} {{ n }}", {"n": None}),
    # arithmetic and float formatting
    ("{{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % -3 }} {{ -7 % 3 }} {{ 7 / 2 }} {{ 4 / 2 }} {{ 2 ** 3 }} {{ 2 ** -1 }}", {}),
    ("{{ 1 + 2.5 }} {{ 10 - 0.1 }} {{ 3 * 'ab' }} {{ [1] * 2 }} {{ true + 1 }} {{ -2 ** 2 }} {{ 7.5 // 2 }} "
     "{{ -7.5 % 2 }}", {}),
    ("{{ 0.1 + 0.2 }} {{ 1 / 3 }} {{ 1e22 }} {{ 1e16 }} {{ 1e15 }} {{ 123456789012345678.0 }} {{ -0.0 }} {{ 2.0 }} "
     "{{ 0.0001 }} {{ 0.00001 }} {{ 1.5e-10 }} {{ 5e300 * 1e10 }}", {}),
    ("{{ x + 1 }} {{ x * 2.5 }} {{ -x }} {{ +x }} {{ y / 4 }}", {"x": 3, "y": 10.0}),
    # comparisons, membership, logic, conditional expressions
    ("{{ 1 < 2 < 3 }} {{ 3 > 2 > 2 }} {{ 1 == 1.0 }} {{ 'a' < 'b' }} {{ [1, 2] < [1, 3] }} {{ true == 1 }} "
     "{{ none == none }} {{ 'x' != 'y' }} {{ 2 >= 2.0 }} {{ 'B' < 'a' }} {{ (1, 2) == [1, 2] }}", {}),
    ("{{ 'b' in 'abc' }} {{ 2 in [1, 2] }} {{ 'k' in {'k': 1} }} {{ 'z' not in 'abc' }} {{ 1 in (1, 2) }} "
     "{{ 'a' in u }}", {}),
    ("{{ 0 or 'x' }} {{ 1 and 'y' }} {{ not none }} {{ none or [] }} {{ '' and 1 }} {{ not 0 }} {{ [] or {} or 3 }}", {}),
    ("{{ 'a' if x else 'b' }}|{{ 'a' if false }}|{{ 'y' if x is defined else 'n' }}|"
     "{{ 'p' if 0 else 'q' if 1 else 'r' }}", {"x": 0}),
    ("{{ 1 ~ 'a' ~ none ~ true ~ 2.5 ~ [1] ~ u }}", {}),
    ("{{ 'a' + ' b ' | trim }}|{{ not 1 == 2 }}|{{ x is defined and x }}|{{ xs|length - 1 }}|{{ -(xs|length) }}|"
     "{{ 'a' ~ 2 * 3 }}|{{ 'x' ~ 1 + 'y' ~ 2 }}", {"x": "v", "xs": [1, 2, 3]}),
    # subscripts and slices (code points, negative indices, steps)
    ("{{ xs[-1] }} {{ xs[1:] }} {{ xs[::-1] }} {{ xs[:-1] }} {{ xs[5] }}|{{ xs[-9] }}|{{ xs[1:99] }} {{ xs[::2] }} "
     "{{ xs[-2:] }} {{ xs[3:1] }} {{ xs[3:1:-1] }}", {"xs": [1, 2, 3, 4]}),
    ("{{ 'hello'[1:4] }} {{ 'hello'[::2] }} {{ 'hello'[-1] }} {{ 'abc'[-4] }}|{{ 'a😀b'[1] }} {{ 'a😀b'|length }} "
     "{{ 'a😀b'[::-1] }} {{ 'héllo'[1:3] }}", {}),
    ("{{ d.a }} {{ d['a'] }} {{ d.missing }}|{{ d['missing'] }}|{{ d.nested.x.y }} {{ d['nested']['x'].y }} "
     "{{ d.b[0] }} {{ d.b.1 }} {{ d.n }} {{ d['items'] }}", {"d": D}),
    ("{{ n.x }}|{{ n['x'] }}|{{ s.nope }}|{{ 5.x }}|", {"n": None, "s": "str"}),
    ("{{ d.get('a') }} {{ d.get('z') }} {{ d.get('z', 'dflt') }} {{ d.keys() | list }} {{ d.values() | list | length }} "
     "{{ xs.index(3) }} {{ xs.count(2) }}", {"d": {"a": 1, "b": 2}, "xs": [2, 3, 2]}),
    # str methods
    ("[{{ s.strip() }}][{{ s.lstrip() }}][{{ s.rstrip() }}][{{ 'xxhixx'.strip('x') }}][{{ '\\n\\nA\\n'.strip('\\n') }}]"
     "[{{ '\\u00a0 x \\u3000'.strip() }}][{{ '\\u200b x'.strip() }}][{{ 'abcba'.lstrip('ab') }}]", {"s": " Hi There "}),
    ("{{ 'a b  c'.split() }} {{ '  a b '.split() }} {{ 'a,b,,c'.split(',') }} {{ 'a b c'.split(' ', 1) }} "
     "{{ 'a b c'.rsplit(' ', 1) }} {{ 'a<t>b<t>c'.split('<t>')[-1] }} {{ ''.split() }} {{ ''.split(',') }} "
     "{{ ' a b c '.split(None, 1) }} {{ ' a b c '.rsplit(None, 1) }} {{ 'a\\u3000b\\u00a0c'.split() }} "
     "{{ 'x'.split(sep='x', maxsplit=1) }}", {}),
    ("{{ 'l1\\nl2\\r\\nl3\\rl4\\u2028l5\\n'.splitlines() }} {{ 'a\\nb\\n'.splitlines(true) }} {{ ''.splitlines() }}", {}),
    ("{{ s.startswith('ab') }} {{ s.startswith(('x', 'abc')) }} {{ s.endswith('fg') }} {{ s.startswith('c', 2) }} "
     "{{ s.endswith('d', 0, 4) }} {{ s.find('c') }} {{ s.find('z') }} {{ s.rfind('b') }} {{ s.index('d') }} "
     "{{ s.count('b') }} {{ 'aaa'.count('aa') }} {{ s.replace('b', 'B') }} {{ 'aaaa'.replace('a', 'b', 2) }} "
     "{{ 'ab'.replace('', '-') }}", {"s": "abcdbfg"}),
    ("{{ 'hello wORLD'.upper() }} {{ 'HeLLo'.lower() }} {{ \"they're bill's friends\".title() }} "
     "{{ 'hello WORLD'.capitalize() }} {{ 'aBc'.swapcase() }} {{ '-'.join(['a', 'b', 'c']) }} {{ ''.join('xyz') }} "
     "{{ 'ab'.center(7, '*') }} {{ 'ab'.ljust(4) }}| {{ 'ab'.rjust(4, '.') }} {{ '42'.zfill(5) }} {{ '-42'.zfill(5) }}",
     {}),
    ("{{ 'prefix-body'.removeprefix('prefix-') }} {{ 'body.txt'.removesuffix('.txt') }} {{ 'a=b=c'.partition('=') }} "
     "{{ 'a=b=c'.rpartition('=') }} {{ 'abc'.partition('x') }} {{ '123'.isdigit() }} {{ 'ab1'.isalnum() }} "
     "{{ ' \\t'.isspace() }} {{ 'ABC'.isupper() }} {{ 'abc'.islower() }} {{ ''.isalpha() }} {{ 'Ab Cd'.istitle() }}",
     {}),
    # set, namespace, tuples, set blocks, scoping
    ("{% set ns = namespace(a=1, b='x') %}{% set ns.a = ns.a + 1 %}{{ ns.a }}{{ ns.b }}{{ ns.missing }}|"
     "{% for i in [1, 2, 3] %}{% set ns.a = ns.a * i %}{% endfor %}{{ ns.a }}", {}),
    ("{% set ns = namespace({'k': 'v'}, z=2) %}{{ ns.k }}{{ ns.z }}{{ ns }}", {}),
    ("{% set a, b = 1, 2 %}{{ a }}{{ b }}{% set c, d = [3, 4] %}{{ c }}{{ d }}{% set t = 5, 6 %}{{ t }}", {}),
    ("{% set x | upper %}hi {{ 'there' }}{% endset %}{{ x }}|{% set y %}\n  raw {{ 1 }}\n{% endset %}[{{ y }}]", {}),
    ("{% set x = 1 %}{% for i in range(3) %}{{ x }}{% set x = x + 1 %}{{ x }};{% endfor %}{{ x }}", {}),
    ("{% for i in range(3) %}{% if i == 0 %}{% set y = 5 %}{% endif %}{{ y }};{% endfor %}", {}),
    ("{% if true %}{% set z = 'leaks' %}{% endif %}{{ z }}", {}),
    ("{% set x = 1 %}{% macro m() %}{{ x }}{% endmacro %}{% set x = 2 %}{{ m() }}", {}),
    ("{% set messages = 'shadowed' %}{{ messages }}", {"messages": [1]}),
    # for loops
    ("{% for x in xs %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}{{ loop.first }}"
     "{{ loop.last }}{{ loop.length }}|{% endfor %}", {"xs": ["a", "b", "c"]}),
    ("{% for x in xs %}[{{ loop.previtem }}<{{ x }}>{{ loop.nextitem }}]{% endfor %}", {"xs": [1, 2, 3]}),
    ("{% for x in xs if x > 1 %}{{ x }}:{{ loop.index }}/{{ loop.length }} {% else %}empty{% endfor %}|"
     "{% for x in [] %}no{% else %}else-branch{% endfor %}", {"xs": [1, 2, 3]}),
    ("{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}|{% for k in d %}{{ k }}{% endfor %}|"
     "{% for ch in 'héy' %}{{ ch }}.{% endfor %}", {"d": {"x": 1, "y": [2]}}),
    ("{% for a in [1, 2] %}{% for b in 'xy' %}{{ a }}{{ b }}{{ loop.index }}{% endfor %}{{ loop.index }} {% endfor %}",
     {}),
    ("{% for x in range(10) %}{% if x == 2 %}{% continue %}{% endif %}{% if x == 5 %}{% break %}{% endif %}{{ x }}"
     "{% endfor %}|{{ range(3) | list }} {{ range(1, 8, 3) | list }} {{ range(5, 0, -2) | list }}", {}),
    ("{% for x in xs %}{{ loop.cycle('odd', 'even') }}{% if loop.changed(x.g) %}*{% endif %}{{ x.v }} {% endfor %}",
     {"xs": [{"g": 1, "v": "a"}, {"g": 1, "v": "b"}, {"g": 2, "v": "c"}]}),
    ("{% for m in messages[::-1] %}{% set index = (messages|length - 1) - loop.index0 %}{{ index }}{{ m }} "
     "{% endfor %}", {"messages": ["a", "b", "c"]}),
    ("{% for x in u %}never{% endfor %}|{% for x in {} %}{% else %}empty dict{% endfor %}", {}),
    # macros, call blocks, with
    ("{% macro greet(name, greeting='Hello', punct='!') %}{{ greeting }}, {{ name }}{{ punct }}{% endmacro %}"
     "{{ greet('ann') }} {{ greet('bob', 'Hi') }} {{ greet('cy', punct='?') }} {{ greet(name='dee') }} [{{ greet() }}]",
     {}),
    ("{% macro fact(n) %}{% if n <= 1 %}1{% else %}{{ n }}*{{ fact(n - 1) }}{% endif %}{% endmacro %}{{ fact(4) }}", {}),
    ("{% macro box() %}[{{ caller() }}]{% endmacro %}{% call box() %}inside {{ 1 + 1 }}{% endcall %}"
     "{% macro each(xs) %}{% for x in xs %}{{ caller(x) }}{% endfor %}{% endmacro %}"
     "{% call(item) each([1, 2]) %}<{{ item }}>{% endcall %}", {}),
    ("{% with a = 1, b = 'two' %}{{ a }}{{ b }}{% endwith %}[{{ a }}]", {}),
    ("{% generation %}kept{% endgeneration %}", {}),
    ("{% print 'printed', 2 %}", {}),
    # filters
    ("{{ xs|length }} {{ 'héllo'|length }} {{ d|count }} {{ u|length }} {{ ' x '|trim }}|{{ 'xxhixx'|trim('x') }} "
     "{{ 5|string }}{{ none|string }} {{ 'AbC'|lower }} {{ 'AbC'|upper }} {{ 'hello wORLD'|capitalize }} "
     "{{ \"hello w-o(rld [x] it's\"|title }}", {"xs": [1, 2], "d": {"a": 1}}),
    ("{{ 'a-b-c'|replace('-', '+') }} {{ 'a-b-c'|replace('-', '', 1) }} {{ xs|join(', ') }} {{ xs|join }} "
     "{{ users|join('/', attribute='name') }} {{ xs|first }} {{ xs|last }} {{ []|first }}|{{ 'abc'|first }} "
     "{{ 'abc'|list }} {{ 'abc'|reverse }} {{ xs|reverse|list }}", {"xs": [3, 1, 2], "users": USERS}),
    ("{{ xs|sort }} {{ xs|sort(reverse=true) }} {{ ['b', 'A', 'c']|sort }} {{ ['b', 'A', 'c']|sort(case_sensitive=true) }}"
     " {{ users|sort(attribute='age')|map(attribute='name')|list }} {{ [3, 1, 3, 2, 1]|unique|list }} "
     "{{ ['a', 'A', 'b']|unique|list }} {{ xs|min }} {{ xs|max }} {{ xs|sum }} {{ users|sum(attribute='age') }}",
     {"xs": [3, 1, 2], "users": USERS}),
    ("{{ u|default('d') }} {{ none|default('d') }} {{ ''|default('d', true) }} {{ 0|d('zero', boolean=true) }} "
     "{{ 'v'|default('d') }}", {}),
    ("{{ users|selectattr('role', 'equalto', 'user')|map(attribute='name')|list }} "
     "{{ users|rejectattr('role', 'equalto', 'user')|map(attribute='name')|join }} "
     "{{ users|selectattr('tag')|list|length }} {{ users|selectattr('tag', 'none')|map(attribute='name')|list }} "
     "{{ xs|select('odd')|list }} {{ xs|reject('odd')|list }} {{ xs|select|list }} {{ xs|select('gt', 1)|list }} "
     "{{ ['a', 'B']|map('upper')|list }} {{ users|map(attribute='nick', default='-')|list }} "
     "{{ ['x', 'yz']|map('length')|list }}", {"xs": [0, 1, 2, 3], "users": USERS}),
    ("{{ d|items|list }} {{ u|items|list }} {{ 3.7|int }} {{ '42'|int }} {{ 'x'|int }} {{ 'x'|int(7) }} {{ '3.9'|int }} "
     "{{ '0x1A'|int(0, 16) }} {{ true|int }} {{ '2.5'|float }} {{ 'no'|float }} {{ 3|float }} {{ -3|abs }} "
     "{{ 2.5|round }} {{ 3.5|round }} {{ 2.675|round(2) }} {{ 2.1|round(method='ceil') }} {{ 2.9|round(0, 'floor') }}",
     {"d": {"a": 1, "b": None}}),
    ("{{ 'a\\nb\\n\\nc'|indent }}|{{ 'a\\nb'|indent(2, true) }}|{{ 'a\\n\\nb'|indent(2, blank=true) }}|"
     "{{ 'a\\nb'|indent('> ') }}|{{ 'one two  three'|wordcount }} {{ 'x'|center(5) }}|", {}),
    ("{{ users|attr('count') is defined }} {{ 'abc'|attr('upper') is callable }} {{ 1|attr('x') is defined }}",
     {"users": USERS}),
    # tojson (transformers' own filter)
    ("{{ x|tojson }}", {"x": {"a": [1, 2.0, None, True, "é\n\t\"\\"], "b": {}, "c": [], "d": 1e-7, "e": "\u0001\u007f😀"}}),
    ("{{ x|tojson(indent=2) }}|{{ x|tojson(indent=0) }}|{{ [1, [2, {}]]|tojson(indent='\\t') }}",
     {"x": {"a": [1, 2.0], "b": {}, "c": [], "d": {"e": None}}}),
    ("{{ x|tojson(sort_keys=true) }} {{ x|tojson(separators=(',', ':')) }} {{ x|tojson(ensure_ascii=true) }} "
     "{{ 'plain'|tojson }} {{ 3|tojson }} {{ none|tojson }} {{ (1, 'two')|tojson }} {{ {1: 'int key', none: 0}|tojson }}",
     {"x": {"b": "é😀", "a": 1.5}}),
    ("{% for tool in tools %}{{ tool|tojson }}\n{% endfor %}", {"tools": [
        {"type": "function", "function": {"name": "get_weather", "description": "Get the weather.",
                                          "parameters": {"type": "object", "properties": {
                                              "city": {"type": "string", "description": "City, e.g. \"Paris\""},
                                              "days": {"type": "integer", "minimum": 1}},
                                              "required": ["city"]}}}]}),
    # tests
    ("{{ x is defined }} {{ u is defined }} {{ u is undefined }} {{ n is none }} {{ x is none }} {{ n is not none }} "
     "{{ x is string }} {{ 1 is string }} {{ 1 is number }} {{ 1.5 is number }} {{ true is number }} {{ 1 is integer }} "
     "{{ true is integer }} {{ 1.5 is float }} {{ true is boolean }} {{ 1 is boolean }} {{ true is true }} "
     "{{ 1 is true }} {{ false is false }} {{ 0 is false }}", {"x": "s", "n": None}),
    ("{{ d is mapping }} {{ xs is mapping }} {{ xs is sequence }} {{ 'a' is sequence }} {{ d is sequence }} "
     "{{ 1 is sequence }} {{ u is sequence }} {{ xs is iterable }} {{ 1 is iterable }} {{ u is iterable }} "
     "{{ range is callable }} {{ 'a'.upper is callable }} {{ u is callable }} {{ 'x' is callable }}",
     {"d": {}, "xs": [1]}),
    ("{{ 3 is odd }} {{ 4 is even }} {{ 9 is divisibleby 3 }} {{ 9 is divisibleby(2) }} {{ 'a' is eq 'a' }} "
     "{{ 2 is equalto 2 }} {{ 2 is ne 3 }} {{ 1 is lt 2 }} {{ 2 is le 2 }} {{ 3 is gt 2 }} {{ 2 is ge 3 }} "
     "{{ 1 is in [1, 2] }} {{ 'abc' is lower }} {{ 'ABC' is upper }} {{ 'Abc' is lower }} {{ none is sameas none }} "
     "{{ 'upper' is filter }} {{ 'nope' is filter }} {{ 'odd' is test }}", {}),
    ("{{ -xs|length }}", {"xs": [1]}),
    # Python-level errors and the template's own exceptions
    ("{{ 'a' + 1 }}", {}),
    ("{{ 1 + 'a' }}", {}),
    ("{{ u.attr }}", {}),
    ("{{ u + 1 }}", {}),
    ("{{ xs.append(1) }}", {"xs": []}),
    ("{{ d.update({}) }}", {"d": {}}),
    ("{{ raise_exception('Only user and assistant roles are supported!') }}", {}),
    ("{% if true %}{{ raise_exception('nested: ' ~ 42) }}{% endif %}", {}),
    ("{{ 1 / 0 }}", {}),
    ("{{ 1 < 'a' }}", {}),
    ("{{ 'x' in 1 }}", {}),
    ("{{ none.strip() }}", {}),
    ("{% set x.y = 1 %}", {"x": {}}),
    ("{% set a, b = [1] %}", {}),
    ("{{ {'u': undefinedvar}|tojson }}", {}),
    ("{% for %}", {}),
    ("{% if x %}unclosed", {}),
    ("{{ x | nosuchfilter }}", {}),
    ("{% endfor %}", {}),
    ("{{ 1 +}}", {}),
    ("{% include 'x.jinja' %}", {}),
    ("{{ 'unterminated }}", {}),
    ("{{ (1 }}", {}),
    ("{% break %}", {}),
    ("{{ range(200000)|length }}", {}),
]


def expression_goldens():
    out = []
    for template, ctx in EXPRESSIONS:
        record = {"template": template, "context": ctx}
        try:
            record["output"] = _compile_jinja_template(template).render(**ctx)
        except Exception as e:  # noqa: BLE001 - the goldens record what HF raises
            record["error"] = error_name(e)
        out.append(record)
    return out


STRFTIME_FORMATS = ["%d %b %Y", "%Y-%m-%d", "%A, %B %d, %Y", "%a %d %b %Y %H:%M:%S", "%I:%M %p", "%j %w %y", "%%",
                    "%-d %-m", "Today is %d %B %Y."]


def strftime_goldens():
    moments = [datetime.datetime(2024, 7, 23, 9, 5, 3), datetime.datetime(2025, 1, 1, 23, 59, 59),
               datetime.datetime(2026, 12, 5, 0, 0, 0)]
    return [{"moment": m.isoformat(), "format": f, "output": m.strftime(f)} for m in moments for f in STRFTIME_FORMATS]


# ---------------------------------------------------------------------------------------------------------------------
# Chat cases: message lists (+ tools, extra template variables) rendered by each template.

WEATHER_TOOL = {"type": "function", "function": {
    "name": "get_current_temperature", "description": "Get the current temperature at a location.",
    "parameters": {"type": "object", "properties": {
        "location": {"type": "string", "description": "The location, in the format \"City, Country\""},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "description": "The unit."}},
        "required": ["location", "unit"]}}}
SEARCH_TOOL = {"type": "function", "function": {
    "name": "search", "description": "Search the web (résumé, 東京).",
    "parameters": {"type": "object", "properties": {"query": {"type": "string"}}, "required": ["query"]}}}

SYSTEM = {"role": "system", "content": "You are a helpful assistant."}


def u(text):
    return {"role": "user", "content": text}


def a(text):
    return {"role": "assistant", "content": text}


TOOL_CALL_TURN = [
    SYSTEM,
    u("What's the temperature in Paris now?"),
    {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": {
        "name": "get_current_temperature", "arguments": {"location": "Paris, France", "unit": "celsius"}}}]},
    {"role": "tool", "content": "22.5"},
    a("It is 22.5 °C in Paris."),
    u("And in Tokyo and Lima?"),
]

CASES = [
    ("single-user", [u("Hello!")], None, {}),
    ("system-user", [SYSTEM, u("What is 2+2?")], None, {}),
    ("multi-turn", [SYSTEM, u("Hi"), a("Hello! How can I help?"), u("Tell me a joke.")], None, {}),
    ("multi-turn-no-system", [u("Hi"), a("Hello!"), u("Bye")], None, {}),
    ("ends-with-assistant", [u("Say yes."), a("Yes.")], None, {}),
    ("unicode", [{"role": "system", "content": "Réponds en français. 🇫🇷"},
                 u("Ça va ? 東京は今何時ですか 😀 e\u0301 \u00a0nbsp\ttab"), a("Très bien ! 🙂"),
                 u("Ω≈ç√∫ — “quotes” ‘single’ \\backslash\\ <|not_special|>")], None, {}),
    ("whitespace", [{"role": "system", "content": "  padded system  \n"}, u("\n\n  spaced user \t\n"),
                    a("  spaced answer  "), u(" ")], None, {}),
    ("empty-content", [u(""), a(""), u("again")], None, {}),
    ("two-systems", [SYSTEM, {"role": "system", "content": "Be brief."}, u("Hi")], None, {}),
    ("reasoning-inline", [u("What is 3*7?"), a("<think>\n3*7 = 21.\n</think>\n\n21."), u("And 4*5?")], None, {}),
    ("reasoning-last", [u("What is 3*7?"), a("<think>\nThink hard.\n</think>\n\n21.")], None, {}),
    ("reasoning-field", [u("Why is the sky blue?"),
                         {"role": "assistant", "content": "Rayleigh scattering.",
                          "reasoning_content": "Short wavelengths scatter more."},
                         u("Thanks!")], None, {}),
    ("no-thinking", [u("Quick: capital of Italy?")], None, {"enable_thinking": False}),
    ("tools-only-user", [u("What's the temperature in Paris now?")], [WEATHER_TOOL, SEARCH_TOOL], {}),
    ("tools-with-system", [SYSTEM, u("Search for résumé tips.")], [SEARCH_TOOL], {}),
    ("tool-call-round", TOOL_CALL_TURN, [WEATHER_TOOL], {}),
    ("tool-call-string-args", [u("Weather?"), {"role": "assistant", "content": "Let me check.", "tool_calls": [
        {"type": "function", "function": {"name": "get_current_temperature",
                                          "arguments": "{\"location\": \"Oslo, Norway\", \"unit\": \"celsius\"}"}}]},
                               {"role": "tool", "content": "-3"}, {"role": "tool", "content": "{\"extra\": 1}"}],
     [WEATHER_TOOL], {}),
    ("deepseek-tool-calls", [SYSTEM, u("Weather in Oslo?"), {"role": "assistant", "content": None, "tool_calls": [
        {"type": "function", "function": {"name": "get_current_temperature",
                                          "arguments": "{\"location\": \"Oslo\"}"}},
        {"type": "function", "function": {"name": "search", "arguments": "{\"query\": \"Oslo\"}"}}]},
                             {"role": "tool", "content": "-3"}, {"role": "tool", "content": "snowy"},
                             a("It is -3 and snowy."), u("Thanks")], None, {}),
    ("unknown-role", [u("Hi"), {"role": "critic", "content": "Too short."}], None, {}),
    ("starts-with-assistant", [a("I speak first."), u("OK")], None, {}),
    ("user-user", [u("one"), u("two")], None, {}),
    ("extra-keys", [{"role": "user", "content": "named", "name": "ann"}], None, {}),
]


# Committed synthetic chat templates (ours): together they use what the real ones do.
SYNTHETIC_TEMPLATES = {
    # A ChatML template with tools, reasoning, namespace, reverse slicing, is string, in, and role checks.
    "chatml-tools": """{%- if tools %}
    {{- '<|im_start|>system\\n' }}
    {%- if messages[0]['role'] == 'system' %}
        {{- messages[0]['content'] | trim + '\\n\\n' }}
    {%- endif %}
    {{- "# Tools\\n<tools>" }}
    {%- for tool in tools %}
        {{- "\\n" ~ tool | tojson }}
    {%- endfor %}
    {{- "\\n</tools><|im_end|>\\n" }}
{%- elif messages[0].role == 'system' %}
    {{- '<|im_start|>system\\n' + messages[0].content.strip() + '<|im_end|>\\n' }}
{%- endif %}
{%- set ns = namespace(last_user=-1, tool_run=false) %}
{%- for message in messages[::-1] %}
    {%- if ns.last_user < 0 and message.role == 'user' %}
        {%- set ns.last_user = (messages | length - 1) - loop.index0 %}
    {%- endif %}
{%- endfor %}
{%- for message in messages %}
    {%- if message.role not in ['system', 'user', 'assistant', 'tool'] %}
        {{- raise_exception('Unknown role: ' ~ message.role) }}
    {%- elif message.role == 'system' and not loop.first %}
        {{- raise_exception('System message must come first') }}
    {%- elif message.role == 'user' %}
        {{- '<|im_start|>user\\n' + message.content + '<|im_end|>\\n' }}
    {%- elif message.role == 'assistant' %}
        {%- set content = message.content if message.content is string else '' %}
        {%- set reasoning = message.reasoning_content | default('', true) %}
        {%- if not reasoning and '</think>' in content %}
            {%- set reasoning = content.split('</think>')[0].split('<think>')[-1].strip('\\n') %}
            {%- set content = content.split('</think>')[-1].lstrip('\\n') %}
        {%- endif %}
        {{- '<|im_start|>assistant\\n' }}
        {%- if reasoning and loop.index0 > ns.last_user %}
            {{- '<think>\\n' + reasoning + '\\n</think>\\n\\n' }}
        {%- endif %}
        {{- content }}
        {%- for call in message.tool_calls | default([]) %}
            {%- set fn = call.function if call.function is defined else call %}
            {{- ('\\n' if content or not loop.first else '') + '<tool_call>\\n{"name": "' + fn.name + '", "arguments": ' }}
            {{- fn.arguments if fn.arguments is string else fn.arguments | tojson }}
            {{- '}\\n</tool_call>' }}
        {%- endfor %}
        {{- '<|im_end|>\\n' }}
    {%- elif message.role == 'tool' %}
        {%- if loop.first or messages[loop.index0 - 1].role != 'tool' %}
            {{- '<|im_start|>user' }}
        {%- endif %}
        {{- '\\n<tool_response>\\n' ~ message.content ~ '\\n</tool_response>' }}
        {%- if loop.last or messages[loop.index0 + 1].role != 'tool' %}
            {{- '<|im_end|>\\n' }}
        {%- endif %}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\\n' }}
    {%- if enable_thinking is defined and enable_thinking is false %}
        {{- '<think>\\n\\n</think>\\n\\n' }}
    {%- endif %}
{%- endif %}
""",
    # Llama-2 style: system folded into the first user turn, strict alternation, bos/eos tokens, strip().
    "alternating": """{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}"""
                   """{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}"""
                   """{% set system_message = false %}{% endif %}{% for message in loop_messages %}"""
                   """{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"""
                   """{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}"""
                   """{% endif %}{% if loop.index0 == 0 and system_message != false %}"""
                   """{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}"""
                   """{% else %}{% set content = message['content'] %}{% endif %}{% if message['role'] == 'user' %}"""
                   """{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}{% elif message['role'] == 'assistant' %}"""
                   """{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}""",
    # Macros, a with block, a for-else, selectattr/map, loop.cycle, indent and a comment, with lstrip/trim_blocks
    # doing the layout (no '-' markers).
    "macros": """{# a template laid out with lstrip_blocks and trim_blocks alone #}
{% macro render(message, idx) %}
[{{ idx }}:{{ message.role | upper }}] {{ message.content | trim | indent(2) }}
{% endmacro %}
{% set systems = messages | selectattr('role', 'equalto', 'system') | map(attribute='content') | list %}
{% if systems %}
    SYSTEM: {{ systems | join(' / ') }}
{% endif %}
{% for message in messages if message.role != 'system' %}
    {% with side = loop.cycle('>', '<') %}
{{ side }} {{ render(message, loop.index) }}
    {%- endwith %}
{% else %}
    (no conversation)
{% endfor %}
{% if add_generation_prompt %}
> [{{ messages | length + 1 }}:ASSISTANT]
{% endif %}
""",
}

SYNTHETIC_SPECIAL_TOKENS = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"}

# The end-to-end chat model's template: ChatML, system prompt optional, EOS closing each assistant turn.
E2E_TEMPLATE = """{%- for message in messages %}
    {%- if message.role not in ['system', 'user', 'assistant'] %}
        {{- raise_exception('Unknown role: ' + message.role) }}
    {%- endif %}
    {{- '<|im_start|>' + message.role + '\\n' + message.content | trim + '<|im_end|>\\n' }}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\\n' }}
{%- endif %}
"""


def chat_goldens(render):
    out = []
    for name, messages, tools, extra in CASES:
        for agp in (True, False):
            record = {"case": name, "messages": messages, "tools": tools, "vars": extra, "add_generation_prompt": agp}
            try:
                record["rendered"] = render(messages, tools, agp, extra)
            except Exception as e:  # noqa: BLE001
                record["error"] = error_name(e)
            out.append(record)
    return out


def write_jsonl(path, records):
    with open(path, "w", encoding="utf-8") as f:
        for r in records:
            f.write(dump(r) + "\n")


def write_e2e_model():
    """The cli chat tests' tokenizer: the engine's synthetic byte-level BPE plus ChatML special tokens."""
    with open(SYNTHETIC_TOKENIZER, encoding="utf-8") as f:
        doc = json.load(f)
    next_id = max(t["id"] for t in doc["added_tokens"]) + 1
    for content in ("<|im_start|>", "<|im_end|>"):
        doc["added_tokens"].append({"id": next_id, "content": content, "single_word": False, "lstrip": False,
                                    "rstrip": False, "normalized": False, "special": True})
        next_id += 1
    os.makedirs(CLI_RES, exist_ok=True)
    with open(os.path.join(CLI_RES, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=1)
        f.write("\n")
    config = {"bos_token": None, "eos_token": "<|im_end|>", "pad_token": "<pad>", "unk_token": None,
              "model_max_length": 64, "tokenizer_class": "PreTrainedTokenizerFast", "chat_template": E2E_TEMPLATE}
    with open(os.path.join(CLI_RES, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(config, f, ensure_ascii=False, indent=1)
        f.write("\n")
    tok = AutoTokenizer.from_pretrained(CLI_RES)
    records = []
    for name, messages, tools, extra in CASES[:9] + [CASES[18]]:
        for agp in (True, False):
            record = {"case": name, "messages": messages, "add_generation_prompt": agp}
            try:
                record["rendered"] = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=agp)
                ids = tok.apply_chat_template(messages, tokenize=True, add_generation_prompt=agp, return_dict=False)
                record["ids"] = list(ids)
            except Exception as e:  # noqa: BLE001
                record["error"] = error_name(e)
            records.append(record)
    write_jsonl(os.path.join(CLI_RES, "golden-prompts.jsonl"), records)
    print(f"wrote {CLI_RES}: tokenizer.json, tokenizer_config.json, golden-prompts.jsonl ({len(records)})")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=DEFAULT_SHARED, help="folder holding the real tokenizer folders")
    args = ap.parse_args()
    os.makedirs(os.path.join(RES, "templates"), exist_ok=True)

    write_jsonl(os.path.join(RES, "expressions-golden.jsonl"), expression_goldens())
    write_jsonl(os.path.join(RES, "strftime-golden.jsonl"), strftime_goldens())

    for name, template in SYNTHETIC_TEMPLATES.items():
        with open(os.path.join(RES, "templates", name + ".jinja"), "w", encoding="utf-8") as f:
            f.write(template)

        def render(messages, tools, agp, extra, template=template):
            rendered, _ = render_jinja_template(conversations=[messages], tools=tools, chat_template=template,
                                                add_generation_prompt=agp, **{**SYNTHETIC_SPECIAL_TOKENS, **extra})
            return rendered[0]

        write_jsonl(os.path.join(RES, f"golden-{name}.jsonl"), chat_goldens(render))
        print(f"wrote golden-{name}.jsonl")

    for name in REAL:
        folder = os.path.join(args.shared, name)
        if not os.path.isfile(os.path.join(folder, "tokenizer_config.json")):
            print(f"skipped {name}: {folder} is absent")
            continue
        # Only the template and special tokens matter here; copy the two files so the (large) vocabulary loads as is.
        with tempfile.TemporaryDirectory() as tmp:
            for f in ("tokenizer.json", "tokenizer_config.json"):
                shutil.copy(os.path.join(folder, f), tmp)
            tok = AutoTokenizer.from_pretrained(tmp)

        def render(messages, tools, agp, extra, tok=tok):
            return tok.apply_chat_template(messages, tools=tools, tokenize=False, add_generation_prompt=agp, **extra)

        write_jsonl(os.path.join(RES, f"golden-{name}.jsonl"), chat_goldens(render))
        print(f"wrote golden-{name}.jsonl (special tokens {tok.special_tokens_map})")

    write_e2e_model()


if __name__ == "__main__":
    main()
