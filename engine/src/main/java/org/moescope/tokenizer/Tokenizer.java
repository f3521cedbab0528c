package org.moescope.tokenizer;

import org.moescope.errors.BadInputException;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.OptionalInt;

/**
 * A byte-level BPE tokenizer read from a Hugging Face tokenizer.json (the GPT-2 / GPT-NeoX / OLMoE family),
 * producing the same ids, token strings and offsets as HF tokenizers. The pipeline, in HF's order:
 * <ol>
 *   <li>added tokens with {@code normalized: false} are split out of the raw text (leftmost-longest match);</li>
 *   <li>each remaining piece is NFC-normalized, then added tokens with {@code normalized: true} are split out;</li>
 *   <li>the rest is cut by the GPT-2 pre-tokenizer regex ({@link Gpt2Splitter}), each piece's UTF-8 bytes become
 *       byte-level symbols and are merged by rank ({@link BpeModel}).</li>
 * </ol>
 * Decoding maps token strings back to bytes and decodes UTF-8 lossily (U+FFFD for ill-formed bytes), as HF's
 * ByteLevel decoder does. Features outside this family are refused when loading, never approximated.
 *
 * <p>Known gap: HF's NFC uses Unicode 9 tables and its regex Oniguruma's, the JDK has Unicode 16, so characters
 * assigned after Unicode 9 may normalize or split differently. Thread-safe; the word cache is shared.
 */
public final class Tokenizer {
    private final String source;
    private final String[] tokens; // (vocabSize) token string of each id, null where no id is assigned
    private final java.util.Map<String, Integer> vocab; // the model's token string → id
    private final byte[][] tokenBytes; // (vocabSize) bytes each id decodes to
    private final boolean[] special; // (vocabSize) whether decoding with skipSpecialTokens drops the id
    private final BpeModel model;
    private final boolean nfc;
    private final AddedTokenMatcher rawMatcher; // added tokens with normalized = false, looked for in raw text
    private final int[] rawIds; // (rawMatcher patterns)
    private final AddedTokenMatcher normalizedMatcher; // added tokens with normalized = true, in NFC text
    private final int[] normalizedIds; // (normalizedMatcher patterns)
    private final List<AddedToken> addedTokens;
    private final TrimOffsets trimOffsets; // the ByteLevel post-processor's offset trimming, null when absent

    /** The ByteLevel post-processor's settings (it only trims offsets). */
    record TrimOffsets(boolean addPrefixSpace) {
    }

    Tokenizer(String source, String[] tokens, java.util.Map<String, Integer> vocab, BpeModel model, boolean nfc,
              List<AddedToken> addedTokens, TrimOffsets trimOffsets) {
        this.source = source;
        this.tokens = tokens;
        this.vocab = vocab;
        this.model = model;
        this.nfc = nfc;
        this.addedTokens = List.copyOf(addedTokens);
        this.trimOffsets = trimOffsets;
        List<String> raw = new ArrayList<>();
        IntList rawIdList = new IntList(8);
        List<String> normalized = new ArrayList<>();
        IntList normalizedIdList = new IntList(32);
        List<String> specialContents = new ArrayList<>();
        for (AddedToken t : addedTokens) {
            if (t.normalized()) {
                // Matched, and decoded, in normalized form (HF's normalized_cache).
                String form = nfc ? java.text.Normalizer.normalize(t.content(), java.text.Normalizer.Form.NFC)
                        : t.content();
                normalized.add(form);
                normalizedIdList.add(t.id());
                tokens[t.id()] = form;
            } else {
                raw.add(t.content());
                rawIdList.add(t.id());
                tokens[t.id()] = t.content();
            }
            if (t.special()) {
                specialContents.add(t.content());
            }
        }
        this.rawMatcher = new AddedTokenMatcher(raw);
        this.rawIds = rawIdList.toArray();
        this.normalizedMatcher = new AddedTokenMatcher(normalized);
        this.normalizedIds = normalizedIdList.toArray();
        this.tokenBytes = new byte[tokens.length][];
        this.special = new boolean[tokens.length];
        for (int id = 0; id < tokens.length; id++) {
            if (tokens[id] != null) {
                tokenBytes[id] = ByteLevel.decode(tokens[id]);
                // HF checks the decoded token string against the special contents, so a special token whose
                // normalized form differs from its content is not skipped; same here.
                special[id] = specialContents.contains(tokens[id]);
            }
        }
    }

    /** Reads a tokenizer.json; bad or unsupported content is a BadInputException naming the file and field. */
    public static Tokenizer load(Path file) {
        return TokenizerJson.load(file);
    }

    /** Reads {@code dir/tokenizer.json}. */
    public static Tokenizer forModelDirectory(Path dir) {
        return load(dir.resolve("tokenizer.json"));
    }

    /** Parses tokenizer.json content; {@code source} names it in error messages. */
    public static Tokenizer fromJson(byte[] json, String source) {
        return TokenizerJson.parse(json, source);
    }

    /** Where this tokenizer was read from (for messages). */
    public String source() {
        return source;
    }

