package org.moescope.tokenizer;

/**
 * Decodes ids one at a time for streaming generation: {@link #next} returns the text the new id completes. Text
 * is held back while what it decodes to still depends on ids to come: the bytes of an unfinished UTF-8 character
 * (byte-level tokenizers), or a run of byte-fallback tokens {@code <0xNN>} (SentencePiece-style ones; HF decodes
 * the run as a whole, or as one U+FFFD per byte when it is not valid UTF-8). So a character, or a byte-fallback
 * sequence, is never split, and the concatenation of all returned strings and {@link #finish} equals
 * {@link Tokenizer#decode} of the same ids. Not thread-safe.
 */
public final class StreamingDecoder {
    private final Tokenizer tokenizer;
    private final boolean skipSpecialTokens;
    private final StringBuilder pending = new StringBuilder();
    private final TokenDecoder.State state;

    StreamingDecoder(Tokenizer tokenizer, boolean skipSpecialTokens) {
        this.tokenizer = tokenizer;
        this.skipSpecialTokens = skipSpecialTokens;
        this.state = tokenizer.startDecoding(pending);
    }

    /** Feeds one id; returns the newly completed text, possibly empty. */
    public String next(int id) {
        tokenizer.feed(state, id, skipSpecialTokens);
        return take();
    }

    /** Ends the stream: returns what was held back (U+FFFD for an unfinished character), else the empty string. */
    public String finish() {
        state.end();
        return take();
    }

    /** Whether decoded text is held back until more ids come (an unfinished character or byte-fallback run). */
    public boolean hasPendingBytes() {
        return state.holding();
    }

    private String take() {
        String s = pending.toString();
        pending.setLength(0);
        return s;
    }
}
