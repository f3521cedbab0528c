package org.moescope.serve;

import org.moescope.tokenizer.StreamingDecoder;

import java.util.List;

/**
 * The text of a completion as its tokens arrive, with OpenAI's stop sequences: the text of a token is released as soon
 * as it cannot be the start of a stop sequence; when a stop sequence appears, the text ends before it.
 */
final class TextStream {
    private final StreamingDecoder decoder;
    private final List<String> stops;
    private final StringBuilder text = new StringBuilder();
    private int sent;
    private boolean stopped;

    TextStream(StreamingDecoder decoder, List<String> stops) {
        this.decoder = decoder;
        this.stops = stops;
    }

    /** The text that the token makes visible (often empty while a UTF-8 character or a possible stop is open). */
    String add(int id) {
        if (stopped) return "";
        text.append(decoder.next(id));
        return release(false);
    }

    /** The text still held back when the sequence ends for another reason. */
    String finish() {
        if (stopped) return "";
        text.append(decoder.finish());
        return release(true);
    }

    /** Whether a stop sequence ended the text. */
    boolean stopped() {
        return stopped;
    }

    String text() {
        return text.substring(0, sent);
    }

    private String release(boolean all) {
        int cut = -1;
        for (String stop : stops) {
            int at = text.indexOf(stop, sent);
            if (at >= 0 && (cut < 0 || at < cut)) cut = at;
        }
        int upTo;
        if (cut >= 0) {
            stopped = true;
            text.setLength(cut);
            upTo = cut;
        } else if (all) {
            upTo = text.length();
        } else {
            int hold = 0;
            for (String stop : stops) {
                for (int k = Math.min(stop.length() - 1, text.length() - sent); k > hold; k--) {
                    if (text.substring(text.length() - k).equals(stop.substring(0, k))) {
                        hold = k;
                        break;
                    }
                }
            }
            upTo = text.length() - hold;
        }
        String out = text.substring(sent, upTo);
        sent = upTo;
        return out;
    }
}
