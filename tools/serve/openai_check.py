#!/usr/bin/env python3
"""Drives a running `moescope serve` with the official `openai` client (a venv with tools/requirements.txt + openai).

Covers chat and completion, streamed and not, usage (also stream_options.include_usage), stop sequences, logprobs,
the routes extension and the API key (a wrong key must raise AuthenticationError). Exits non-zero on the first
failed check; prints one line per check.

    python tools/serve/openai_check.py --base-url http://127.0.0.1:8080/v1 --api-key KEY --model NAME
"""
import argparse
import sys

import openai


def check(name, cond, detail=""):
    print(("ok   " if cond else "FAIL ") + name + ("" if cond else ": " + str(detail)))
    if not cond:
        sys.exit(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base-url", required=True)
    ap.add_argument("--api-key", required=True)
    ap.add_argument("--model", required=True)
    a = ap.parse_args()
    client = openai.OpenAI(base_url=a.base_url, api_key=a.api_key, max_retries=0)

    models = client.models.list()
    check("models.list names the model", [m.id for m in models.data] == [a.model], models)

    c = client.completions.create(model=a.model, prompt="hello world", max_tokens=12, temperature=0, logprobs=2)
    ch = c.choices[0]
    check("completion: text and finish_reason", isinstance(ch.text, str) and ch.finish_reason == "length", c)
    check("completion: usage", c.usage.completion_tokens == 12
          and c.usage.total_tokens == c.usage.prompt_tokens + 12, c.usage)
    check("completion: logprobs", len(ch.logprobs.tokens) == 12 and len(ch.logprobs.top_logprobs[0]) == 2
          and all(lp <= 0 for lp in ch.logprobs.token_logprobs), ch.logprobs)

    parts, usage, finish = [], None, None
    for chunk in client.completions.create(model=a.model, prompt="hello world", max_tokens=12, temperature=0,
                                           stream=True, stream_options={"include_usage": True}):
        if chunk.usage:
            usage = chunk.usage
        for x in chunk.choices:
            parts.append(x.text)
            finish = x.finish_reason or finish
    check("completion stream: same text as unstreamed", "".join(parts) == ch.text, ("".join(parts), ch.text))
    check("completion stream: finish_reason and usage chunk", finish == "length" and usage is not None
          and usage.completion_tokens == 12, (finish, usage))

    full = client.completions.create(model=a.model, prompt="the stop test", max_tokens=30, temperature=0).choices[0].text
    stop = full[len(full) // 2: len(full) // 2 + 2]
    cut = client.completions.create(model=a.model, prompt="the stop test", max_tokens=30, temperature=0, stop=[stop])
    check("completion: stop sequence", cut.choices[0].text == full[:full.index(stop)]
          and cut.choices[0].finish_reason == "stop", (stop, full, cut.choices[0].text))

    msgs = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi there"}]
    r = client.chat.completions.create(model=a.model, messages=msgs, max_tokens=10, temperature=0.7, seed=3,
                                       logprobs=True, top_logprobs=2)
    m = r.choices[0].message
    check("chat: assistant message", m.role == "assistant" and isinstance(m.content, str), r)
    check("chat: usage", r.usage.completion_tokens == 10 and r.usage.prompt_tokens > 0, r.usage)
    check("chat: logprobs", len(r.choices[0].logprobs.content) == 10
          and len(r.choices[0].logprobs.content[0].top_logprobs) == 2, r.choices[0].logprobs)

    text, roles, usage = [], [], None
    for chunk in client.chat.completions.create(model=a.model, messages=msgs, max_tokens=10, temperature=0.7, seed=3,
                                                stream=True, stream_options={"include_usage": True}):
        if chunk.usage:
            usage = chunk.usage
        for x in chunk.choices:
            if x.delta.role:
                roles.append(x.delta.role)
            if x.delta.content:
                text.append(x.delta.content)
    check("chat stream: same seed, same text as unstreamed", "".join(text) == m.content, ("".join(text), m.content))
    check("chat stream: role and usage", roles == ["assistant"] and usage.completion_tokens == 10, (roles, usage))

    ext = client.completions.create(model=a.model, prompt="routes", max_tokens=3, temperature=0,
                                    extra_body={"moescope": {"routes": True}})
    routes = ext.choices[0].model_extra["moescope"]["routes"]
    check("routes extension: one entry per token", len(routes) == 3 and all(len(t["experts"]) > 0 for t in routes),
          routes)

    bad = openai.OpenAI(base_url=a.base_url, api_key="wrong-key", max_retries=0)
    try:
        bad.completions.create(model=a.model, prompt="x", max_tokens=1)
        check("wrong API key refused", False, "no error")
    except openai.AuthenticationError as e:
        check("wrong API key refused (401)", e.status_code == 401, e)
    try:
        client.completions.create(model="no-such-model", prompt="x", max_tokens=1)
        check("unknown model refused", False, "no error")
    except openai.NotFoundError as e:
        check("unknown model refused (404)", e.status_code == 404, e)
    print("all checks passed")


if __name__ == "__main__":
    main()
