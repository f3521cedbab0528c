#!/usr/bin/env python3
"""Golden encodings and decodings for org.moescope.tokenizer, made with HF `tokenizers` (the Rust library, via its
wheel).

Writes, under engine/src/test/resources/tokenizer/:
  synthetic-tokenizer.json   a tiny byte-level BPE tokenizer.json written here (hand-picked merges and added tokens
                             that exercise NFC, normalized / non-normalized / special added tokens, array-form merges,
                             the ByteLevel post-processor's offset trimming)
  synthetic-<kind>-tokenizer.json  tiny tokenizers, written here, for each other kind the engine reads (none needs
                             ../shared):
      regex      NFC in a Sequence; a Sequence of regex Splits (case-insensitive contractions, letter-case classes,
                 \p{N}{1,3}, lookahead, CJK ranges, punctuation classes) then ByteLevel without its regex;
                 ignore_merges (with whole-word tokens no merge reaches); ByteLevel + TemplateProcessing (BOS and EOS)
      spm        SentencePiece style: Prepend and Replace normalizers, no pre-tokenizer, byte fallback (with some
                 <0xNN> tokens missing, so some characters become fused <unk>s), Replace/ByteFallback/Fuse/Strip
                 decoder, TemplateProcessing (BOS), a normalized added token
      metaspace  the Metaspace pre-tokenizer (prepend_scheme first, split) and decoder, unk without fusing
      metaspace-always  Metaspace with prepend_scheme always and no split
      split      literal and regex Splits with every behavior (Removed, MergedWithPrevious, MergedWithNext,
                 Contiguous) and invert, a multi-character Replace normalizer, no decoder (tokens joined by spaces)
  <name>-golden.jsonl        HF's encoding of test strings without special tokens: {"text", "ids"}, "offsets"
                             (flattened [start0, end0, start1, ...], in code points as Tokenizer.encode reports them;
                             for every string of the first synthetic tokenizer and OLMoE, the first 150 of the other
                             synthetic kinds, none for the five real tokenizers, to keep the files small), "tokens"
                             (the first synthetic tokenizer and OLMoE), and
                             "ids_special" (add_special_tokens=True) on the first 40 strings where the post-processor
                             adds tokens. The synthetic kinds get feature probes, every other short hand-written
                             string, some random ones and three long ones; the real ones all of them (below).
  <name>-decode-golden.jsonl HF's decode of seeded random id sequences (byte tokens, added tokens, any ids, and
                             encodings of test strings cut at random points), with and without skip_special_tokens

Real tokenizers, read when present and never committed: OLMoE's tokenizer.json (../shared/fixtures/
olmoe-1b-7b-0924-tokenizer.json) and ../shared/fixtures/tokenizers/<name>/tokenizer.json for qwen3, deepseek-v3,
llama3.1, gpt-oss and llama2-spm; their goldens are written only when the file is there.

Test strings: strings.jsonl (hand-written, committed) plus seeded random strings drawn from pools of characters that
already existed in Unicode 9 (HF's NFC tables are Unicode 9, the JDK's are newer; see docs/tokenizers.md), plus, for
the real tokenizers, a few long seeded inputs (several KB of mixed text and code).

Usage: python3 tools/reference/make_tokenizer_golden.py [--shared DIR]
  DIR: the shared fixtures folder (default: ../shared/fixtures beside the repository).
"""
import argparse
import json
import os
import random

from tokenizers import Tokenizer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RES = os.path.join(ROOT, "engine", "src", "test", "resources", "tokenizer")
DEFAULT_SHARED = os.path.join(os.path.dirname(ROOT), "shared", "fixtures")
REAL = ["qwen3", "deepseek-v3", "llama3.1", "gpt-oss", "llama2-spm"]


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


# ---------------------------------------------------------------------------------------------------------------------
# Synthetic tokenizers of the other kinds. Vocabularies are tiny and hand-picked; merges whose parts never form are
# dropped (HF requires every merge's parts and result in the vocabulary).

def added(specs, first_id):
    out = []
    for i, (content, special, normalized) in enumerate(specs):
        out.append({"id": first_id + i, "content": content, "single_word": False, "lstrip": False, "rstrip": False,
                    "normalized": normalized, "special": special})
    return out


def grow(vocab, pairs):
    """Adds every token a merge can reach, then returns the merges whose parts are in the vocabulary."""
    grown = True
    while grown:
        grown = False
        for a, b in pairs:
            if a in vocab and b in vocab and a + b not in vocab:
                vocab[a + b] = len(vocab)
                grown = True
    merges = []
    for a, b in pairs:
        if a in vocab and b in vocab and [a, b] not in merges:
            merges.append([a, b])
    return merges


