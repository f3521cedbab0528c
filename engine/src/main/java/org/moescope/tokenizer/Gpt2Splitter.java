package org.moescope.tokenizer;

/**
 * The GPT-2 pre-tokenizer split, hand-written: it cuts text into the pieces that
 * {@link #REGEX} matches one after another, without a regex engine (which costs more than BPE itself on
 * cached words). Character classes follow HF tokenizers (Oniguruma): {@code \s} is the Unicode White_Space
 * property, {@code \p{L}} and {@code \p{N}} the Unicode letter and number categories, all by code point.
 * Gpt2SplitterTest checks it against {@link #REGEX} compiled with UNICODE_CHARACTER_CLASS.
 */
final class Gpt2Splitter {
    /** The split regex of GPT-2 (and HF's ByteLevel pre-tokenizer); kept for tests and documentation. */
    static final String REGEX = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

    static final byte OTHER = 0;
    static final byte SPACE = 1;
    static final byte LETTER = 2;
    static final byte NUMBER = 3;

    /** Class of every BMP character; code points above are classified on the fly (they are rare). */
    private static final byte[] BMP_CLASS = new byte[65536]; // (65536)

    static {
        for (int c = 0; c < 65536; c++) {
            BMP_CLASS[c] = computeClass(c);
        }
    }

    private Gpt2Splitter() {
    }

    static byte classOf(int cp) {
        return cp < 65536 ? BMP_CLASS[cp] : computeClass(cp);
    }

    private static byte computeClass(int cp) {
        if (isWhiteSpace(cp)) {
            return SPACE;
        }
        return switch (Character.getType(cp)) {
            case Character.UPPERCASE_LETTER, Character.LOWERCASE_LETTER, Character.TITLECASE_LETTER,
                 Character.MODIFIER_LETTER, Character.OTHER_LETTER -> LETTER;
            case Character.DECIMAL_DIGIT_NUMBER, Character.LETTER_NUMBER, Character.OTHER_NUMBER -> NUMBER;
            default -> OTHER;
        };
    }

    /**
     * The Unicode White_Space property. Not {@link Character#isWhitespace}, which leaves out no-break spaces
     * (U+00A0, U+2007, U+202F) and U+0085 and adds U+001C..U+001F.
     */
    static boolean isWhiteSpace(int cp) {
        return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680
                || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F
                || cp == 0x3000;
    }

    /**
     * The end (exclusive) of the piece that starts at {@code start} in {@code s[start, limit)}; {@code start <
     * limit}. Indices are UTF-16 indices; pieces never split a surrogate pair.
     */
    static int pieceEnd(String s, int start, int limit) {
        char c = s.charAt(start);
        // 's|'t|'re|'ve|'m|'ll|'d (case-sensitive, as in GPT-2)
        if (c == '\'' && start + 1 < limit) {
            char d = s.charAt(start + 1);
            if (d == 's' || d == 't' || d == 'm' || d == 'd') {
                return start + 2;
            }
            if (start + 2 < limit) {
                char e = s.charAt(start + 2);
                if ((d == 'r' && e == 'e') || (d == 'v' && e == 'e') || (d == 'l' && e == 'l')) {
                    return start + 3;
                }
            }
        }
        // ' ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+': an optional ASCII space, then a run of one class.
        int runStart = c == ' ' && start + 1 < limit ? start + 1 : start;
        int cp = codePointAt(s, runStart, limit);
        byte cls = classOf(cp);
        if (cls != SPACE) {
            return runEnd(s, runStart + Character.charCount(cp), limit, cls);
        }
        // '\s+(?!\S)|\s+': a whitespace run; when a non-space follows, its last whitespace character is left
        // for the next piece (to become the " ?" of a word) unless the run is that one character.
        int end = start;
        int lastStart = start;
        while (end < limit) {
            int w = codePointAt(s, end, limit);
            if (classOf(w) != SPACE) {
                return lastStart > start ? lastStart : end;
            }
            lastStart = end;
            end += Character.charCount(w);
        }
        return end;
    }

    private static int runEnd(String s, int i, int limit, byte cls) {
        while (i < limit) {
            char ch = s.charAt(i);
            if (!Character.isSurrogate(ch)) {
                if (BMP_CLASS[ch] != cls) {
                    return i;
                }
                i++;
            } else {
                int cp = codePointAt(s, i, limit);
                if (classOf(cp) != cls) {
                    return i;
                }
                i += Character.charCount(cp);
            }
        }
        return i;
    }

    private static int codePointAt(String s, int i, int limit) {
        char hi = s.charAt(i);
        if (Character.isHighSurrogate(hi) && i + 1 < limit) {
            char lo = s.charAt(i + 1);
            if (Character.isLowSurrogate(lo)) {
                return Character.toCodePoint(hi, lo);
            }
        }
        return hi;
    }
}
