package org.moescope.tokenizer;

import java.util.List;

/**
 * The result of {@link Tokenizer#encode}: token ids, their token strings (as the vocabulary writes them, e.g.
 * "Ġthe", "▁the", "<0x0A>"; added tokens as matched) and their offsets into the original text. Offsets count code
 * points, not UTF-16 units, exactly as HF tokenizers' Python API reports them: token {@code i} covers code points
 * {@code [starts[i], ends[i])} of the text given to encode (use {@link String#offsetByCodePoints} to get UTF-16
 * indices). Tokens that hold only part of a character's bytes cover that whole character; a character NFC
 * merged away is covered by the token of the character it merged into only when it came first (HF's alignment
 * rule, see Nfc).
 */
public record Encoding(int[] ids, List<String> tokens, int[] starts, int[] ends) {
    public int size() {
        return ids.length;
    }
}
