package org.moescope.tokenizer;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.text.Normalizer;
import java.util.concurrent.ConcurrentHashMap;

/**
 * NFC that also says where each normalized character came from, the way HF tokenizers reports it. HF runs the
 * {@code unicode-normalization-alignments} crate, which emits every output character with a "change" (0 replaces
 * an input character, 1 is inserted, -n also swallows n input characters), and {@code NormalizedString::transform}
 * turns those into alignments: a replacing character is aligned to the next unconsumed input character only (so
 * "a" + U+0323 + U+0302 → "ậ" is aligned to the "a" alone), an inserted one to the previous input character. This
 * class replays that crate's decomposition and recomposition state machine step by step. Decompositions and
 * compositions come from the JDK's {@link Normalizer}; canonical combining classes, which the JDK does not expose,
 * from a generated table (combining-classes.txt).
 *
 * <p>Most text is NFC already and takes {@link #isNormalized}'s fast path, with identity alignments.
 */
final class Nfc {
    /** Normalized text; for each of its UTF-16 units the original range [start, end), in code points. */
    record Aligned(String text, int[] starts, int[] ends) {
    }

    private static final byte[] BMP_CCC = new byte[65536]; // (65536) combining class of each BMP char
    private static final int[] ASTRAL_FIRST; // (astral ranges) first code point of each range with a non-zero class
    private static final int[] ASTRAL_LAST; // (astral ranges)
    private static final int[] ASTRAL_CCC; // (astral ranges)
    private static final ConcurrentHashMap<Integer, int[]> DECOMPOSITIONS = new ConcurrentHashMap<>();
    private static final ConcurrentHashMap<Long, Integer> COMPOSITIONS = new ConcurrentHashMap<>();

    static {
        IntList first = new IntList(64);
        IntList last = new IntList(64);
        IntList cls = new IntList(64);
        try (InputStream in = Nfc.class.getResourceAsStream("combining-classes.txt")) {
            if (in == null) {
                throw new IllegalStateException("resource combining-classes.txt is missing from the engine jar");
            }
            BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.US_ASCII));
            for (String line; (line = reader.readLine()) != null; ) {
                if (line.isBlank() || line.startsWith("#")) {
                    continue;
                }
                String[] f = line.trim().split(" ");
                int a = Integer.parseInt(f[0], 16);
                int b = Integer.parseInt(f[1], 16);
                int c = Integer.parseInt(f[2]);
                for (int cp = a; cp <= b && cp < 65536; cp++) {
                    BMP_CCC[cp] = (byte) c;
                }
                if (b >= 65536) {
                    first.add(Math.max(a, 65536));
                    last.add(b);
                    cls.add(c);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        ASTRAL_FIRST = first.toArray();
        ASTRAL_LAST = last.toArray();
        ASTRAL_CCC = cls.toArray();
    }

    private Nfc() {
    }

    /** Whether {@code s[from, to)} is already in NFC; true at once for text below U+0300 (none of it composes). */
    static boolean isNormalized(String s, int from, int to) {
        for (int i = from; i < to; i++) {
            if (s.charAt(i) >= 0x300) {
                return Normalizer.isNormalized(s.subSequence(from, to), Normalizer.Form.NFC);
            }
        }
        return true;
    }

    static int combiningClass(int cp) {
        if (cp < 65536) {
            return BMP_CCC[cp] & 0xFF;
        }
        int lo = 0;
        int hi = ASTRAL_FIRST.length - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            if (cp < ASTRAL_FIRST[mid]) {
                hi = mid - 1;
            } else if (cp > ASTRAL_LAST[mid]) {
                lo = mid + 1;
            } else {
                return ASTRAL_CCC[mid];
            }
        }
        return 0;
    }

