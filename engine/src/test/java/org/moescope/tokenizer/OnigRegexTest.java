package org.moescope.tokenizer;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Oniguruma → java.util.regex translation, construct by construct, on the edge cases where the two engines'
 * own syntax means different things (GoldenTest checks whole tokenizers against HF).
 */
class OnigRegexTest {
    /** The split regexes of the real families' tokenizer.json files (Qwen, Llama 3, gpt-oss, DeepSeek-V3). */
    static final List<String> REAL_PATTERNS = List.of(
            "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+"
                    + "|\\s+(?!\\S)|\\s+",
            "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*"
                    + "|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
            "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:'s|'t|'re|'ve|'m"
                    + "|'ll|'d)?|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*"
                    + "(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)"
                    + "|\\s+",
            "\\p{N}{1,3}",
            "[\u4e00-\u9fa5\u3040-\u309f\u30a0-\u30ff]+",
            "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+"
                    + "| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+");

    @Test
    void realPatternsTranslate() throws Exception {
        for (String p : REAL_PATTERNS) {
            OnigRegex.compile(p);
        }
        // Qwen's pattern on a few known cases (HF's pre_tokenize_str gives the same pieces).
        Pattern qwen = OnigRegex.compile(REAL_PATTERNS.get(0));
        assertEquals(List.of("Hello", " world", "'S", " ", "1", "2", "3", "!\n\n", "  ", " x"),
                pieces(qwen, "Hello world'S 123!\n\n   x"));
        Pattern deepseekPunct = OnigRegex.compile(REAL_PATTERNS.get(5));
        assertEquals(List.of("a", " &&", " b", "[x", "]\\", "y"), pieces(deepseekPunct, "a && b[x]\\y"));
    }

    /** Oniguruma folds "s" with U+017F and "k" with U+212A, and nothing else onto ASCII (not U+0130, U+0131). */
    @Test
    void caseInsensitiveGroupsFoldLikeOniguruma() throws Exception {
        Pattern p = OnigRegex.compile("(?i:'s|k|i)");
        for (String yes : List.of("'s", "'S", "'\u017f", "k", "K", "\u212a", "i", "I")) {
            assertTrue(p.matcher(yes).matches(), yes);
        }
        for (String no : List.of("'\u00df", "\u0130", "\u0131", "'z")) {
            assertFalse(p.matcher(no).matches(), no);
        }
        // Outside the group, case matters.
        assertFalse(OnigRegex.compile("(?i:a)b").matcher("aB").matches());
        assertTrue(OnigRegex.compile("(?i:a)b").matcher("Ab").matches());
    }

    /** \s is Unicode White_Space (Java's plain \s is ASCII only); \S its complement, also inside classes. */
    @Test
    void whiteSpaceIsUnicodeWhiteSpace() throws Exception {
        Pattern s = OnigRegex.compile("\\s");
        Pattern notS = OnigRegex.compile("\\S");
        Pattern inClass = OnigRegex.compile("[\\sx]");
        Pattern negated = OnigRegex.compile("[^\\S\\n]");
        for (int code = 0; code < 0x3100; code++) {
            int cp = code;
            String c = new String(Character.toChars(cp));
            boolean white = Gpt2Splitter.isWhiteSpace(cp);
            assertEquals(white, s.matcher(c).matches(), () -> "\\s at U+" + Integer.toHexString(cp));
            assertEquals(!white, notS.matcher(c).matches(), () -> "\\S at U+" + Integer.toHexString(cp));
            assertEquals(white || cp == 'x', inClass.matcher(c).matches());
            assertEquals(white && cp != '\n', negated.matcher(c).matches(), () -> "[^\\S\\n] at " + cp);
        }
    }

