package org.moescope.tokenizer;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * tokenizer.json's pre-tokenizer: how a normalized piece is cut into the words BPE sees. Either a sequence of
 * splits (regex or literal {@code Split}s, then optionally {@code ByteLevel}, whose GPT-2 regex is
 * {@link Gpt2Splitter} and which makes the model byte-level), or {@code Metaspace} alone (it rewrites the text, so
 * {@link Tokenizer} applies it). Splits follow HF's {@code NormalizedString::split}: each step cuts every piece
 * of the previous step, pieces are matches and the gaps between them, the behavior decides what is kept and what
 * is merged, and empty pieces are dropped.
 */
final class PreTokenizer {
    /** HF's SplitDelimiterBehavior. */
    enum Behavior { REMOVED, ISOLATED, MERGED_WITH_PREVIOUS, MERGED_WITH_NEXT, CONTIGUOUS }

    sealed interface Step permits Split, ByteLevelRegex {
    }

    /** A {@code Split}: the pattern (a literal is compiled quoted), what to do with matches, and invert. */
    record Split(Pattern regex, Behavior behavior, boolean invert) implements Step {
    }

    /** {@code ByteLevel} with {@code use_regex}: the GPT-2 split. */
    record ByteLevelRegex() implements Step {
    }

    enum PrependScheme { ALWAYS, FIRST, NEVER }

    /** {@code Metaspace}: spaces become {@code replacement}, which is prepended per scheme; then split before it. */
    record Metaspace(char replacement, PrependScheme prependScheme, boolean split) {
    }

    private final List<Step> steps;
    private final Metaspace metaspace;
    private final boolean byteLevel;

    /** Splits, then byte-level or not; or (with no steps) Metaspace, or nothing at all when both are absent. */
    PreTokenizer(List<Step> steps, Metaspace metaspace, boolean byteLevel) {
        if (metaspace != null && (!steps.isEmpty() || byteLevel)) {
            throw new IllegalArgumentException("Metaspace goes alone");
        }
        this.steps = List.copyOf(steps);
        this.metaspace = metaspace;
        this.byteLevel = byteLevel;
    }

    /** Whether the model sees UTF-8 bytes (ByteLevel) rather than characters. */
    boolean byteLevel() {
        return byteLevel;
    }

    /** The Metaspace settings, or null. */
    Metaspace metaspace() {
        return metaspace;
    }

    interface WordSink {
        void word(int from, int to);
    }

    /** The splitting state of one encode call (matchers are not thread-safe). */
    Cutter cutter() {
        return new Cutter();
    }

    final class Cutter {
        private final Matcher[] matchers = new Matcher[steps.size()];
        private final String[] inputs = new String[steps.size()];

        /** Calls {@code sink} with every word of {@code s[from, to)}, in order. */
        void cut(String s, int from, int to, WordSink sink) {
            cut(0, s, from, to, sink);
        }

        private void cut(int k, String s, int from, int to, WordSink sink) {
            if (from >= to) {
                return;
            }
            if (k == steps.size()) {
                sink.word(from, to);
                return;
            }
            switch (steps.get(k)) {
                case ByteLevelRegex b -> {
                    for (int p = from; p < to; ) {
                        int q = Gpt2Splitter.pieceEnd(s, p, to);
                        cut(k + 1, s, p, q, sink);
                        p = q;
                    }
                }
                case Split split -> {
                    Matcher m = matcher(k, split, s);
                    // Opaque bounds (the default): lookarounds see the piece only, as HF runs on the piece alone.
                    m.region(from, to);
                    if (split.behavior() == Behavior.ISOLATED) {
                        int prev = from;
                        while (m.find()) {
                            int start = m.start();
                            int end = m.end();
                            cut(k + 1, s, prev, start, sink);
                            cut(k + 1, s, start, end, sink);
                            prev = end;
                        }
                        cut(k + 1, s, prev, to, sink);
                    } else {
                        IntList pieces = new IntList(16); // (start, end, keep) triples
                        splitPieces(m, from, to, split, pieces);
                        for (int i = 0; i < pieces.size(); i += 3) {
                            if (pieces.get(i + 2) != 0) {
                                cut(k + 1, s, pieces.get(i), pieces.get(i + 1), sink);
                            }
                        }
                    }
                }
            }
        }

        private Matcher matcher(int k, Split split, String s) {
            if (matchers[k] == null) {
                matchers[k] = split.regex().matcher(s);
                inputs[k] = s;
            } else if (inputs[k] != s) {
                matchers[k].reset(s);
                inputs[k] = s;
            }
            return matchers[k];
        }
    }

    /** HF's find_matches and then the behavior's fold, as (start, end, keep) triples. */
    private static void splitPieces(Matcher m, int from, int to, Split split, IntList out) {
        IntList matches = new IntList(16); // (start, end, isMatch)
        int prev = from;
        while (m.find()) {
            if (m.start() > prev) {
                matches.add(prev);
                matches.add(m.start());
                matches.add(split.invert() ? 1 : 0);
            }
            matches.add(m.start());
            matches.add(m.end());
            matches.add(split.invert() ? 0 : 1);
            prev = m.end();
        }
        if (prev < to) {
            matches.add(prev);
            matches.add(to);
            matches.add(split.invert() ? 1 : 0);
        }
        int n = matches.size() / 3;
        switch (split.behavior()) {
            case ISOLATED, REMOVED -> {
                for (int i = 0; i < n; i++) {
                    boolean isMatch = matches.get(3 * i + 2) != 0;
                    add(out, matches.get(3 * i), matches.get(3 * i + 1),
                            split.behavior() == Behavior.ISOLATED || !isMatch);
                }
            }
            case CONTIGUOUS, MERGED_WITH_PREVIOUS -> {
                boolean contiguous = split.behavior() == Behavior.CONTIGUOUS;
                boolean previousMatch = false;
                for (int i = 0; i < n; i++) {
                    boolean isMatch = matches.get(3 * i + 2) != 0;
                    boolean merge = contiguous ? isMatch == previousMatch : isMatch && !previousMatch;
                    if (merge && out.size() > 0) {
                        out.set(out.size() - 2, matches.get(3 * i + 1)); // extend the last piece's end
                    } else {
                        add(out, matches.get(3 * i), matches.get(3 * i + 1), true);
                    }
                    previousMatch = isMatch;
                }
            }
            case MERGED_WITH_NEXT -> {
                // HF folds from the end: a match merges into the piece after it, unless that piece is a match.
                IntList reversed = new IntList(16);
                boolean previousMatch = false;
                for (int i = n - 1; i >= 0; i--) {
                    boolean isMatch = matches.get(3 * i + 2) != 0;
                    if (isMatch && !previousMatch && reversed.size() > 0) {
                        reversed.set(reversed.size() - 3, matches.get(3 * i)); // move the last piece's start
                    } else {
                        add(reversed, matches.get(3 * i), matches.get(3 * i + 1), true);
                    }
                    previousMatch = isMatch;
                }
                for (int i = reversed.size() - 3; i >= 0; i -= 3) {
                    add(out, reversed.get(i), reversed.get(i + 1), true);
                }
            }
        }
    }

    private static void add(IntList out, int start, int end, boolean keep) {
        out.add(start);
        out.add(end);
        out.add(keep ? 1 : 0);
    }
}
