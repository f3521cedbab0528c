package org.moescope.tokenizer;

/**
 * An entry of tokenizer.json's "added_tokens": text matched before pre-tokenization and given a fixed id.
 * {@code normalized} tokens are looked for (in their normalized form) in the normalized text, the others in the raw
 * text; {@code special} tokens are dropped by decoding with skipSpecialTokens.
 */
public record AddedToken(int id, String content, boolean special, boolean normalized) {
}
