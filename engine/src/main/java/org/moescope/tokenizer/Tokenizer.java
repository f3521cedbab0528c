package org.moescope.tokenizer;

import org.moescope.errors.BadInputException;
import org.moescope.gguf.GgufFile;
import org.moescope.gguf.GgufTokenizer;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.OptionalInt;

/**
 * A BPE tokenizer read from a Hugging Face tokenizer.json, producing the same ids, token strings and offsets as HF
 * tokenizers, and decoding to the same text. The pipeline, in HF's order:
 * <ol>
 *   <li>added tokens with {@code normalized: false} are split out of the raw text (leftmost-longest match);</li>
 *   <li>each remaining piece is normalized ({@link TextNormalizer}: NFC, Prepend, Replace), then added tokens with
 *       {@code normalized: true} are split out (in their normalized form);</li>
 *   <li>the rest is cut into words by the pre-tokenizer ({@link PreTokenizer}: regex Splits translated from
 *       Oniguruma by {@link OnigRegex}, ByteLevel with GPT-2's split ({@link Gpt2Splitter}), or Metaspace), and each
 *       word is encoded by the BPE model ({@link BpeModel}: byte-level, or by character with byte fallback and an
 *       unknown token; ignore_merges);</li>
 *   <li>with {@code addSpecialTokens}, the post-processor's template adds its tokens (e.g. Llama's BOS).</li>
 * </ol>
 * Decoding runs tokenizer.json's decoder ({@link TokenDecoder}), also one id at a time ({@link StreamingDecoder}).
 * This covers the GPT-2/OLMoE, Qwen, Llama 3, DeepSeek-V3, gpt-oss and SentencePiece-style (Llama 2, Mistral,
 * Mixtral, Phi-3) files; what it does not implement is refused when loading, by name, never approximated
 * (docs/tokenizers.md lists both).
 *
 * <p>Known gap: HF's NFC uses Unicode 9 tables and its regexes Oniguruma's Unicode tables, the JDK has Unicode 16,
 * so characters assigned since may normalize or split differently. Thread-safe; the word cache is shared.
 */
public final class Tokenizer {
    private final String source;
    private final String[] tokens; // (vocabSize) token string of each id, null where no id is assigned
    private final java.util.Map<String, Integer> vocab; // the model's token string → id
    private final boolean[] special; // (vocabSize) whether decoding with skipSpecialTokens drops the id
    private final BpeModel model;
    private final TextNormalizer normalizer;
    private final PreTokenizer preTokenizer;
    private final TokenDecoder decoder;
    private final PostProcessor postProcessor;
    private final AddedTokenMatcher rawMatcher; // added tokens with normalized = false, looked for in raw text
    private final int[] rawIds; // (rawMatcher patterns)
    private final AddedTokenMatcher normalizedMatcher; // added tokens with normalized = true, in normalized text
    private final int[] normalizedIds; // (normalizedMatcher patterns)
    private final List<AddedToken> addedTokens;
    private final java.util.Map<String, Integer> addedIds; // added token content → id

    /** The ByteLevel post-processor's settings (it only trims offsets). */
    record TrimOffsets(boolean addPrefixSpace) {
    }

    /**
     * The post-processor: offset trimming (ByteLevel, or null), and the special tokens a TemplateProcessing puts
     * around a single sequence, with their token strings, added when encoding with addSpecialTokens.
     */
    record PostProcessor(TrimOffsets trim, int[] prefixIds, List<String> prefixTokens, int[] suffixIds,
                         List<String> suffixTokens) {
        static final PostProcessor NONE = new PostProcessor(null, new int[0], List.of(), new int[0], List.of());
    }