    /**
     * NFC of {@code s[from, to)} with HF's alignments; {@code origin} is the code point index of {@code s[from]} in
     * the original text, so the alignments are code point offsets into it.
     */
    static Aligned normalize(String s, int from, int to, int origin) {
        // 1. Canonical decomposition. Change 0 marks the first character of each input character's decomposition.
        IntList chars = new IntList(to - from + 8);
        IntList changes = new IntList(to - from + 8);
        for (int i = from; i < to; ) {
            int cp = s.codePointAt(i);
            i += Character.charCount(cp);
            int[] d = decompose(cp);
            for (int k = 0; k < d.length; k++) {
                chars.add(d[k]);
                changes.add(k == 0 ? 0 : 1);
            }
        }
        canonicalOrder(chars, changes);

        // 2. Canonical composition: the crate's Recompositions iterator, with its state spelled out.
        IntList outChars = new IntList(chars.size());
        IntList outChanges = new IntList(chars.size());
        IntList buffer = new IntList(4); // pairs (char, change) of non-starters held back behind the composee
        int composee = -1;
        int composeeChange = 0;
        int lastClass = -1; // -1: none
        for (int i = 0; i < chars.size(); i++) {
            int ch = chars.get(i);
            int change = changes.get(i);
            int chClass = combiningClass(ch);
            if (composee < 0) {
                if (chClass != 0) {
                    outChars.add(ch);
                    outChanges.add(change);
                } else {
                    composee = ch;
                    composeeChange = change;
                }
                continue;
            }
            if (lastClass < 0) {
                int r = compose(composee, ch);
                if (r >= 0) {
                    composee = r;
                    composeeChange = composeeChange + change - 1;
                    continue;
                }
                if (chClass == 0) {
                    outChars.add(composee);
                    outChanges.add(composeeChange);
                    composee = ch;
                    composeeChange = change;
                    continue;
                }
                buffer.add(ch);
                buffer.add(change);
                lastClass = chClass;
                continue;
            }
            if (lastClass >= chClass) {
                // ch is blocked from the composee
                if (chClass == 0) {
                    outChars.add(composee);
                    outChanges.add(composeeChange);
                    flush(buffer, outChars, outChanges);
                    composee = ch;
                    composeeChange = change;
                    lastClass = -1;
                    continue;
                }
                buffer.add(ch);
                buffer.add(change);
                lastClass = chClass;
                continue;
            }
            int r = compose(composee, ch);
            if (r >= 0) {
                composee = r;
                composeeChange = composeeChange + change - 1;
                continue;
            }
            buffer.add(ch);
            buffer.add(change);
            lastClass = chClass;
        }
        if (composee >= 0) {
            outChars.add(composee);
            outChanges.add(composeeChange);
        }
        flush(buffer, outChars, outChanges);

        // 3. Alignments, as NormalizedString::transform assigns them (in code points instead of bytes).
        StringBuilder text = new StringBuilder(outChars.size() + 4);
        IntList starts = new IntList(outChars.size() + 4);
        IntList ends = new IntList(outChars.size() + 4);
        int inputLength = s.codePointCount(from, to);
        int offset = 0; // input characters consumed
        for (int i = 0; i < outChars.size(); i++) {
            int c = outChars.get(i);
            int change = outChanges.get(i);
            int start;
            int end;
            if (change > 0) {
                // inserted: shares the previous input character's alignment ((0, 0) at the very start)
                start = offset < 1 ? origin : origin + Math.min(offset - 1, inputLength - 1);
                end = offset < 1 ? origin : start + 1;
            } else {
                start = origin + Math.min(offset, inputLength - 1);
                end = start + 1;
                offset += 1 - change;
            }
            text.appendCodePoint(c);
            for (int u = Character.charCount(c); u > 0; u--) {
                starts.add(start);
                ends.add(end);
            }
        }
        return new Aligned(text.toString(), starts.toArray(), ends.toArray());
    }

    private static void flush(IntList buffer, IntList outChars, IntList outChanges) {
        for (int b = 0; b < buffer.size(); b += 2) {
            outChars.add(buffer.get(b));
            outChanges.add(buffer.get(b + 1));
        }
        buffer.clear();
    }

    /** Stable sort of every run of non-starters by combining class, carrying the changes along. */
    private static void canonicalOrder(IntList chars, IntList changes) {
        int n = chars.size();
        for (int i = 0; i < n; ) {
            if (combiningClass(chars.get(i)) == 0) {
                i++;
                continue;
            }
            int j = i;
            while (j < n && combiningClass(chars.get(j)) != 0) {
                j++;
            }
            for (int a = i + 1; a < j; a++) { // insertion sort: stable, and runs are short
                int c = chars.get(a);
                int chg = changes.get(a);
                int cls = combiningClass(c);
                int b = a - 1;
                while (b >= i && combiningClass(chars.get(b)) > cls) {
                    chars.set(b + 1, chars.get(b));
                    changes.set(b + 1, changes.get(b));
                    b--;
                }
                chars.set(b + 1, c);
                changes.set(b + 1, chg);
            }
            i = j;
        }
    }

    /** The full canonical decomposition of one code point. */
    private static int[] decompose(int cp) {
        if (cp < 0xC0) {
            return new int[] {cp};
        }
        return DECOMPOSITIONS.computeIfAbsent(cp, c -> Normalizer
                .normalize(new String(Character.toChars(c)), Normalizer.Form.NFD).codePoints().toArray());
    }

    /** The primary composite of {@code a} followed by {@code b}, or -1 when they do not compose. */
    private static int compose(int a, int b) {
        long key = ((long) a << 32) | b;
        return COMPOSITIONS.computeIfAbsent(key, k -> {
            String pair = new StringBuilder(4).appendCodePoint(a).appendCodePoint(b).toString();
            String composed = Normalizer.normalize(pair, Normalizer.Form.NFC);
            return composed.codePointCount(0, composed.length()) == 1 ? composed.codePointAt(0) : -1;
        });
    }
}
