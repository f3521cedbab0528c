#!/usr/bin/env python3
"""Golden encodings for org.moescope.tokenizer, made with HF `tokenizers` (the Rust library, via its wheel).

Writes, under engine/src/test/resources/tokenizer/:
  synthetic-tokenizer.json   a tiny byte-level BPE tokenizer.json written here (hand-picked merges and added tokens
                             that exercise every supported feature: NFC, normalized / non-normalized / special added
                             tokens, array-form merges, the ByteLevel post-processor's offset trimming)
  synthetic-golden.jsonl     HF's encoding of every test string with the synthetic tokenizer
  olmoe-golden.jsonl         the same with OLMoE's tokenizer.json (only when that file is available; it is not committed)
  olmoe-decode-golden.jsonl  HF's decoding of seeded random id sequences, with and without skip_special_tokens
  synthetic-decode-golden.jsonl  the same for the synthetic tokenizer

Test strings: strings.jsonl (hand-written, committed) plus seeded random strings drawn from pools of characters that
already existed in Unicode 9 (HF's NFC tables are Unicode 9, the JDK's are newer; see the Tokenizer javadoc).

Encodings are stored as {"text", "ids", "tokens", "offsets"} with offsets as [start, end] pairs in code points (Python
str indices), exactly as `Tokenizer.encode(text)` reports them.

Usage: python3 tools/reference/make_tokenizer_golden.py [--olmoe PATH]
  PATH: OLMoE's tokenizer.json (from allenai/OLMoE-1B-7B-0924; not committed). Without --olmoe the script looks for
  ../shared/fixtures/olmoe-1b-7b-0924-tokenizer.json beside the repository, and skips the OLMoE files if it is absent.
"""
import argparse
import json
import os
import random

from tokenizers import Tokenizer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RES = os.path.join(ROOT, "engine", "src", "test", "resources", "tokenizer")
DEFAULT_OLMOE = os.path.join(os.path.dirname(ROOT), "shared", "fixtures", "olmoe-1b-7b-0924-tokenizer.json")


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAC + 1)) + list(range(0xAE, 0xFF + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return [(b, chr(c)) for b, c in zip(bs, cs)]


# Merges of the synthetic tokenizer, in rank order. "Ġ" is the byte-level space. Some are deliberately out of the usual
# training order ("Ġt he" before "h e") so the merge loop's rank/position rules matter.
SYNTHETIC_MERGES = """\
Ġ t|Ġt he|h e|Ġ a|i n|r e|o n|e r|Ġ s|a t|Ġ w|Ġ o|e n|Ġ c|i t|i s|a n|o r|e s|Ġ b|e d|Ġ f|in g|Ġ p|o u|Ġa n|a l|a r|
Ġt o|Ġ m|Ġo f|Ġ in|Ġ d|Ġ h|Ġan d|l e|Ġ Ġ|ĠĠ ĠĠ|Ġ l|Ġ n|Ġ e|Ġ g|Ġ y|Ġ i|o k|Ġt ok|Ġtok en|e n|Ã ©|Ã ¨|
ä ¸|å ¤|ð Ł|ðŁ ĺ|1 2|12 3|a a|aa a|aaa a|. .|.. .|' s|' t|Ċ Ċ|ĉ ĉ|Ġ 1|l l|Ġ I|I '|Ġ "|" ,|, "|Ġ (|) :|
o o|oo o|Ġ the|Ġth e|e e|ee e|Ġ x|Ġx x|Ġ Ġ|"""


def write_synthetic(path):
    vocab = {}
    for _, ch in bytes_to_unicode():
        vocab[ch] = len(vocab)
    pairs = [m.split(" ") for m in SYNTHETIC_MERGES.replace("\n", "").split("|") if m]
    grown = True
    while grown:  # every token a merge can reach, whatever the merge order
        grown = False
        for a, b in pairs:
            if a in vocab and b in vocab and a + b not in vocab:
                vocab[a + b] = len(vocab)
                grown = True
    merges = []
    for a, b in pairs:
        # A merge whose parts never form is left out so HF accepts the file; duplicates are left out too.
        if a in vocab and b in vocab and [a, b] not in merges:
            merges.append([a, b])
    nxt = len(vocab)
    added_spec = [
        ("<|endoftext|>", True, False),
        ("<pad>", True, False),
        ("|||X|||", False, True),
        ("  ", False, True),
        ("   ", False, True),
        ("e\u0301!", False, True),   # normalized: matches its NFC form "é!"
        ("\u2126", False, False),    # OHM SIGN, not normalized: matches only before NFC turns it into Ω (U+03A9)
        ("<mask>", True, True),      # special and normalized
    ]
    added = []
    for content, special, normalized in added_spec:
        added.append({"id": nxt, "content": content, "single_word": False, "lstrip": False, "rstrip": False,
                      "normalized": normalized, "special": special})
        nxt += 1
    doc = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": {"type": "NFC"},
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "post_processor": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "decoder": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": vocab, "merges": merges},
    }
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=1)
        f.write("\n")


