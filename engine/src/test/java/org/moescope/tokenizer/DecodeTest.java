package org.moescope.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;
import org.moescope.errors.BadInputException;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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

    @Test
    void streamingEqualsDecodeAndNeverBreaksCharacters() {
        Tokenizer tok = Fixtures.synthetic();
        Random random = new Random(5);
        for (JsonNode g : Fixtures.jsonLines("synthetic-golden.jsonl")) {
            checkStreaming(tok, Fixtures.ints(g.get("ids")), random.nextBoolean());
        }
        for (JsonNode g : Fixtures.jsonLines("synthetic-decode-golden.jsonl")) {
            checkStreaming(tok, Fixtures.ints(g.get("ids")), g.get("skip_special").asBoolean());
        }
    }

    @Test
    void streamingOlmoe() {
        Tokenizer tok = Fixtures.olmoe();
        for (JsonNode g : Fixtures.jsonLines("olmoe-golden.jsonl")) {
            checkStreaming(tok, Fixtures.ints(g.get("ids")), false);
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

    private static void checkStreaming(Tokenizer tok, int[] ids, boolean skip) {
        StreamingDecoder d = tok.streamingDecoder(skip);
        StringBuilder all = new StringBuilder();
        for (int id : ids) {
            String chunk = d.next(id);
            assertFalse(!chunk.isEmpty() && Character.isHighSurrogate(chunk.charAt(chunk.length() - 1)));
            all.append(chunk);
        }
        all.append(d.finish());
        assertEquals(tok.decode(ids, skip), all.toString());
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
