package org.moescope.safetensors;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import org.moescope.output.AtomicFiles;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Writes safetensors files streaming: the header is computed from the declared entries first, then each entry's
 * payload writes its bytes in turn, so at most one tensor needs to exist in memory. The file appears atomically
 * (written to a temporary sibling, then renamed), so a crash never leaves a half-written file under the final name.
 */
public final class SafetensorsWriter {
    private SafetensorsWriter() {
    }

    /** Writes exactly {@code shape-product x dtype-size} little-endian bytes of one tensor. */
    @FunctionalInterface
    public interface Payload {
        void writeTo(WritableByteChannel out) throws IOException;
    }

    /** A tensor to write. */
    public record Entry(String name, DType dtype, long[] shape, Payload payload) {
        public long byteSize() {
            long n = dtype.byteSize();
            for (long d : shape) n = Math.multiplyExact(n, d);
            return n;
        }
    }

    public static void write(Path out, Map<String, String> metadata, List<Entry> entries) {
        byte[] header = headerBytes(metadata, entries);
        AtomicFiles.write(out, ch -> {
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, header.length);
            writeAll(ch, len);
            writeAll(ch, ByteBuffer.wrap(header));
            for (Entry e : entries) {
                long before = ch.position();
                e.payload().writeTo(ch);
                long written = ch.position() - before;
                if (written != e.byteSize()) {
                    throw new IllegalStateException("tensor '" + e.name() + "' wrote " + written + " bytes, expected "
                            + e.byteSize());
                }
            }
        });
    }

    /** The JSON header, padded with spaces to a multiple of 8 bytes as the reference writer does. */
    public static byte[] headerBytes(Map<String, String> metadata, List<Entry> entries) {
        ObjectNode root = SafetensorsFile.HEADER_JSON.createObjectNode();
        if (metadata != null && !metadata.isEmpty()) {
            ObjectNode meta = root.putObject("__metadata__");
            metadata.forEach(meta::put);
        }
        Set<String> names = new HashSet<>();
        long offset = 0;
        for (Entry e : entries) {
            if (!names.add(e.name()) || e.name().equals("__metadata__")) {
                throw new IllegalArgumentException("duplicate or reserved tensor name: " + e.name());
            }
            ObjectNode t = root.putObject(e.name());
            t.put("dtype", e.dtype().name());
            ArrayNode shape = t.putArray("shape");
            for (long d : e.shape()) shape.add(d);
            ArrayNode offs = t.putArray("data_offsets");
            long end = offset + e.byteSize();
            offs.add(offset).add(end);
            offset = end;
        }
        byte[] json = root.toString().getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 7) / 8 * 8;
        byte[] out = Arrays.copyOf(json, padded);
        Arrays.fill(out, json.length, padded, (byte) ' ');
        return out;
    }

    static void writeAll(WritableByteChannel ch, ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) {
            ch.write(buf);
        }
    }

    public static Entry floats(String name, long[] shape, float[] values) {
        checkCount(name, shape, values.length);
        return new Entry(name, DType.F32, shape, ch -> writeSegment(ch, MemorySegment.ofArray(values)));
    }

    public static Entry doubles(String name, long[] shape, double[] values) {
        checkCount(name, shape, values.length);
        return new Entry(name, DType.F64, shape, ch -> writeSegment(ch, MemorySegment.ofArray(values)));
    }

    public static Entry ints(String name, long[] shape, int[] values) {
        checkCount(name, shape, values.length);
        return new Entry(name, DType.I32, shape, ch -> writeSegment(ch, MemorySegment.ofArray(values)));
    }

    public static Entry longs(String name, long[] shape, long[] values) {
        checkCount(name, shape, values.length);
        return new Entry(name, DType.I64, shape, ch -> writeSegment(ch, MemorySegment.ofArray(values)));
    }

    /** Raw bytes already in the file's layout (e.g. a tensor copied from another safetensors file). */
    public static Entry raw(String name, DType dtype, long[] shape, MemorySegment bytes) {
        return new Entry(name, dtype, shape, ch -> writeSegment(ch, bytes));
    }

    private static void checkCount(String name, long[] shape, long count) {
        long n = 1;
        for (long d : shape) n *= d;
        if (n != count) {
            throw new IllegalArgumentException("tensor '" + name + "': shape " + Arrays.toString(shape) + " needs " + n
                    + " values, got " + count);
        }
    }

    /** Writes a segment in chunks; Java arrays are little-endian on every platform we run on, as the format needs. */
    static void writeSegment(WritableByteChannel ch, MemorySegment seg) throws IOException {
        if (ByteOrder.nativeOrder() != ByteOrder.LITTLE_ENDIAN) {
            throw new UnsupportedOperationException("safetensors writing needs a little-endian platform");
        }
        final long chunk = 1 << 20;
        ByteBuffer buf = ByteBuffer.allocateDirect((int) Math.min(chunk, Math.max(1, seg.byteSize())));
        MemorySegment bufSeg = MemorySegment.ofBuffer(buf);
        for (long pos = 0; pos < seg.byteSize(); pos += chunk) {
            long n = Math.min(chunk, seg.byteSize() - pos);
            MemorySegment.copy(seg, pos, bufSeg, 0, n);
            buf.clear().limit((int) n);
            writeAll(ch, buf);
        }
    }

}