    /** One more than the largest id of the vocabulary or the added tokens. */
    public int vocabSize() {
        return tokens.length;
    }

    /** The token string of an id (byte-level form, e.g. "Ġthe"), or null when the id is not assigned. */
    public String idToToken(int id) {
        return id >= 0 && id < tokens.length ? tokens[id] : null;
    }

    /** The id of a token string (byte-level form, or an added token's content). */
    public OptionalInt tokenToId(String token) {
        for (AddedToken t : addedTokens) {
            if (t.content().equals(token)) {
                return OptionalInt.of(t.id());
            }
        }
        Integer id = vocab.get(token);
        return id == null ? OptionalInt.empty() : OptionalInt.of(id);
    }

    /** Whether decoding with skipSpecialTokens drops this id. */
    public boolean isSpecial(int id) {
        return id >= 0 && id < special.length && special[id];
    }

    /** The id of the added token {@code <|endoftext|>}, the end-of-sequence token of the GPT-NeoX family. */
    public OptionalInt eosTokenId() {
        for (AddedToken t : addedTokens) {
            if (t.content().equals("<|endoftext|>")) {
                return OptionalInt.of(t.id());
            }
        }
        return OptionalInt.empty();
    }

    public List<AddedToken> addedTokens() {
        return addedTokens;
    }

    /** Token ids of {@code text}; the same as {@code encode(text).ids()} without computing tokens and offsets. */
    public int[] encodeIds(String text) {
        Run run = new Run(text, false);
        run.encode();
        return run.ids.toArray();
    }

    /** Token ids, token strings and code point offsets of {@code text}. */
    public Encoding encode(String text) {
        Run run = new Run(text, true);
        run.encode();
        int[] starts = run.starts.toArray();
        int[] ends = run.ends.toArray();
        if (trimOffsets != null) {
            trim(run.tokens, starts, ends);
        }
        return new Encoding(run.ids.toArray(), Collections.unmodifiableList(run.tokens), starts, ends);
    }

    /**
     * Text of the ids: token bytes decoded as UTF-8, with U+FFFD for ill-formed sequences. Unlike HF, which
     * skips ids it does not know, an unknown id is an error.
     */
    public String decode(int[] ids, boolean skipSpecialTokens) {
        Utf8Decoder utf8 = new Utf8Decoder();
        StringBuilder out = new StringBuilder(ids.length * 4);
        for (int id : ids) {
            appendBytes(id, skipSpecialTokens, utf8, out);
        }
        utf8.finish(out);
        return out.toString();
    }

    /** A decoder for ids that arrive one at a time (streaming generation). */
    public StreamingDecoder streamingDecoder(boolean skipSpecialTokens) {
        return new StreamingDecoder(this, skipSpecialTokens);
    }

    void appendBytes(int id, boolean skipSpecialTokens, Utf8Decoder utf8, StringBuilder out) {
        if (id < 0 || id >= tokens.length || tokens[id] == null) {
            throw new BadInputException("token id " + id + " is not in the vocabulary of " + source
                    + " (size " + tokens.length + ")");
        }
        if (skipSpecialTokens && special[id]) {
            return;
        }
        for (byte b : tokenBytes[id]) {
            utf8.accept(b, out);
        }
    }

    /** HF's ByteLevel post-processor (trim_offsets): offsets leave out a token's leading and trailing spaces. */
    private void trim(List<String> tokenStrings, int[] starts, int[] ends) {
        for (int i = 0; i < starts.length; i++) {
            String t = tokenStrings.get(i);
            int leading = 0;
            while (leading < t.length() && isTrimmedSpace(t.charAt(leading))) {
                leading++;
            }
            int trailing = 0;
            while (trailing < t.length() && isTrimmedSpace(t.charAt(t.length() - 1 - trailing))) {
                trailing++;
            }
            if (leading > 0) {
                boolean first = i == 0 || starts[i] == 0;
                if (!(first && trimOffsets.addPrefixSpace() && leading == 1)) {
                    starts[i] = Math.min(starts[i] + leading, ends[i]);
                }
            }
            if (trailing > 0 && ends[i] >= trailing) {
                ends[i] = Math.max(ends[i] - trailing, starts[i]);
            }
        }
    }

    private static boolean isTrimmedSpace(char c) {
        return c == ByteLevel.charOf(' ') || Gpt2Splitter.isWhiteSpace(c);
    }

    /** The state of one encode call. */
    private final class Run {
        private final String text;
        private final boolean details;
        private final IntList ids;
        private final List<String> tokens;
        private final IntList starts;
        private final IntList ends;
        /** Code point index of each UTF-16 index of text; null when text has no surrogates (identity). */
        private final int[] cpIndex; // (text length + 1)

        Run(String text, boolean details) {
            this.text = text;
            this.details = details;
            this.ids = new IntList(text.length() / 3 + 8);
            this.tokens = details ? new ArrayList<>() : null;
            this.starts = details ? new IntList(text.length() / 3 + 8) : null;
            this.ends = details ? new IntList(text.length() / 3 + 8) : null;
            this.cpIndex = codePointIndex(text);
        }