def bpe_model(vocab, merges, **options):
    model = {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
             "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False}
    model.update(options)
    model["vocab"] = vocab
    model["merges"] = merges
    return model


def write_json(path, doc):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=1)
        f.write("\n")


# gpt-oss's split with Qwen's leading contractions, and one more contraction ('il) so that case folding of "i" is
# tested too.
CONTRACTIONS = r"(?i:'s|'t|'re|'ve|'m|'ll|'d|'il)"
REGEX_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*"
               r"[\p{Ll}\p{Lm}\p{Lo}\p{M}]+" + CONTRACTIONS + r"?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+"
               r"[\p{Ll}\p{Lm}\p{Lo}\p{M}]*" + CONTRACTIONS + r"?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+"
               r"|\s+(?!\S)|\s+")
CJK_SPLIT = "[\u4e00-\u9fa5\u3040-\u309f\u30a0-\u30ff]+"
PUNCT_SPLIT = r"[!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|\p{S}+"


def write_synthetic_regex(path):
    vocab = {}
    for _, ch in bytes_to_unicode():
        vocab[ch] = len(vocab)
    pairs = [m.split(" ") for m in SYNTHETIC_MERGES.replace("\n", "").split("|") if m]
    merges = grow(vocab, pairs)
    # Whole words no merge reaches: with ignore_merges, a word that is one of these is that one token. Some are
    # pieces only Oniguruma's case folding makes ("it'\u017f": long s folds to s; not "x'\u0130l", "x'\u0131l",
    # which Java's own case-insensitive matching would make).
    to_byte_level = dict(bytes_to_unicode())
    words = ["it'\u017f", "IT'\u017f", "x'\u0130l", "x'\u0131l", "x'IL"]
    for word in ["Hello", "Ġworld", "World", "123", "ä¸Ńæĸĩ", "'S", "ĠThe", "Ċ", "ĠĠĠ"] + [
            "".join(to_byte_level[b] for b in w.encode("utf-8")) for w in words]:
        vocab.setdefault(word, len(vocab))
    nxt = len(vocab)
    doc = {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": added([("<|bos|>", True, False), ("<|eos|>", True, False), ("<|im_start|>", True, False),
                               ("<|im_end|>", True, False), ("[NOTE]", False, True)], nxt),
        "normalizer": {"type": "Sequence", "normalizers": [{"type": "NFC"}]},
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": CJK_SPLIT}, "behavior": "Isolated", "invert": False},
            {"type": "Split", "pattern": {"Regex": REGEX_SPLIT}, "behavior": "Isolated", "invert": False},
            {"type": "Split", "pattern": {"Regex": PUNCT_SPLIT}, "behavior": "Isolated", "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]},
        "post_processor": {"type": "Sequence", "processors": [
            {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False, "use_regex": True},
            {"type": "TemplateProcessing",
             "single": [{"SpecialToken": {"id": "<|bos|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                        {"SpecialToken": {"id": "<|eos|>", "type_id": 0}}],
             "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
             "special_tokens": {"<|bos|>": {"id": "<|bos|>", "ids": [nxt], "tokens": ["<|bos|>"]},
                                "<|eos|>": {"id": "<|eos|>", "ids": [nxt + 1], "tokens": ["<|eos|>"]}}}]},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": bpe_model(vocab, merges, ignore_merges=True),
    }
    write_json(path, doc)


SPM_MERGES = """\
▁ t|h e|▁t he|▁ a|i n|r e|o n|e r|▁ s|a t|▁ w|▁ o|e n|▁ c|i t|i s|a n|o r|e s|▁ b|e d|▁ f|in g|▁ p|o u|▁a n|a l|
a r|▁t o|▁ m|▁o f|▁ in|▁ d|▁ h|▁an d|l e|▁ ▁|▁▁ ▁▁|▁ l|▁ n|▁ e|▁ g|▁ y|▁ i|o k|▁t ok|▁tok en|▁ H|H e|l l|ll o|
▁He llo|▁ 1|1 2|12 3|a a|aa a|. .|.. .|' s|▁ I|▁ 中|中 文|▁ é|é t|é é|▁ (|) .|▁ \"|e e|ee e|x x"""


def write_synthetic_spm(path):
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    # Byte tokens, except two: characters whose UTF-8 needs 0xF0 or 0x9F (most emoji) have no complete fallback and
    # become <unk>, fused when consecutive.
    for b in range(256):
        if b not in (0xF0, 0x9F):
            vocab[f"<0x{b:02X}>"] = len(vocab)
    for ch in "▁abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,!?'\"()-:;中文é":
        vocab.setdefault(ch, len(vocab))
    pairs = [m.split(" ") for m in SPM_MERGES.replace("\n", "").split("|") if m]
    merges = grow(vocab, pairs)
    nxt = len(vocab)
    doc = {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": added([("<unk>", True, False), ("<s>", True, False), ("</s>", True, False)], 0)
        + added([("<mask>", False, True), ("[X]", False, False)], nxt),
        "normalizer": {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "▁"},
                                                           {"type": "Replace", "pattern": {"String": " "},
                                                            "content": "▁"}]},
        "pre_tokenizer": None,
        "post_processor": {"type": "TemplateProcessing",
                           "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                                      {"Sequence": {"id": "A", "type_id": 0}}],
                           "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                                    {"SpecialToken": {"id": "<s>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
                           "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}},
        "decoder": {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": "▁"}, "content": " "}, {"type": "ByteFallback"},
            {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
        "model": bpe_model(vocab, merges, unk_token="<unk>", fuse_unk=True, byte_fallback=True),
    }
    write_json(path, doc)


def char_vocab(extra):
    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    for c in range(0x20, 0x7F):
        vocab.setdefault(chr(c), len(vocab))
    for ch in extra:
        vocab.setdefault(ch, len(vocab))
    return vocab


def write_synthetic_metaspace(path, scheme, split):
    vocab = char_vocab("▁éü中")
    pairs = [m.split(" ") for m in SPM_MERGES.replace("\n", "").split("|") if m]
    merges = grow(vocab, pairs)
    nxt = len(vocab)
    doc = {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": added([("<unk>", True, False), ("<s>", True, False), ("</s>", True, False)], 0)
        + added([("<mask>", False, True)], nxt),
        "normalizer": None,
        "pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": scheme, "split": split},
        "post_processor": None,
        "decoder": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": scheme, "split": split},
        "model": bpe_model(vocab, merges, unk_token="<unk>"),
    }
    write_json(path, doc)


def write_synthetic_split(path):
    vocab = char_vocab("éü中\t\n")
    pairs = [m.split(" ") for m in "t h|th e|i n|e r|a n|o n|1 2|12 3|( a|a )|. .|A B|AB C|, ,".split("|")]
    merges = grow(vocab, pairs)
    doc = {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": added([("<unk>", True, False), ("<s>", True, False), ("</s>", True, False)], 0),
        "normalizer": {"type": "Replace", "pattern": {"String": "``"}, "content": "\u201c"},
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"String": " "}, "behavior": "Removed", "invert": False},
            {"type": "Split", "pattern": {"Regex": r"\p{P}+"}, "behavior": "MergedWithPrevious", "invert": False},
            {"type": "Split", "pattern": {"Regex": r"[A-Z]"}, "behavior": "MergedWithNext", "invert": False},
            {"type": "Split", "pattern": {"Regex": r"\p{N}"}, "behavior": "Contiguous", "invert": False},
            {"type": "Split", "pattern": {"Regex": r"[\p{L}\p{N}\p{P}\t\n]+"}, "behavior": "Removed",
             "invert": True}]},
        "post_processor": None,
        "decoder": None,
        "model": bpe_model(vocab, merges, unk_token="<unk>", fuse_unk=True),
    }
    write_json(path, doc)


