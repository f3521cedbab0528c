package org.moescope.gguf;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.moescope.errors.BadInputException;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GgufFileTest {
    @TempDir
    Path tmp;

    @Test
    void writerAndReaderAgreeOnEveryValueTypeAndTheTensors() throws IOException {
        Path f = tmp.resolve("all.gguf");
        new GgufWriter()
                .put("general.architecture", GgufValue.of("olmoe"))
                .put("general.alignment", GgufValue.u32(64))
                .put("u8", new GgufValue(GgufValue.Type.UINT8, null, 255L))
                .put("i8", new GgufValue(GgufValue.Type.INT8, null, -3L))
                .put("u16", new GgufValue(GgufValue.Type.UINT16, null, 65535L))
                .put("i16", new GgufValue(GgufValue.Type.INT16, null, -300L))
                .put("i32", new GgufValue(GgufValue.Type.INT32, null, -70000L))
                .put("u64", new GgufValue(GgufValue.Type.UINT64, null, 1L << 40))
                .put("i64", new GgufValue(GgufValue.Type.INT64, null, -(1L << 40)))
                .put("f32", GgufValue.f32(0.5f))
                .put("f64", new GgufValue(GgufValue.Type.FLOAT64, null, 1e-300))
                .put("b", GgufValue.bool(true))
                .put("tokens", GgufValue.array(GgufValue.Type.STRING, List.of("a", "ß", "")))
                .put("scores", GgufValue.array(GgufValue.Type.FLOAT32, List.of(1f, -2f)))
                .put("nested", GgufValue.array(GgufValue.Type.ARRAY,
                        List.of(GgufValue.array(GgufValue.Type.INT32, List.of(1L, 2L)))))
                .tensor("a", GgmlType.F32, new long[] {2, 3}, GgufWriter.Body.of(new byte[24]))
                .tensor("q", GgmlType.Q8_0, new long[] {2, 64}, GgufWriter.Body.of(new byte[4 * 34]))
                .write(f);
        assertTrue(GgufFile.hasMagic(f));
        try (GgufFile g = GgufFile.open(f)) {
            assertEquals(3, g.version());
            assertEquals(64, g.alignment());
            assertEquals("olmoe", g.string("general.architecture"));
            assertEquals(255, g.count("u8"));
            assertEquals(-3L, g.metadata().get("i8").value());
            assertEquals(65535, g.count("u16"));
            assertEquals(-300L, g.metadata().get("i16").value());
            assertEquals(-70000L, g.metadata().get("i32").value());
            assertEquals(1L << 40, g.count("u64"));
            assertEquals(-(1L << 40), g.metadata().get("i64").value());
            assertEquals(0.5, g.number("f32"));
            assertEquals(1e-300, g.number("f64"));
            assertTrue(g.bool("b"));
            assertEquals(List.of("a", "ß", ""), g.strings("tokens"));
            assertEquals(List.of(1f, -2f), g.array("scores", GgufValue.Type.FLOAT32));
            GgufValue inner = (GgufValue) g.array("nested", GgufValue.Type.ARRAY).get(0);
            assertEquals(List.of(1L, 2L), inner.value());
            GgufTensor a = g.tensor("a");
            assertEquals(List.of(3L, 2L), List.of(a.ne()[0], a.ne()[1]));
            assertEquals(24, g.segment("a").byteSize());
            GgufTensor q = g.tensor("q");
            assertEquals(GgmlType.Q8_0, q.type());
            assertEquals(0, q.offset() % 64);
            assertEquals(136, g.segment("q").byteSize());
            BadInputException e = assertThrows(BadInputException.class, () -> g.string("u8"));
            assertTrue(e.getMessage().contains("'u8' is UINT8, expected STRING"), e.getMessage());
            e = assertThrows(BadInputException.class, () -> g.count("missing"));
            assertTrue(e.getMessage().contains("missing metadata 'missing'"), e.getMessage());
        }
    }

    // ---- hostile files, built byte by byte ----

    /** A little-endian byte builder for hand-made headers. */
    static final class Bytes {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Bytes i32(long v) {
            out.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt((int) v).array());
            return this;
        }

        Bytes i64(long v) {
            out.writeBytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array());
            return this;
        }

        Bytes str(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            i64(b.length);
            out.writeBytes(b);
            return this;
        }

        Bytes raw(int... bytes) {
            for (int b : bytes) out.write(b);
            return this;
        }

        Bytes padTo(int align) {
            while (out.size() % align != 0) out.write(0);
            return this;
        }

        byte[] bytes() {
            return out.toByteArray();
        }
    }

    /** GGUF v3 with one u32 key and tensors described by {@code tensors}, then {@code dataBytes} of data. */
    static byte[] file(long tensorCount, long kvCount, Consumer<Bytes> kvs, Consumer<Bytes> tensors, int dataBytes) {
        Bytes b = new Bytes().i32(GgufFile.MAGIC).i32(3).i64(tensorCount).i64(kvCount);
        kvs.accept(b);
        tensors.accept(b);
        b.padTo(32);
        b.out.writeBytes(new byte[dataBytes]);
        return b.bytes();
    }

    static void f32Tensor(Bytes b, String name, long cols, long offset) {
        b.str(name).i32(1).i64(cols).i32(0).i64(offset);
    }

    private String rejected(byte[] bytes) throws IOException {
        Path f = tmp.resolve("hostile.gguf");
        Files.write(f, bytes);
        BadInputException e = assertThrows(BadInputException.class, () -> GgufFile.open(f).close());
        assertTrue(e.getMessage().startsWith(f.toString()), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
        return e.getMessage();
    }

    private static void assertContains(String message, String part) {
        assertTrue(message.contains(part), message);
    }

    @Test
    void aValidHandMadeFileOpens() throws IOException {
        byte[] ok = file(2, 1, b -> b.str("k").i32(4).i32(7),
                b -> { f32Tensor(b, "x", 4, 0); f32Tensor(b, "y", 2, 32); }, 64);
        Path f = tmp.resolve("ok.gguf");
        Files.write(f, ok);
        try (GgufFile g = GgufFile.open(f)) {
            assertEquals(7, g.count("k"));
            assertEquals(2, g.tensors().size());
            assertEquals(0f, g.segment("y").get(ValueLayout.JAVA_FLOAT_UNALIGNED, 4));
        }
    }

    @Test
    void everyTruncationIsOneLine() throws IOException {
        byte[] ok = file(1, 2, b -> b.str("general.name").i32(8).str("tiny").str("a").i32(9).i32(6).i64(2).i32(1).i32(2),
                b -> f32Tensor(b, "x", 4, 0), 16);
        for (int n = 0; n < ok.length; n++) {
            rejected(java.util.Arrays.copyOf(ok, n));
        }
    }

    @Test
    void badMagicVersionAndCounts() throws IOException {
        byte[] ok = file(0, 0, b -> { }, b -> { }, 0);
        byte[] magic = ok.clone();
        magic[0] = 'X';
        assertContains(rejected(magic), "not a GGUF file");
        byte[] v1 = ok.clone();
        v1[4] = 1;
        assertContains(rejected(v1), "GGUF version 1");
        assertContains(rejected(file(Long.MAX_VALUE, 0, b -> { }, b -> { }, 0)), "tensor_count");
        assertContains(rejected(file(-1, 0, b -> { }, b -> { }, 0)), "tensor_count = 18446744073709551615");
        assertContains(rejected(file(0, 1L << 40, b -> { }, b -> { }, 0)), "metadata_kv_count");
    }

    @Test
    void hugeStringsAndArraysFailBeforeAllocating() throws IOException {
        assertContains(rejected(file(0, 1, b -> b.i64(1L << 40), b -> { }, 64)), "metadata key 0 length");
        assertContains(rejected(file(0, 1, b -> b.str("k").i32(8).i64(Long.MAX_VALUE), b -> { }, 64)),
                "over 64 MiB");
        assertContains(rejected(file(0, 1, b -> b.str("k").i32(9).i32(8).i64(1L << 50), b -> { }, 64)),
                "metadata 'k' array length");
        assertContains(rejected(file(0, 1, b -> b.str("k").i32(9).i32(9).i64(1).i32(9).i64(1).i32(9).i64(1)
                .i32(9).i64(1).i32(9).i64(1).i32(4).i64(0), b -> { }, 64)), "nests arrays deeper");
    }

    @Test
    void badMetadata() throws IOException {
        assertContains(rejected(file(0, 1, b -> b.str("k").i32(13).i32(0), b -> { }, 0)), "13 is not a GGUF value type");
        assertContains(rejected(file(0, 2, b -> b.str("k").i32(4).i32(1).str("k").i32(4).i32(2), b -> { }, 0)),
                "'k' appears twice");
        assertContains(rejected(file(0, 1, b -> b.str("k").i32(7).raw(2), b -> { }, 0)), "bool of value 2");
        assertContains(rejected(file(0, 1, b -> b.str("k").i32(8).i64(2).raw(0xC3, 0x28), b -> { }, 0)),
                "not valid UTF-8");
        assertContains(rejected(file(0, 1, b -> b.str("general.alignment").i32(4).i32(48), b -> { }, 0)),
                "not a power of two");
        assertContains(rejected(file(0, 1, b -> b.str("general.alignment").i32(5).i32(32), b -> { }, 0)),
                "'general.alignment' has type INT32");
    }

    @Test
    void badTensorInfos() throws IOException {
        assertContains(rejected(file(1, 0, b -> { }, b -> b.str("x").i32(5).i64(1).i64(1).i64(1).i64(1).i64(1).i32(0).i64(0),
                64)), "n_dims 5");
        assertContains(rejected(file(1, 0, b -> { }, b -> b.str("x").i32(1).i64(0).i32(0).i64(0), 64)),
                "ne[0] = 0");
        assertContains(rejected(file(1, 0, b -> { }, b -> b.str("x").i32(2).i64(1L << 20).i64(1L << 20).i32(0).i64(0),
                64)), "runs past the end of the data section");
        assertContains(rejected(file(1, 0, b -> { }, b -> b.str("x").i32(3).i64(1L << 40).i64(1L << 40).i64(1L << 40)
                .i32(0).i64(0), 64)), "overflows");
        assertContains(rejected(file(1, 0, b -> { }, b -> b.str("x").i32(1).i64(32).i32(5).i64(0), 64)),
                "unknown ggml type 5");
        assertContains(rejected(file(1, 0, b -> { }, b -> b.str("x").i32(1).i64(31).i32(8).i64(0), 64)),
                "not a multiple of Q8_0's block of 32");
        assertContains(rejected(file(1, 0, b -> { }, b -> f32Tensor(b, "x", 4, 8), 64)), "not a multiple of the alignment");
        assertContains(rejected(file(1, 0, b -> { }, b -> f32Tensor(b, "x", 4, 64), 64)), "runs past the end");
        assertContains(rejected(file(1, 0, b -> { }, b -> f32Tensor(b, "x", 4, -32), 64)), "offset");
        assertContains(rejected(file(2, 0, b -> { }, b -> { f32Tensor(b, "x", 16, 0); f32Tensor(b, "y", 4, 32); }, 128)),
                "overlaps tensor 'x'");
        assertContains(rejected(file(2, 0, b -> { }, b -> { f32Tensor(b, "x", 4, 0); f32Tensor(b, "x", 4, 32); }, 128)),
                "name appears twice");
    }
}
