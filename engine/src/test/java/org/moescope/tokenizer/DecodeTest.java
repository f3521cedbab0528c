package org.moescope.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.moescope.errors.BadInputException;


import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Lossy UTF-8 decoding and the streaming decoder. */
class DecodeTest {
    @Test
    void illFormedBytesFollowMaximalSubparts() {
        // Expected values: Python's bytes.decode("utf-8", "replace"), which agrees with Rust's from_utf8_lossy.
        assertEquals("\uFFFDA", utf8(0xE2, 0x82, 0x41));
        assertEquals("\uFFFD\uFFFD", utf8(0xF0, 0x80));
        assertEquals("\uFFFD\uFFFD\uFFFD", utf8(0xED, 0xA0, 0x80));
        assertEquals("\uFFFD\uFFFD\uFFFD\uFFFD", utf8(0xF4, 0x90, 0x80, 0x80));
        assertEquals("\uFFFD\uFFFD", utf8(0xC0, 0xAF));
        assertEquals("\uFFFD\uFFFD\uFFFD", utf8(0xE0, 0x80, 0xAF));
        assertEquals("\uFFFD", utf8(0xF0, 0x9F, 0x98));
        assertEquals("\uD83D\uDE00", utf8(0xF0, 0x9F, 0x98, 0x80));
        assertEquals("\uFFFD\uFFFDA", utf8(0xFF, 0xFE, 0x41));
    }

    /** ByteFallback: a run of byte tokens decodes whole, or as one U+FFFD per byte; streaming holds it back. */
    @Test
    void byteFallbackRuns() {
        Tokenizer tok = Fixtures.tokenizer("synthetic-spm");
        int e4 = tok.tokenToId("<0xE4>").orElseThrow();
        int b8 = tok.tokenToId("<0xB8>").orElseThrow();
        int ad = tok.tokenToId("<0xAD>").orElseThrow();
        int a = tok.tokenToId("a").orElseThrow();
        int space = tok.tokenToId("\u2581").orElseThrow();
        int bos = tok.tokenToId("<s>").orElseThrow();
        assertEquals("\u4e2da", tok.decode(new int[] {e4, b8, ad, a}, false)); // 中, then a
        assertEquals("\uFFFD\uFFFDa", tok.decode(new int[] {e4, b8, a}, false)); // invalid run: one U+FFFD per byte
        // Strip removes one leading space of the whole text, which Replace made of the first U+2581.
        assertEquals("a a", tok.decode(new int[] {space, a, space, a}, false));
        assertEquals("<s> a", tok.decode(new int[] {bos, space, a}, false));
        assertEquals("a", tok.decode(new int[] {bos, space, a}, true));
        StreamingDecoder d = tok.streamingDecoder(true);
        assertEquals("", d.next(bos));
        assertEquals("a", d.next(space) + d.next(a));
        assertEquals("", d.next(e4));
        assertEquals("", d.next(b8));
        assertTrue(d.hasPendingBytes());
        assertEquals("", d.next(ad)); // complete, but a longer run could still make it invalid
        assertEquals("\u4e2d a", d.next(space) + d.next(a));
        assertEquals("", d.finish());
        StreamingDecoder e = tok.streamingDecoder(false);
        e.next(e4);
        assertEquals("\uFFFD", e.finish());
    }

    /** Metaspace's decoder drops the replacement in the first token only; no decoder joins tokens with spaces. */
    @Test
    void metaspaceAndNoDecoder() {
        Tokenizer meta = Fixtures.tokenizer("synthetic-metaspace");
        int space = meta.tokenToId("\u2581").orElseThrow();
        int a = meta.tokenToId("a").orElseThrow();
        assertEquals("a a", meta.decode(new int[] {space, a, space, a}, false));
        assertEquals("a a", meta.decode(new int[] {a, space, a}, false));
        assertEquals(" a", meta.decode(new int[] {space, space, a}, false));
        Tokenizer split = Fixtures.tokenizer("synthetic-split");
        int x = split.tokenToId("x").orElseThrow();
        int y = split.tokenToId("y").orElseThrow();
        assertEquals("x y x", split.decode(new int[] {x, y, x}, false));
    }

    @Test
    void streamingOlmoe() {
        Tokenizer tok = Fixtures.olmoe();
        for (JsonNode g : Fixtures.jsonLines("olmoe-golden.jsonl")) {
            GoldenTest.checkStreaming(tok, Fixtures.ints(g.get("ids")), false);
        }
        // An emoji split over two tokens comes out whole, at the second one.
        int[] ids = tok.encodeIds(" \uD83D\uDE00");
        assertEquals(2, ids.length);
        StreamingDecoder d = tok.streamingDecoder(true);
        assertEquals(" ", d.next(ids[0])); // "ĠðŁĺ": the space and three of the emoji's four bytes
        assertTrue(d.hasPendingBytes());
        assertEquals("\uD83D\uDE00", d.next(ids[1]));
        assertEquals("", d.finish());
        assertEquals("", tok.streamingDecoder(true).next(tok.eosTokenId().orElseThrow()));
    }

    @Test
    void unknownIdsAreBadInput() {
        Tokenizer tok = Fixtures.synthetic();
        BadInputException e = assertThrows(BadInputException.class, () -> tok.decode(new int[] {1, 99999}, false));
        assertTrue(e.getMessage().contains("99999"), e.getMessage());
        assertThrows(BadInputException.class, () -> tok.decode(new int[] {-1}, false));
    }

    private static String utf8(int... bytes) {
        Utf8Decoder d = new Utf8Decoder();
        StringBuilder out = new StringBuilder();
        for (int b : bytes) {
            d.accept(b, out);
        }
        d.finish(out);
        return out.toString();
    }
}
