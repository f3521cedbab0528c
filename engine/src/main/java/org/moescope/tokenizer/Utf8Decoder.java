package org.moescope.tokenizer;

/**
 * Incremental, lossy UTF-8 decoding: bytes go in one at a time, text comes out as soon as a character is
 * complete. An ill-formed sequence becomes one U+FFFD per maximal subpart (the Unicode recommendation that
 * Rust's {@code String::from_utf8_lossy}, and so HF's ByteLevel decoder, follows), and a sequence still
 * incomplete when the input ends becomes one U+FFFD. Because the state machine is the same whether the bytes
 * arrive at once or one token at a time, streamed text equals decoded text.
 */
final class Utf8Decoder {
    private int needed; // continuation bytes still expected
    private int codePoint; // bits gathered so far
    private int lower = 0x80; // allowed range of the next continuation byte (narrower after E0, ED, F0, F4)
    private int upper = 0xBF;

    /** Feeds one byte, appending any character it completes (or U+FFFD for what it proves ill-formed) to out. */
    void accept(int b, StringBuilder out) {
        b &= 0xFF;
        if (needed > 0) {
            if (b >= lower && b <= upper) {
                codePoint = (codePoint << 6) | (b & 0x3F);
                lower = 0x80;
                upper = 0xBF;
                if (--needed == 0) {
                    out.appendCodePoint(codePoint);
                }
                return;
            }
            // The pending sequence is a maximal subpart: replace it, then read b afresh.
            out.append('\uFFFD');
            needed = 0;
            lower = 0x80;
            upper = 0xBF;
        }
        if (b < 0x80) {
            out.append((char) b);
        } else if (b >= 0xC2 && b <= 0xDF) {
            start(b & 0x1F, 1, 0x80, 0xBF);
        } else if (b >= 0xE0 && b <= 0xEF) {
            start(b & 0x0F, 2, b == 0xE0 ? 0xA0 : 0x80, b == 0xED ? 0x9F : 0xBF);
        } else if (b >= 0xF0 && b <= 0xF4) {
            start(b & 0x07, 3, b == 0xF0 ? 0x90 : 0x80, b == 0xF4 ? 0x8F : 0xBF);
        } else {
            out.append('\uFFFD'); // 0x80..0xC1, 0xF5..0xFF never start a character
        }
    }

    private void start(int bits, int continuation, int lo, int hi) {
        codePoint = bits;
        needed = continuation;
        lower = lo;
        upper = hi;
    }

    /** Ends the input: an incomplete sequence becomes U+FFFD. */
    void finish(StringBuilder out) {
        if (needed > 0) {
            out.append('\uFFFD');
            needed = 0;
            lower = 0x80;
            upper = 0xBF;
        }
    }

    /** Whether a character has been started but not completed. */
    boolean isPending() {
        return needed > 0;
    }
}
