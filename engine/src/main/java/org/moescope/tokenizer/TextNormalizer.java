package org.moescope.tokenizer;

import java.util.List;
import java.util.function.IntUnaryOperator;

/**
 * tokenizer.json's normalizer: a sequence of NFC (first only), Prepend and Replace (a literal pattern), run on each
 * piece of text that added tokens left over. Two forms of each step: the text alone, for {@link Tokenizer#encodeIds},
 * and the text with HF's alignments, for offsets. The alignments follow {@code NormalizedString}: a prepended string
 * and the character it precedes all take that character's alignment ({@code prepend}); a replacement takes the
 * alignment of the last character of the match it replaces ({@code replace} inserts it after removing the match).
 */
final class TextNormalizer {
    sealed interface Step permits NfcStep, Prepend, Replace {
    }

    /** Canonical composition with HF's alignments ({@link Nfc}). */
    record NfcStep() implements Step {
    }

    /** Puts {@code prefix} before non-empty text. */
    record Prepend(String prefix) implements Step {
    }

    /** Replaces every non-overlapping occurrence of {@code pattern} (not empty), left to right. */
    record Replace(String pattern, String content) implements Step {
    }

    static final TextNormalizer NONE = new TextNormalizer(List.of());

    private final List<Step> steps;

    TextNormalizer(List<Step> steps) {
        for (int i = 1; i < steps.size(); i++) {
            if (steps.get(i) instanceof NfcStep) {
                // Nfc replays HF's alignments for raw input only; the loader refuses NFC after other steps.
                throw new IllegalArgumentException("NFC must be the first normalizer step");
            }
        }
        this.steps = List.copyOf(steps);
    }

    boolean isIdentity() {
        return steps.isEmpty();
    }

    /** Whether normalizing {@code s[from, to)} leaves it as it is (quick: most text is NFC already). */
    boolean leavesUnchanged(String s, int from, int to) {
        return steps.isEmpty() || (steps.size() == 1 && steps.get(0) instanceof NfcStep
                && Nfc.isNormalized(s, from, to));
    }

    /** The normalized text of {@code s[from, to)}. */
    String apply(String s, int from, int to) {
        String text = s.substring(from, to);
        for (Step step : steps) {
            text = switch (step) {
                case NfcStep n -> Nfc.isNormalized(text, 0, text.length()) ? text
                        : Nfc.normalize(text, 0, text.length(), 0).text();
                case Prepend p -> text.isEmpty() ? text : p.prefix() + text;
                case Replace r -> text.replace(r.pattern(), r.content());
            };
        }
        return text;
    }

    /**
     * The normalized text of {@code s[from, to)} with, for each UTF-16 unit, the original range in code points;
     * {@code cp} gives the code point index of a UTF-16 index of {@code s}.
     */
    Nfc.Aligned applyAligned(String s, int from, int to, IntUnaryOperator cp) {
        Nfc.Aligned a = null;
        for (Step step : steps) {
            if (a == null && step instanceof NfcStep) {
                a = Nfc.normalize(s, from, to, cp.applyAsInt(from));
                continue;
            }
            if (a == null) {
                a = identity(s, from, to, cp);
            }
            a = switch (step) {
                case NfcStep n -> throw new IllegalStateException("NFC after another step");
                case Prepend p -> prepend(a, p.prefix());
                case Replace r -> replace(a, r.pattern(), r.content());
            };
        }
        return a != null ? a : identity(s, from, to, cp);
    }

    /** {@code s[from, to)} aligned to itself. */
    static Nfc.Aligned identity(String s, int from, int to, IntUnaryOperator cp) {
        int n = to - from;
        int[] starts = new int[n];
        int[] ends = new int[n];
        for (int u = 0; u < n; u++) {
            starts[u] = cp.applyAsInt(from + u);
            ends[u] = starts[u] + 1;
        }
        return new Nfc.Aligned(s.substring(from, to), starts, ends);
    }

    static Nfc.Aligned prepend(Nfc.Aligned a, String prefix) {
        if (a.text().isEmpty() || prefix.isEmpty()) {
            return a;
        }
        int p = prefix.length();
        int n = a.text().length();
        int[] starts = new int[p + n];
        int[] ends = new int[p + n];
        java.util.Arrays.fill(starts, 0, p, a.starts()[0]);
        java.util.Arrays.fill(ends, 0, p, a.ends()[0]);
        System.arraycopy(a.starts(), 0, starts, p, n);
        System.arraycopy(a.ends(), 0, ends, p, n);
        return new Nfc.Aligned(prefix + a.text(), starts, ends);
    }

    static Nfc.Aligned replace(Nfc.Aligned a, String pattern, String content) {
        String t = a.text();
        int at = t.indexOf(pattern);
        if (at < 0) {
            return a;
        }
        StringBuilder text = new StringBuilder(t.length() + 16);
        IntList starts = new IntList(t.length() + 16);
        IntList ends = new IntList(t.length() + 16);
        int last = 0;
        while (at >= 0) {
            for (int u = last; u < at; u++) {
                starts.add(a.starts()[u]);
                ends.add(a.ends()[u]);
            }
            text.append(t, last, at);
            int end = at + pattern.length();
            for (int u = 0; u < content.length(); u++) {
                starts.add(a.starts()[end - 1]);
                ends.add(a.ends()[end - 1]);
            }
            text.append(content);
            last = end;
            at = t.indexOf(pattern, end);
        }
        for (int u = last; u < t.length(); u++) {
            starts.add(a.starts()[u]);
            ends.add(a.ends()[u]);
        }
        text.append(t, last, t.length());
        return new Nfc.Aligned(text.toString(), starts.toArray(), ends.toArray());
    }
}