    @Test
    void literalsAndEscapes() throws Exception {
        // Java gives && in a class, and a bare [ in one, meanings Oniguruma does not; here they are literals.
        assertTrue(OnigRegex.compile("[a&b]").matcher("&").matches());
        assertTrue(OnigRegex.compile("[\\[\\]]+").matcher("[]").matches());
        assertTrue(OnigRegex.compile("[a-]").matcher("-").matches());
        assertTrue(OnigRegex.compile("[\\-a]").matcher("-").matches());
        assertTrue(OnigRegex.compile("\\x41\\x{1F600}\\u00e9").matcher("A\uD83D\uDE00\u00e9").matches());
        assertTrue(OnigRegex.compile("\\p{^L}").matcher("1").matches());
        assertFalse(OnigRegex.compile("\\p{^L}").matcher("a").matches());
        assertTrue(OnigRegex.compile("\\P{N}+").matcher("ab").matches());
        assertTrue(OnigRegex.compile("a{2}b{1,}c{0,2}").matcher("aabbb").matches());
        assertTrue(OnigRegex.compile("\\.\\*\\+\\?\\(\\)\\|\\{").matcher(".*+?()|{").matches());
        assertTrue(OnigRegex.compile("(ab)+").matcher("abab").matches());
        assertTrue(OnigRegex.compile("a(?=b)").matcher("ab").lookingAt());
        assertFalse(OnigRegex.compile("a(?!b)").matcher("ab").lookingAt());
        // Supplementary characters are one character in both engines.
        assertTrue(OnigRegex.compile("[\\x{1F600}-\\x{1F64F}]").matcher("\uD83D\uDE03").matches());
    }

    @Test
    void unsupportedConstructsAreNamed() {
        assertRefused(".", ". (any character) at index 0");
        assertRefused("^a", "the anchor ^");
        assertRefused("a$", "the anchor $");
        assertRefused("a\\b", "the escape \\b at index 1");
        assertRefused("\\d", "the escape \\d");
        assertRefused("\\w+", "the escape \\w");
        assertRefused("(a)\\1", "the escape \\1");
        assertRefused("(?<=a)b", "the group syntax (?<...)");
        assertRefused("(?<n>a)", "the group syntax (?<...)");
        assertRefused("(?>a)", "the group syntax (?>...)");
        assertRefused("a+?", "a lazy quantifier");
        assertRefused("a++", "a possessive quantifier");
        assertRefused("a{,3}", "an unescaped { that is not a quantifier");
        assertRefused("a{", "an unescaped { that is not a quantifier");
        assertRefused("[a[b]]", "a nested character class");
        assertRefused("[a&&b]", "a class intersection");
        assertRefused("[]a]", "] at the start of a class");
        assertRefused("[z-a]", "the empty range");
        assertRefused("[ab", "an unclosed character class");
        assertRefused("(ab", "an unclosed group");
        assertRefused("ab)", "unbalanced )");
        assertRefused("\\p{Han}", "the property \\p{Han}");
        assertRefused("\\p{Letter}", "the property \\p{Letter}");
        assertRefused("*a", "a quantifier with nothing to repeat");
        assertRefused("(?=a)+", "a quantified lookahead");
        assertRefused("(?i:ss)", "the case-insensitive literal \"ss\"");
        assertRefused("(?i:'fi)", "the case-insensitive literal \"fi\"");
        assertRefused("(?i:[a-z])", "a class with letters inside a case-insensitive group");
        assertRefused("(?i:\\p{L})", "\\p inside a case-insensitive group");
        assertRefused("(?i:\u00e9)", "a case-insensitive non-ASCII letter");
        assertRefused("a*", "the pattern can match the empty string");
        assertRefused("a|(?=b)", "the pattern can match the empty string");
        assertRefused("(a?b?)", "the pattern can match the empty string");
    }

    @Test
    void nonEmptyPatternsAreAccepted() throws Exception {
        for (String p : List.of("a?b", "(a|b?)c", "\\s+(?!\\S)", "x{0,3}y", "(?i:'s|'t)", "[^a]")) {
            OnigRegex.compile(p);
        }
    }

    private static void assertRefused(String pattern, String expected) {
        OnigRegex.UnsupportedException e = assertThrows(OnigRegex.UnsupportedException.class,
                () -> OnigRegex.compile(pattern), pattern);
        assertTrue(e.getMessage().contains(expected), () -> pattern + ": \"" + e.getMessage() + "\" lacks " + expected);
    }

    private static List<String> pieces(Pattern p, String s) {
        List<String> out = new ArrayList<>();
        Matcher m = p.matcher(s);
        while (m.find()) {
            out.add(m.group());
        }
        return out;
    }
}
