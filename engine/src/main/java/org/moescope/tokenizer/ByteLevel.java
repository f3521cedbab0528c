package org.moescope.tokenizer;

/**
 * GPT-2's byte ↔ unicode table: every byte gets a printable character so that a byte-level vocabulary can be stored
 * as ordinary strings. Printable Latin-1 bytes map to themselves; the other 68 bytes (controls, space, 0x7F..0xA0,
 * 0xAD) map to U+0100.. in byte order, which is why a space shows up as "Ġ" (U+0120) in token strings.
 */
final class ByteLevel {
    /** The character standing for each byte. */
    private static final char[] BYTE_TO_CHAR = new char[256]; // (256)
    /** The byte each table character stands for, -1 for characters outside the table. */
    private static final short[] CHAR_TO_BYTE = new short[256 + 68]; // (max table char + 1)

    static {
        java.util.Arrays.fill(CHAR_TO_BYTE, (short) -1);
        int extra = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            char c = printable ? (char) b : (char) (256 + extra++);
            BYTE_TO_CHAR[b] = c;
            CHAR_TO_BYTE[c] = (short) b;
        }
    }

    private ByteLevel() {
    }

    static char charOf(int b) {
        return BYTE_TO_CHAR[b & 0xFF];
    }

    /** The byte that {@code c} stands for, or -1 when {@code c} is not in the table. */
    static int byteOf(int c) {
        return c >= 0 && c < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[c] : -1;
    }

    /** The token string of a byte sequence: one table character per byte. */
    static String encode(byte[] bytes) {
        char[] out = new char[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            out[i] = BYTE_TO_CHAR[bytes[i] & 0xFF];
        }
        return new String(out);
    }

    /**
     * The bytes a token string stands for, as HF's ByteLevel decoder computes them: the table's bytes when every
     * character is in the table, otherwise the token's own UTF-8 bytes (that is how added tokens such as a run of
     * real spaces decode).
     */
    static byte[] decode(String token) {
        byte[] out = new byte[token.length()];
        for (int i = 0; i < token.length(); i++) {
            int b = byteOf(token.charAt(i));
            if (b < 0) {
                return token.getBytes(java.nio.charset.StandardCharsets.UTF_8);
            }
            out[i] = (byte) b;
        }
        return out;
    }
}