        void encode() {
            int n = text.length();
            int pos = 0;
            int pieceStart = 0;
            while (pos < n) {
                int t = rawMatcher.longestAt(text, pos, n);
                if (t < 0) {
                    pos++;
                    continue;
                }
                if (pieceStart < pos) {
                    encodeNormalizable(pieceStart, pos);
                }
                int end = pos + rawMatcher.pattern(t).length();
                emitAdded(rawIds[t], rawMatcher.pattern(t), cp(pos), cp(end));
                pos = end;
                pieceStart = end;
            }
            if (pieceStart < n) {
                encodeNormalizable(pieceStart, n);
            }
        }

        /** Steps 2 and 3 for raw text[from, to): NFC, normalized added tokens, pre-tokenization and BPE. */
        private void encodeNormalizable(int from, int to) {
            String norm;
            int normFrom;
            int normTo;
            Nfc.Aligned aligned = null;
            if (!nfc || Nfc.isNormalized(text, from, to)) {
                norm = text;
                normFrom = from;
                normTo = to;
            } else {
                aligned = Nfc.normalize(text, from, to, cp(from));
                norm = aligned.text();
                normFrom = 0;
                normTo = norm.length();
            }
            int pos = normFrom;
            int pieceStart = normFrom;
            while (pos < normTo) {
                int t = normalizedMatcher.longestAt(norm, pos, normTo);
                if (t < 0) {
                    pos++;
                    continue;
                }
                if (pieceStart < pos) {
                    encodeWords(norm, pieceStart, pos, aligned);
                }
                int end = pos + normalizedMatcher.pattern(t).length();
                if (details) {
                    emitAdded(normalizedIds[t], normalizedMatcher.pattern(t), start(aligned, pos),
                            end(aligned, end - 1));
                } else {
                    ids.add(normalizedIds[t]);
                }
                pos = end;
                pieceStart = end;
            }
            if (pieceStart < normTo) {
                encodeWords(norm, pieceStart, normTo, aligned);
            }
        }

        private void encodeWords(String norm, int from, int to, Nfc.Aligned aligned) {
            for (int p = from; p < to; ) {
                int q = Gpt2Splitter.pieceEnd(norm, p, to);
                int first = ids.size();
                model.encode(norm, p, q, ids);
                if (details) {
                    addDetails(norm, p, first, aligned);
                }
                p = q;
            }
        }

        /** Token strings and offsets of ids[first..] that BPE made of the word starting at norm[wordStart]. */
        private void addDetails(String norm, int wordStart, int first, Nfc.Aligned aligned) {
            int unit = wordStart; // UTF-16 index of the character holding the current byte
            int cp = norm.codePointAt(unit);
            int byteInChar = 0;
            int charBytes = utf8Length(cp);
            for (int k = first; k < ids.size(); k++) {
                String token = Tokenizer.this.tokens[ids.get(k)];
                tokens.add(token);
                int startUnit = unit;
                int endUnit = unit;
                for (int b = token.length(); b > 0; b--) { // one token char per byte
                    endUnit = unit;
                    if (++byteInChar == charBytes) {
                        unit += Character.charCount(cp);
                        byteInChar = 0;
                        if (unit < norm.length()) {
                            cp = norm.codePointAt(unit);
                            charBytes = utf8Length(cp);
                        }
                    }
                }
                starts.add(start(aligned, startUnit));
                ends.add(end(aligned, endUnit));
            }
        }

        private void emitAdded(int id, String token, int start, int end) {
            ids.add(id);
            if (details) {
                tokens.add(token);
                starts.add(start);
                ends.add(end);
            }
        }

        /** Original code point offset where the character at UTF-16 index u of the normalized text starts. */
        private int start(Nfc.Aligned aligned, int u) {
            return aligned == null ? cp(u) : aligned.starts()[u];
        }

        private int end(Nfc.Aligned aligned, int u) {
            return aligned == null ? cp(u) + 1 : aligned.ends()[u];
        }

        private int cp(int utf16Index) {
            return cpIndex == null ? utf16Index : cpIndex[utf16Index];
        }
    }

    /** Code point index of every UTF-16 index (both halves of a pair share one), or null without surrogates. */
    private static int[] codePointIndex(String text) {
        int n = text.length();
        int i = 0;
        while (i < n && !Character.isSurrogate(text.charAt(i))) {
            i++;
        }
        if (i == n) {
            return null;
        }
        int[] index = new int[n + 1];
        int cp = 0;
        for (i = 0; i < n; i++) {
            char c = text.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < n && Character.isLowSurrogate(text.charAt(i + 1))) {
                index[i] = cp;
                index[++i] = cp;
            } else if (Character.isSurrogate(c)) {
                throw new BadInputException("text has an unpaired surrogate (U+" + Integer.toHexString(c)
                        .toUpperCase() + ") at UTF-16 index " + i + "; it is not valid Unicode text");
            } else {
                index[i] = cp;
            }
            cp++;
        }
        index[n] = cp;
        return index;
    }

    private static int utf8Length(int cp) {
        return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    }
}