    Tokenizer(String source, String[] tokens, java.util.Map<String, Integer> vocab, BpeModel model,
              TextNormalizer normalizer, PreTokenizer preTokenizer, TokenDecoder decoder, PostProcessor postProcessor,
              List<AddedToken> addedTokens) {
        this.source = source;
        this.tokens = tokens;
        this.vocab = vocab;
        this.model = model;
        this.normalizer = normalizer;
        this.preTokenizer = preTokenizer;
        this.decoder = decoder;
        this.postProcessor = postProcessor;
        this.addedTokens = List.copyOf(addedTokens);
        this.addedIds = new java.util.HashMap<>();
        addedTokens.forEach(t -> addedIds.put(t.content(), t.id()));
        List<String> raw = new ArrayList<>();
        IntList rawIdList = new IntList(8);
        List<String> normalized = new ArrayList<>();
        IntList normalizedIdList = new IntList(32);
        java.util.Set<String> specialContents = new java.util.HashSet<>();
        for (AddedToken t : addedTokens) {
            if (t.normalized()) {
                // Matched, and decoded, in normalized form (HF's normalized_cache).
                String form = normalizer.apply(t.content(), 0, t.content().length());
                int other = normalized.indexOf(form);
                if (other >= 0) {
                    throw new BadInputException(source + ": added tokens " + normalizedIdList.get(other) + " and "
                            + t.id() + " have the same normalized form; which one matches is ambiguous");
                }
                if (!form.isEmpty()) {
                    normalized.add(form);
                    normalizedIdList.add(t.id());
                }
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
        this.special = new boolean[tokens.length];
        for (int id = 0; id < tokens.length; id++) {
            // HF checks the decoded token string against the special contents, so a special token whose
            // normalized form differs from its content is not skipped; same here.
            special[id] = tokens[id] != null && specialContents.contains(tokens[id]);
        }
    }

    /**
     * Reads a tokenizer.json, or the vocabulary of a GGUF file ({@code tokenizer.ggml.*}, see
     * {@link GgufTokenizer}); bad or unsupported content is a BadInputException naming the file and field.
     */
    public static Tokenizer load(Path file) {
        if (GgufFile.hasMagic(file)) {
            try (GgufFile f = GgufFile.open(file)) {
                if (!GgufTokenizer.present(f)) {
                    throw new BadInputException(file + ": has no tokenizer (tokenizer.ggml.model absent or \"none\"); give --tokenizer");
                }
                byte[] json;
                try {
                    json = new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsBytes(
                            GgufTokenizer.toTokenizerJson(f));
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
                return TokenizerJson.parse(json, file + " (tokenizer.ggml.*)");
            }
        }
        return TokenizerJson.load(file);
    }

    /** Whether {@code model} (a checkpoint directory or a GGUF file) carries its own tokenizer. */
    public static boolean inModel(Path model) {
        if (GgufFile.hasMagic(model)) {
            try (GgufFile f = GgufFile.open(model)) {
                return GgufTokenizer.present(f);
            }
        }
        return java.nio.file.Files.exists(model.resolve("tokenizer.json"));
    }

    /** Reads {@code dir/tokenizer.json}, or a GGUF file's own tokenizer. */
    public static Tokenizer forModelDirectory(Path dir) {
        return load(GgufFile.hasMagic(dir) ? dir : dir.resolve("tokenizer.json"));
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

    /**
     * The token string of an id as the vocabulary writes it (byte-level "Ġthe", SentencePiece "▁the", byte fallback
     * "<0x0A>"; a normalized added token in its normalized form), or null when the id is not assigned.
     */
    public String idToToken(int id) {
        return id >= 0 && id < tokens.length ? tokens[id] : null;
    }

    /** The id of a token string (byte-level form, or an added token's content). */
    public OptionalInt tokenToId(String token) {
        Integer id = addedIds.get(token);
        if (id == null) {
            id = vocab.get(token);
        }
        return id == null ? OptionalInt.empty() : OptionalInt.of(id);
    }

    /** Whether decoding with skipSpecialTokens drops this id. */
    public boolean isSpecial(int id) {
        return id >= 0 && id < special.length && special[id];
    }

    /**
     * The id of the added token {@code <|endoftext|>}, the end-of-sequence token of the GPT-NeoX family; other
     * families name theirs in tokenizer_config.json (read by org.moescope.chat.ChatConfig).
     */
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

    /**
     * Token ids of {@code text}, without the special tokens the post-processor would add (HF's
     * {@code add_special_tokens=False}); the same as {@code encode(text).ids()} without computing tokens and offsets.
     */
    public int[] encodeIds(String text) {
        return encodeIds(text, false);
    }

    /**
     * Token ids of {@code text}; with {@code addSpecialTokens}, also the tokens tokenizer.json's post-processor puts
     * around a single sequence (e.g. Llama's {@code <|begin_of_text|>}), as HF's {@code encode} does by default.
     */
    public int[] encodeIds(String text, boolean addSpecialTokens) {
        Run run = new Run(text, false);
        run.encode();
        if (!addSpecialTokens) {
            return run.ids.toArray();
        }
        IntList ids = new IntList(run.ids.size() + 4);
        ids.addAll(postProcessor.prefixIds());
        ids.addAll(run.ids.toArray());
        ids.addAll(postProcessor.suffixIds());
        return ids.toArray();
    }

    /** Token ids, token strings and code point offsets of {@code text}, without post-processor tokens. */
    public Encoding encode(String text) {
        return encode(text, false);
    }

    /**
     * Token ids, token strings and code point offsets of {@code text}; with {@code addSpecialTokens} the
     * post-processor's tokens are added, with offsets (0, 0) as in HF.
     */
    public Encoding encode(String text, boolean addSpecialTokens) {
        Run run = new Run(text, true);
        run.encode();
        int[] starts = run.starts.toArray();
        int[] ends = run.ends.toArray();
        if (postProcessor.trim() != null) {
            trim(run.tokens, starts, ends);
        }
        if (!addSpecialTokens) {
            return new Encoding(run.ids.toArray(), Collections.unmodifiableList(run.tokens), starts, ends);
        }
        PostProcessor pp = postProcessor;
        int n = pp.prefixIds().length + run.ids.size() + pp.suffixIds().length;
        IntList ids = new IntList(n);
        IntList allStarts = new IntList(n);
        IntList allEnds = new IntList(n);
        List<String> tokenStrings = new ArrayList<>(n);
        ids.addAll(pp.prefixIds());
        tokenStrings.addAll(pp.prefixTokens());
        allStarts.addAll(new int[pp.prefixIds().length]);
        allEnds.addAll(new int[pp.prefixIds().length]);
        ids.addAll(run.ids.toArray());
        tokenStrings.addAll(run.tokens);
        allStarts.addAll(starts);
        allEnds.addAll(ends);
        ids.addAll(pp.suffixIds());
        tokenStrings.addAll(pp.suffixTokens());
        allStarts.addAll(new int[pp.suffixIds().length]);
        allEnds.addAll(new int[pp.suffixIds().length]);
        return new Encoding(ids.toArray(), Collections.unmodifiableList(tokenStrings), allStarts.toArray(),
                allEnds.toArray());
    }

    /**
     * Text of the ids, as HF's {@code decode} makes it with tokenizer.json's decoder (for byte-level tokenizers:
     * token bytes decoded as UTF-8, with U+FFFD for ill-formed sequences). Unlike HF, which skips ids it does not
     * know, an unknown id is an error.
     */
    public String decode(int[] ids, boolean skipSpecialTokens) {
        StringBuilder out = new StringBuilder(ids.length * 4);
        TokenDecoder.State state = decoder.start(out);
        for (int id : ids) {
            feed(state, id, skipSpecialTokens);
        }
        state.end();
        return out.toString();
    }

    /** A decoder for ids that arrive one at a time (streaming generation). */
    public StreamingDecoder streamingDecoder(boolean skipSpecialTokens) {
        return new StreamingDecoder(this, skipSpecialTokens);
    }

    TokenDecoder.State startDecoding(StringBuilder out) {
        return decoder.start(out);
    }

    /** Passes the token string of {@code id} to the decoder, unless it is a special token being skipped. */
    void feed(TokenDecoder.State state, int id, boolean skipSpecialTokens) {
        if (id < 0 || id >= tokens.length || tokens[id] == null) {
            throw new BadInputException("token id " + id + " is not in the vocabulary of " + source
                    + " (size " + tokens.length + ")");
        }
        if (skipSpecialTokens && special[id]) {
            return;
        }
        state.token(tokens[id]);
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
                if (!(first && postProcessor.trim().addPrefixSpace() && leading == 1)) {
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
        private final IntList lengths; // details: input bytes of each token of the current word
        private final PreTokenizer.Cutter cutter = preTokenizer.cutter();
        /** Code point index of each UTF-16 index of text; null when text has no surrogates (identity). */
        private final int[] cpIndex; // (text length + 1)

        Run(String text, boolean details) {
            this.text = text;
            this.details = details;
            this.ids = new IntList(text.length() / 3 + 8);
            this.tokens = details ? new ArrayList<>() : null;
            this.starts = details ? new IntList(text.length() / 3 + 8) : null;
            this.ends = details ? new IntList(text.length() / 3 + 8) : null;
            this.lengths = details ? new IntList(64) : null;
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

        /** Steps 2 and 3 for raw text[from, to): normalizer, normalized added tokens, pre-tokenizer and BPE. */
        private void encodeNormalizable(int from, int to) {
            String norm;
            int normFrom;
            int normTo;
            Nfc.Aligned aligned = null; // null: norm is text, aligned to itself
            if (normalizer.leavesUnchanged(text, from, to)) {
                norm = text;
                normFrom = from;
                normTo = to;
            } else {
                if (details) {
                    aligned = normalizer.applyAligned(text, from, to, this::cp);
                    norm = aligned.text();
                } else {
                    norm = normalizer.apply(text, from, to);
                }
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
                    encodeWords(norm, pieceStart, pos, aligned, from, to);
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
                encodeWords(norm, pieceStart, normTo, aligned, from, to);
            }
        }

        /** Pre-tokenizes norm[from, to) (normalized from the raw piece text[rawFrom, rawTo)) and encodes each word. */
        private void encodeWords(String norm, int from, int to, Nfc.Aligned aligned, int rawFrom, int rawTo) {
            PreTokenizer.Metaspace metaspace = preTokenizer.metaspace();
            if (metaspace == null) {
                cutter.cut(norm, from, to, (a, b) -> encodeWord(norm, a, b, aligned));
                return;
            }
            // Metaspace rewrites the piece: spaces become the replacement, which is then prepended unless the
            // piece starts with it (scheme "first": only for the piece that starts the original text).
            char r = metaspace.replacement();
            String word;
            Nfc.Aligned wordAligned = null;
            if (details) {
                Nfc.Aligned a = aligned == null ? TextNormalizer.identity(norm, from, to, this::cp)
                        : slice(aligned, from, to);
                wordAligned = TextNormalizer.replace(a, " ", String.valueOf(r));
                word = wordAligned.text();
            } else {
                word = norm.substring(from, to).replace(' ', r);
            }
            boolean prepend = switch (metaspace.prependScheme()) {
                case ALWAYS -> word.charAt(0) != r;
                case FIRST -> word.charAt(0) != r && startsOriginalText(norm, from, aligned, rawFrom, rawTo);
                case NEVER -> false;
            };
            if (prepend) {
                if (details) {
                    wordAligned = TextNormalizer.prepend(wordAligned, String.valueOf(r));
                    word = wordAligned.text();
                } else {
                    word = r + word;
                }
            }
            int piece = 0;
            if (metaspace.split()) {
                for (int i = 1; i < word.length(); i++) {
                    if (word.charAt(i) == r) {
                        encodeWord(word, piece, i, wordAligned);
                        piece = i;
                    }
                }
            }
            encodeWord(word, piece, word.length(), wordAligned);
        }

        /**
         * Whether norm[from] comes from the start of the original text (HF's {@code offsets_original().0 == 0} of
         * the piece: the alignment of its first character), norm being the normalized form of text[rawFrom, rawTo).
         * Without alignments at hand (ids only) they are computed, for the first raw piece only.
         */
        private boolean startsOriginalText(String norm, int from, Nfc.Aligned aligned, int rawFrom, int rawTo) {
            if (aligned != null) {
                return aligned.starts()[from] == 0;
            }
            if (norm == text) {
                return cp(from) == 0;
            }
            // Every character of a normalized piece is aligned within [rawFrom, rawTo).
            return rawFrom == 0 && normalizer.applyAligned(text, rawFrom, rawTo, this::cp).starts()[from] == 0;
        }

        /** BPE of one word, s[from, to); {@code aligned} maps s to the original (null: s is text). */
        private void encodeWord(String s, int from, int to, Nfc.Aligned aligned) {
            int first = ids.size();
            if (details) {
                lengths.clear();
            }
            model.encode(s, from, to, ids, lengths);
            if (details) {
                addDetails(s, from, first, aligned);
            }
        }

        /** Token strings and offsets of ids[first..], which BPE made of the word starting at s[wordStart]. */
        private void addDetails(String s, int wordStart, int first, Nfc.Aligned aligned) {
            int unit = wordStart; // UTF-16 index of the character holding the current byte
            int cp = s.codePointAt(unit);
            int byteInChar = 0;
            int charBytes = BpeModel.utf8Length(cp);
            for (int k = first; k < ids.size(); k++) {
                tokens.add(Tokenizer.this.tokens[ids.get(k)]);
                int startUnit = unit;
                int endUnit = unit;
                for (int b = lengths.get(k - first); b > 0; b--) {
                    endUnit = unit;
                    if (++byteInChar == charBytes) {
                        unit += Character.charCount(cp);
                        byteInChar = 0;
                        if (unit < s.length()) {
                            cp = s.codePointAt(unit);
                            charBytes = BpeModel.utf8Length(cp);
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

    private static Nfc.Aligned slice(Nfc.Aligned a, int from, int to) {
        return new Nfc.Aligned(a.text().substring(from, to), java.util.Arrays.copyOfRange(a.starts(), from, to),
                java.util.Arrays.copyOfRange(a.ends(), from, to));
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

}