SYNTHETIC = {
    "synthetic-regex": write_synthetic_regex,
    "synthetic-spm": write_synthetic_spm,
    "synthetic-metaspace": lambda p: write_synthetic_metaspace(p, "first", True),
    "synthetic-metaspace-always": lambda p: write_synthetic_metaspace(p, "always", False),
    "synthetic-split": write_synthetic_split,
}


# ---------------------------------------------------------------------------------------------------------------------
# More test strings: pools for the regex families, and long inputs.

def family_pools():
    r = lambda a, b: [chr(c) for c in range(a, b + 1)]
    return {
        "case": r(0x41, 0x5A) * 2 + r(0x61, 0x7A) * 2 + ["\u01c5", "\u01c8", "\u1f88", "\u02b0", "\u02b1", "\u1d2c",
                                                           "\u00c9", "\u00e9", "\u0301", "\u0308", "\u017f", "\u212a",
                                                           "\u0130", "\u0131", "\u00df"],
        "apos": ["'", "'", "'s", "'S", "'t", "'T", "'re", "'RE", "'Re", "'ve", "'VE", "'m", "'M", "'ll", "'LL",
                 "'lL", "'d", "'D", "'\u017f", "\u2019s", "'x"],
        "digits": r(0x30, 0x39) * 4 + ["\u0661", "\u0967", "\uff11", "\u00b2", "\u2160", "\u2460", "\U0001d7d8"],
        "cjk": r(0x4E00, 0x4E40) + r(0x9F90, 0x9FB0) + r(0x3040, 0x30FF) + ["\u3400", "\u4dff", "\u3000", "\u3001",
                                                                          "\u3002", "\uff0c", "\u3100", "\uac00"],
        "code": list("{}[]()<>;:=+-*/%&|^!~?.,#@$_\\\"'`") + ["\n", "\r\n", "\t", "    ", "/", "//", "->", "=>"],
        "space": [" "] * 10 + ["\n", "\r", "\r\n", "\t", "\u00a0", "\u3000", "\u2003", "\u0085", "\u2028", "\u000b"],
        "symbols": ["\u00ab", "\u00bb", "\u00bf", "\u00a7", "\u00b6", "\u2020", "\u2030", "\u203d", "\u2190", "\u00a9",
                    "\u2122", "\u20ac", "\u00a3", "\u00b0", "\u00d7", "\u221e", "\u2264", "\u2500", "\u25a0", "\u2605",
                    "\u266a", "\U0001f600", "\U0001f44d", "\U0001f3fd", "\u200d", "\ufe0f", "\u2581", "\U0001f1fa"],
        "specials": ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|begin_of_text|>", "<|eot_id|>", "<s>", "</s>",
                     "<unk>", "<\uff5cbegin\u2581of\u2581sentence\uff5c>", "<|start|>", "<|message|>", "<|bos|>",
                     "<|eos|>", "[NOTE]", "<mask>", "[X]", "<0x41>", "``", "''"],
    }


