package org.moescope.tokenizer;

import org.junit.jupiter.api.Test;

import java.text.Normalizer;
import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The HF-style aligned NFC: same text as the JDK's NFC, and HF's alignments. */
class NfcTest {
    @Test
    void alignmentsFollowHf() {
        // HF: "a\u0323\u0302b" → "ậb", and the composed character is aligned to the "a" alone.
        Nfc.Aligned a = Nfc.normalize("a\u0323\u0302b", 0, 4, 0);
        assertEquals("\u1ead" + "b", a.text());
        assertArrayEquals(new int[] {0, 3}, a.starts());
        assertArrayEquals(new int[] {1, 4}, a.ends());
        // U+0344 decomposes into two marks; the second is "inserted" and shares the first's alignment.
        Nfc.Aligned b = Nfc.normalize("q\u0344", 0, 2, 10);
        assertEquals("q\u0308\u0301", b.text());
        assertArrayEquals(new int[] {10, 11, 11}, b.starts());
        assertArrayEquals(new int[] {11, 12, 12}, b.ends());
        // Reordered marks: q + U+0307 (ccc 230) + U+0323 (ccc 220) → q U+0323 U+0307, aligned in input order.
        Nfc.Aligned c = Nfc.normalize("q\u0307\u0323", 0, 3, 0);
        assertEquals("q\u0323\u0307", c.text());
        assertArrayEquals(new int[] {0, 1, 2}, c.starts());
    }

    @Test
    void sameTextAsJdkNfc() {
        for (String s : Fixtures.strings()) {
            checkAgainstJdk(s);
        }
        String[] pool = {"a", "e", "o", "A", "\u0301", "\u0300", "\u0302", "\u0308", "\u0323", "\u0327", "\u0328",
            "\u0304", "\u0345", "\u0334", "\u05b0", "\u05bc", "\u093c", "\u0915", "\u1100", "\u1161", "\u11a8",
            "\uac00", "\u212b", "\u2126", "\u0344", "\u0958", "\u00e9", "\u1e9b", "\u03b1", "\u1f71", " ", "x",
            "\uD834\uDD5E", "\uD834\uDD65", "\uD804\uDCBA", "\u0cc6", "\u0cc2", "\u0cd5", "\u0b47", "\u0b3e"};
        Random random = new Random(99);
        for (int i = 0; i < 20_000; i++) {
            StringBuilder b = new StringBuilder();
            for (int k = 1 + random.nextInt(10); k > 0; k--) {
                b.append(pool[random.nextInt(pool.length)]);
            }
            checkAgainstJdk(b.toString());
        }
    }

    @Test
    void normalizedTextKeepsIdentityAlignments() {
        String s = "caf\u00e9 \u1ead \u01ed\u0301 \ud55c\uad6d\uc5b4 \uD83D\uDE00 \u0915\u093c";
        assertTrue(Normalizer.isNormalized(s, Normalizer.Form.NFC));
        Nfc.Aligned a = Nfc.normalize(s, 0, s.length(), 0);
        assertEquals(s, a.text());
        int cp = 0;
        for (int u = 0; u < s.length(); u++) {
            assertEquals(cp, a.starts()[u]);
            assertEquals(cp + 1, a.ends()[u]);
            if (!Character.isHighSurrogate(s.charAt(u))) {
                cp++;
            }
        }
    }

    @Test
    void quickCheck() {
        assertTrue(Nfc.isNormalized("plain ASCII and caf\u00e9", 0, 20));
        assertFalse(Nfc.isNormalized("cafe\u0301", 0, 5));
        assertTrue(Nfc.isNormalized("xcafe\u0301", 0, 4));
        assertEquals(230, Nfc.combiningClass(0x301));
        assertEquals(0, Nfc.combiningClass('a'));
        assertEquals(216, Nfc.combiningClass(0x1D165));
    }

    private static void checkAgainstJdk(String s) {
        Nfc.Aligned a = Nfc.normalize(s, 0, s.length(), 0);
        assertEquals(Normalizer.normalize(s, Normalizer.Form.NFC), a.text(), () -> GoldenTest.escape(s));
        int n = s.codePointCount(0, s.length());
        for (int u = 0; u < a.text().length(); u++) {
            int start = a.starts()[u];
            int end = a.ends()[u];
            assertTrue(0 <= start && start <= end && end <= n, () -> GoldenTest.escape(s) + " "
                    + Arrays.toString(a.starts()) + Arrays.toString(a.ends()));
        }
    }
}