def pools():
    r = lambda a, b: [chr(c) for c in range(a, b + 1)]
    ascii_letters = r(0x41, 0x5A) + r(0x61, 0x7A)
    return {
        "ascii": ascii_letters * 3 + r(0x30, 0x39) + r(0x21, 0x2F) + r(0x3A, 0x40) + r(0x5B, 0x60) + r(0x7B, 0x7E),
        "space": [" "] * 12 + ["\t", "\n", "\r", "\u000b", "\u000c", "\u0085", "\u00a0", "\u1680", "\u2000", "\u2007",
                               "\u200a", "\u2028", "\u2029", "\u202f", "\u205f", "\u3000", "\u200b", "\u180e", "\ufeff"],
        "latin": r(0xC0, 0xFF) + r(0x100, 0x17F),
        "marks": r(0x300, 0x36F) + ["\u0483", "\u0591", "\u05b0", "\u05bc", "\u0610", "\u064b", "\u0651", "\u093c",
                                    "\u094d", "\u0e31", "\u0f71", "\u0f72", "\u0f80", "\u1dc0", "\u20d0", "\u302a",
                                    "\u3099", "\u309a", "\ufe20"],
        "nfc": ["\u212b", "\u2126", "\u212a", "\u0344", "\u0958", "\u0340", "\u0341", "\u0343", "\u0374", "\u037e",
                "\u0387", "\u1f71", "\u2000", "\u2001", "\uf900", "\u1100", "\u1161", "\u11a8", "\u1175", "\u11c2",
                "\u0cc6", "\u0cc2", "\u0cd5", "\u09c7", "\u09be", "\u0b47", "\u0b3e"],
        "greek_cyr": r(0x391, 0x3A9) + r(0x3B1, 0x3C9) + r(0x410, 0x44F),
        "cjk": r(0x4E00, 0x4E80) + r(0x3040, 0x309F) + r(0x30A0, 0x30FF) + r(0xAC00, 0xAC40) + r(0xFF01, 0xFF5E),
        "digits": r(0x30, 0x39) * 3 + r(0x660, 0x669) + r(0x966, 0x96F) + ["\u00b2", "\u00b3", "\u00bd", "\u2160",
                                                                            "\u216b", "\u2460", "\u3007", "\U0001D7D8"],
        "punct": ["\u2014", "\u2013", "\u2018", "\u2019", "\u201c", "\u201d", "\u2026", "\u00ab", "\u00bb", "\u00bf",
                  "\u00a1", "\u00a7", "\u2022", "\u20ac", "\u00a3", "\u00a9", "\u2122", "\u00b0", "\u00d7", "\u221e",
                  "\u3001", "\u3002", "\uff0c", "\u00ad", "\u200d", "\u0000", "\u0001", "\u007f", "\u2190"],
        "astral": r(0x1F600, 0x1F64F) + r(0x1F300, 0x1F320) + ["\U0001F3FD", "\U0001F1FA", "\U0001F1F8",
                                                               "\U0001D518", "\U0001D52B", "\U00010348", "\U00020000"],
        "pieces": ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'", "<|endoftext|>", "<|padding|>", "|||IP_ADDRESS|||",
                   "|||EMAIL_ADDRESS|||", "|||PHONE_NUMBER|||", "<|endoftext", "|||", "  ", "   ", "e\u0301", "the",
                   " the", "token", "<pad>", "<mask>", "|||X|||", "e\u0301!", "\u00e9!", " 123", "aaaa", "...", "ll"],
    }