def family_random_strings(seed, count):
    rng = random.Random(seed)
    p = family_pools()
    names = list(p)
    weights = [6, 2, 3, 3, 3, 4, 2, 1]
    out = []
    for i in range(count):
        n = rng.randint(1, 20 if i % 4 else 50)
        favoured = rng.sample(names, 2)
        parts = [rng.choice(p[rng.choice(favoured) if rng.random() < 0.6 else rng.choices(names, weights)[0]])
                 for _ in range(n)]
        out.append("".join(parts))
    return out


def long_strings(texts, seed):
    """A few inputs of several KB: test strings joined with spaces and newlines, in seeded order."""
    rng = random.Random(seed)
    out = []
    for size in (1500, 4000):
        parts, n = [], 0
        while n < size:
            t = rng.choice(texts)
            parts.append(t)
            parts.append(rng.choice([" ", "\n", "  ", "\n\n", ""]))
            n += len(t) + 1
        out.append("".join(parts))
    return out


# ---------------------------------------------------------------------------------------------------------------------

def adds_special(tok):
    return tok.encode("x", add_special_tokens=True).ids != tok.encode("x", add_special_tokens=False).ids


def write_golden(tok, texts, path, tokens=False, offsets=None, special=40):
    """HF's encodings; offsets for the first `offsets` texts (all when None), ids_special for the first `special`."""
    adds = adds_special(tok)
    with open(path, "w", encoding="utf-8") as f:
        for i, t in enumerate(texts):
            e = tok.encode(t, add_special_tokens=False)
            g = {"text": t, "ids": e.ids}
            if tokens:
                g["tokens"] = e.tokens
            if offsets is None or i < offsets:
                g["offsets"] = [x for o in e.offsets for x in o]
            if adds and i < special:
                g["ids_special"] = tok.encode(t, add_special_tokens=True).ids
            f.write(json.dumps(g, ensure_ascii=False, separators=(",", ":")) + "\n")


def byte_token_ids(tok):
    """Ids that stand for single bytes: ByteLevel symbols of bytes >= 0x80, or <0xNN> byte-fallback tokens."""
    ids = [tok.token_to_id(ch) for b, ch in bytes_to_unicode() if b >= 0x80]
    ids += [tok.token_to_id(f"<0x{b:02X}>") for b in range(256)]
    return sorted({i for i in ids if i is not None})


