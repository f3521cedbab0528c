package org.moescope.tokenizer;

/**
 * Decodes ids one at a time for streaming generation: {@link #next} returns the text the new id completes, never
 * a broken UTF-8 sequence (bytes of an unfinished character wait for the next ids). The concatenation of all
 * returned strings and {@link #finish} equals {@link Tokenizer#decode} of the same ids. Not thread-safe.
 */
public final class StreamingDecoder {
    private final Tokenizer tokenizer;
    private final boolean skipSpecialTokens;
    private final Utf8Decoder utf8 = new Utf8Decoder();
    private final StringBuilder pending = new StringBuilder();

    StreamingDecoder(Tokenizer tokenizer, boolean skipSpecialTokens) {
        this.tokenizer = tokenizer;
        this.skipSpecialTokens = skipSpecialTokens;
    }

    /** Feeds one id; returns the newly completed text, possibly empty. */
    public String next(int id) {
        tokenizer.appendBytes(id, skipSpecialTokens, utf8, pending);
        return take();
    }

    /** Ends the stream: returns U+FFFD if a character was left unfinished, else the empty string. */
    public String finish() {
        utf8.finish(pending);
        return take();
    }

    /** Whether bytes of an unfinished character are waiting for more ids. */
    public boolean hasPendingBytes() {
        return utf8.isPending();
    }

    private String take() {
        String s = pending.toString();
        pending.setLength(0);
        return s;
    }
}