def random_strings(seed, count):
    rng = random.Random(seed)
    p = pools()
    names = list(p)
    weights = [6, 5, 2, 3, 2, 1, 2, 2, 2, 2, 4]
    out = []
    for i in range(count):
        n = rng.randint(1, 24 if i % 5 else 60)
        favoured = rng.sample(names, 3)
        parts = []
        for _ in range(n):
            name = rng.choice(favoured) if rng.random() < 0.7 else rng.choices(names, weights)[0]
            parts.append(rng.choice(p[name]))
        out.append("".join(parts))
    # Long whitespace runs with mixed tabs and newlines.
    for _ in range(40):
        out.append("".join(rng.choice([" "] * 8 + ["\t", "\n", "\u00a0", "\u3000", "x", "\u00e9"])
                           for _ in range(rng.randint(1, 40))))
    return out


def read_strings():
    with open(os.path.join(RES, "strings.jsonl"), encoding="utf-8") as f:
        return [json.loads(line)["text"] for line in f if line.strip()]


def write_golden(tok, texts, path):
    with open(path, "w", encoding="utf-8") as f:
        for t in texts:
            e = tok.encode(t)
            f.write(json.dumps({"text": t, "ids": e.ids, "tokens": e.tokens, "offsets": [list(o) for o in e.offsets]},
                               ensure_ascii=False, separators=(",", ":")) + "\n")


def write_decode_golden(tok, seed, path, count=200):
    rng = random.Random(seed)
    size = tok.get_vocab_size()
    added = sorted(tok.get_added_tokens_decoder())
    # Bytes 0xC0, 0xC1 and 0xF5..0xFF never occur in UTF-8; OLMoE's vocab lacks them.
    byte_ids = [i for i in (tok.token_to_id(ch) for b, ch in bytes_to_unicode() if b >= 0x80) if i is not None]
    with open(path, "w", encoding="utf-8") as f:
        for i in range(count):
            n = rng.randint(0, 12)
            ids = []
            for _ in range(n):
                x = rng.random()
                ids.append(rng.choice(byte_ids) if x < 0.45 else rng.choice(added) if x < 0.6 else rng.randrange(size))
            for skip in (False, True):
                f.write(json.dumps({"ids": ids, "skip_special": skip, "text": tok.decode(ids, skip_special_tokens=skip)},
                                   ensure_ascii=False, separators=(",", ":")) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--olmoe", default=DEFAULT_OLMOE)
    args = ap.parse_args()
    texts = read_strings() + random_strings(20240621, 300)

    synth_path = os.path.join(RES, "synthetic-tokenizer.json")
    write_synthetic(synth_path)
    synth = Tokenizer.from_file(synth_path)
    # The synthetic vocabulary is tiny, so long prose becomes hundreds of byte tokens: short strings only.
    write_golden(synth, [t for t in texts if len(t) <= 120], os.path.join(RES, "synthetic-golden.jsonl"))
    write_decode_golden(synth, 7, os.path.join(RES, "synthetic-decode-golden.jsonl"))

    if os.path.exists(args.olmoe):
        olmoe = Tokenizer.from_file(args.olmoe)
        write_golden(olmoe, texts, os.path.join(RES, "olmoe-golden.jsonl"))
        write_decode_golden(olmoe, 11, os.path.join(RES, "olmoe-decode-golden.jsonl"))
    else:
        print(f"skipping OLMoE golden data: {args.olmoe} not found")
    print(f"{len(texts)} strings")


if __name__ == "__main__":
    main()