def write_decode_golden(tok, seed, path, texts=(), count=200):
    rng = random.Random(seed)
    size = tok.get_vocab_size(with_added_tokens=True)
    valid = lambda i: tok.id_to_token(i) is not None
    added_ids = sorted(tok.get_added_tokens_decoder())
    byte_ids = byte_token_ids(tok)
    with open(path, "w", encoding="utf-8") as f:
        for i in range(count):
            if texts and i % 4 == 3:
                # A real encoding, cut at random points (so byte runs and characters may be split).
                ids = tok.encode(rng.choice(texts), add_special_tokens=True).ids
                a = rng.randint(0, len(ids))
                ids = ids[a:a + rng.randint(0, 16)]
            else:
                ids = []
                for _ in range(rng.randint(0, 12)):
                    x = rng.random()
                    if x < 0.45 and byte_ids:
                        ids.append(rng.choice(byte_ids))
                    elif x < 0.6 and added_ids:
                        ids.append(rng.choice(added_ids))
                    else:
                        j = rng.randrange(size)
                        while not valid(j):
                            j = rng.randrange(size)
                        ids.append(j)
            for skip in (False, True):
                f.write(json.dumps({"ids": ids, "skip_special": skip, "text": tok.decode(ids, skip_special_tokens=skip)},
                                   ensure_ascii=False, separators=(",", ":")) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=DEFAULT_SHARED)
    args = ap.parse_args()
    hand = read_strings()
    texts = hand + random_strings(20240621, 300)
    more = family_random_strings(20250917, 300)

    synth_path = os.path.join(RES, "synthetic-tokenizer.json")
    write_synthetic(synth_path)
    synth = Tokenizer.from_file(synth_path)
    # The synthetic vocabulary is tiny, so long prose becomes hundreds of byte tokens: short strings only.
    write_golden(synth, [t for t in texts if len(t) <= 120], os.path.join(RES, "synthetic-golden.jsonl"),
                 tokens=True)
    write_decode_golden(synth, 7, os.path.join(RES, "synthetic-decode-golden.jsonl"))

    # The other synthetic kinds: every other short hand-written string and some random ones, to keep files small.
    # First some probes of features the synthetic kinds have (they get offsets); a few longer ones at the end: long
    # words are where BpeModel cuts SentencePiece text at word boundaries.
    probes = ["``quoted''", "a``b``c", "x `` y ``", "a123b45", "A1B2C3", "Hello, World!", "ABC def", "(a)...",
              "x\t\ny", " \u4e2d\u6587 ", "\u00e9\u00fc \U0001f600\u00e4", "<s>a</s>", "a<mask>b <mask>"]
    short = (probes + [t for t in hand if len(t) <= 40][::2] + [t for t in more if len(t) <= 40][:80]
             + [t for t in hand if 100 <= len(t) <= 800 and t.count(" ") >= 10][:3])
    for seed, (name, writer) in enumerate(SYNTHETIC.items()):
        path = os.path.join(RES, name + "-tokenizer.json")
        writer(path)
        tok = Tokenizer.from_file(path)
        subset = short if name != "synthetic-metaspace-always" else short[::2]
        write_golden(tok, subset, os.path.join(RES, name + "-golden.jsonl"), offsets=150)
        write_decode_golden(tok, 100 + seed, os.path.join(RES, name + "-decode-golden.jsonl"), subset, count=100)

    olmoe_path = os.path.join(args.shared, "olmoe-1b-7b-0924-tokenizer.json")
    if os.path.exists(olmoe_path):
        olmoe = Tokenizer.from_file(olmoe_path)
        write_golden(olmoe, texts, os.path.join(RES, "olmoe-golden.jsonl"), tokens=True)
        write_decode_golden(olmoe, 11, os.path.join(RES, "olmoe-decode-golden.jsonl"))
    else:
        print(f"skipping OLMoE golden data: {olmoe_path} not found")
    # The real tokenizers: ids only (offsets are checked on the synthetic kinds and OLMoE).
    real_texts = hand + texts[len(hand):][:60] + more[:160]
    real_texts += long_strings(real_texts, 5)
    for seed, name in enumerate(REAL):
        path = os.path.join(args.shared, "tokenizers", name, "tokenizer.json")
        if not os.path.exists(path):
            print(f"skipping {name}: {path} not found")
            continue
        tok = Tokenizer.from_file(path)
        write_golden(tok, real_texts, os.path.join(RES, name + "-golden.jsonl"), offsets=0)
        write_decode_golden(tok, 200 + seed, os.path.join(RES, name + "-decode-golden.jsonl"), real_texts,
                            count=120)
    print(f"{len(texts)} + {len(more)} strings; {len(short)} for the synthetic kinds, {len(real_texts)} for the real")


if __name__ == "__main__":
    main()
