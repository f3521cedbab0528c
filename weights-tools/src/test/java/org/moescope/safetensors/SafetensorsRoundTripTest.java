package org.moescope.safetensors;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.moescope.errors.BadInputException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

class SafetensorsRoundTripTest {
    @TempDir
    Path dir;

    @Test
    void writesAndReadsBackEveryKindOfEntry() {
        Path p = dir.resolve("t.safetensors");
        float[] f = {1.5f, -2f, 3.25f, 0f, Float.NaN, 7f};
        SafetensorsWriter.write(p, Map.of("k", "v"), List.of(
                SafetensorsWriter.floats("a", new long[] {2, 3}, f),
                SafetensorsWriter.ints("b", new long[] {3}, new int[] {1, -2, 3}),
                SafetensorsWriter.longs("c", new long[] {2}, new long[] {1L << 40, -5}),
                SafetensorsWriter.doubles("d", new long[] {1}, new double[] {Math.PI}),
                SafetensorsWriter.floats("empty", new long[] {0, 4}, new float[0])));
        try (SafetensorsFile file = SafetensorsFile.open(p)) {
            assertEquals(Map.of("k", "v"), file.metadata());
            assertEquals(List.of("a", "b", "c", "d", "empty"), file.tensors().stream().map(TensorInfo::name).toList());
            assertArrayEquals(f, file.readFloats("a"));
            assertArrayEquals(new int[] {1, -2, 3}, file.readInts("b"));
            assertArrayEquals(new long[] {1L << 40, -5}, file.readLongs("c"));
            assertEquals(Math.PI, file.readDoubles("d")[0]);
            assertEquals(0, file.readFloats("empty").length);
            assertArrayEquals(new long[] {2, 3}, file.info("a").shape());
        }
    }

    @Test
    void headerIsPaddedToEightBytes() throws IOException {
        Path p = dir.resolve("t.safetensors");
        SafetensorsWriter.write(p, Map.of(), List.of(SafetensorsWriter.floats("x", new long[] {1}, new float[] {1})));
        ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(p)).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(0, b.getLong(0) % 8);
    }

    @Test
    void widensHalfFormats() {
        Path p = dir.resolve("h.safetensors");
        float[] values = {1f, -0.5f, 65504f, 3.140625f};
        short[] bf = new short[values.length];
        short[] h = new short[values.length];
        for (int i = 0; i < values.length; i++) {
            bf[i] = Numbers.floatToBf16(values[i]);
            h[i] = Numbers.floatToF16(values[i]);
        }
        SafetensorsWriter.write(p, null, List.of(
                SafetensorsWriter.raw("bf", DType.BF16, new long[] {4}, java.lang.foreign.MemorySegment.ofArray(bf)),
                SafetensorsWriter.raw("h", DType.F16, new long[] {4}, java.lang.foreign.MemorySegment.ofArray(h))));
        try (SafetensorsFile file = SafetensorsFile.open(p)) {
            assertArrayEquals(new float[] {1f, -0.5f, 65536f, 3.140625f}, file.readFloats("bf"));
            assertArrayEquals(values, file.readFloats("h"));
        }
    }

    @Test
    void bf16RoundsToNearestEven() {
        // 1 + 2^-8 is exactly halfway between two bf16 values: ties go to the even mantissa (1.0).
        assertEquals(1.0f, Numbers.bf16ToFloat(Numbers.floatToBf16(1f + 0x1p-8f)));
        // 1 + 3*2^-8 is halfway between 1+2^-7 (odd) and 1+2^-6 (even).
        assertEquals(1f + 0x1p-6f, Numbers.bf16ToFloat(Numbers.floatToBf16(1f + 3 * 0x1p-8f)));
        assertTrue(Float.isNaN(Numbers.bf16ToFloat(Numbers.floatToBf16(Float.NaN))));
        assertEquals(Float.NEGATIVE_INFINITY, Numbers.bf16ToFloat(Numbers.floatToBf16(Float.NEGATIVE_INFINITY)));
    }

    @Test
    void rejectsOverlapGapAndBadDtypeWithOneLineNamingTheTensor() throws IOException {
        assertBad("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[2,6]}}", 8, "'b' overlaps tensor 'a'");
        assertBad("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "gap of 4 bytes before tensor 'a'");
        assertBad("{\"a\":{\"dtype\":\"F33\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "unknown dtype \"F33\"");
        assertBad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4, "needs 8 bytes");
        assertBad("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                + "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "Duplicate field 'a'");
        assertBad("[" .repeat(100_000), 0, "not valid JSON");
    }

    private void assertBad(String header, int dataBytes, String expected) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h);
        Path p = dir.resolve("bad.safetensors");
        Files.write(p, b.array());
        BadInputException e = assertThrows(BadInputException.class, () -> SafetensorsFile.open(p).close());
        assertTrue(e.getMessage().contains(expected), e.getMessage());
        assertTrue(e.getMessage().startsWith(p.toString()), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), e.getMessage());
    }
}
