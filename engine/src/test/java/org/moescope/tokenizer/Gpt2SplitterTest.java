package org.moescope.tokenizer;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The hand-written splitter against the GPT-2 regex (java.util.regex with Unicode character classes). */
class Gpt2SplitterTest {
    private static final Pattern REGEX = Pattern.compile(Gpt2Splitter.REGEX, Pattern.UNICODE_CHARACTER_CLASS);

    @Test
    void knownSplits() {
        assertEquals(List.of("Hello", " world", "!"), split("Hello world!"));
        assertEquals(List.of("a", "  ", " b"), split("a   b"));
        assertEquals(List.of("I", "'m", " here", "'s", "'"), split("I'm here's'"));
        assertEquals(List.of("x", "\u00a0", " y", " ", "\u3000", "z"), split("x\u00a0 y \u3000z"));
        assertEquals(List.of("e", "\u0301", "t"), split("e\u0301t"));
        assertEquals(List.of(" \uD83D\uDE00\uD83D\uDE00", " 12", "ab", "  "), split(" \uD83D\uDE00\uD83D\uDE00 12ab  "));
        assertEquals(List.of("!'", "s"), split("!'s"));
    }

    @Test
    void matchesRegexOnTestStrings() {
        for (String s : Fixtures.strings()) {
            assertEquals(regexSplit(s), split(s), () -> "split of " + GoldenTest.escape(s));
        }
    }

    @Test
    void matchesRegexOnRandomStrings() {
        // Characters of every class the splitter tells apart, and the apostrophe cases.
        String[] pool = {" ", " ", " ", "  ", "\t", "\n", "\r\n", "\u000b", "\u0085", "\u00a0", "\u1680", "\u2002",
            "\u2028", "\u202f", "\u3000", "\u200b", "\u180e", "a", "Z", "\u00e9", "\u0416", "\u4e2d", "\uac00",
            "\u02b0", "\u01c5", "1", "9", "\u0663", "\u00bd", "\u2167", "\uD835\uDFD8", "!", ",", "'", "'", "s", "t",
            "re", "ve", "m", "ll", "d", "'S", "\u0301", "\u0903", "\u20ac", "\u2014", "\uD83D\uDE00", "\uD83C\uDFFD",
            "\uD801\uDC00", "\uD800\uDF48", "\u0000", "\u007f", "\u00ad", "<|", "|>", "_", "-"};
        Random random = new Random(1234);
        for (int i = 0; i < 20_000; i++) {
            StringBuilder b = new StringBuilder();
            int n = 1 + random.nextInt(16);
            for (int k = 0; k < n; k++) {
                b.append(pool[random.nextInt(pool.length)]);
            }
            String s = b.toString();
            assertEquals(regexSplit(s), split(s), () -> "split of " + GoldenTest.escape(s));
        }
    }

    @Test
    void classesFollowUnicode() {
        for (int cp = 0; cp <= Character.MAX_CODE_POINT; cp++) {
            boolean space = REGEX_SPACE.matcher(new String(Character.toChars(cp))).matches();
            assertEquals(space, Gpt2Splitter.classOf(cp) == Gpt2Splitter.SPACE, "\\s at U+" + Integer.toHexString(cp));
        }
    }

    private static final Pattern REGEX_SPACE = Pattern.compile("\\s", Pattern.UNICODE_CHARACTER_CLASS);

    private static List<String> split(String s) {
        List<String> out = new ArrayList<>();
        for (int p = 0; p < s.length(); ) {
            int q = Gpt2Splitter.pieceEnd(s, p, s.length());
            out.add(s.substring(p, q));
            p = q;
        }
        return out;
    }

    private static List<String> regexSplit(String s) {
        List<String> out = new ArrayList<>();
        Matcher m = REGEX.matcher(s);
        int expected = 0;
        while (m.find()) {
            assertEquals(expected, m.start(), "the regex skipped text in " + GoldenTest.escape(s));
            out.add(m.group());
            expected = m.end();
        }
        assertEquals(s.length(), expected);
        return out;
    }
}
