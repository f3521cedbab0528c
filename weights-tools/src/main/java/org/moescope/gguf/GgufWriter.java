package org.moescope.gguf;

import org.moescope.output.AtomicFiles;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes a GGUF v3 file atomically: the header, metadata and tensor infos first (every tensor's size is known from
 * its type and shape), then each tensor's bytes, streamed by its {@link Body} straight to the file, at offsets aligned
 * to {@code general.alignment} (32). What is held in memory is up to the bodies: the converters hold a few rows.
 */
public final class GgufWriter {
    /** Writes a tensor's bytes to the channel: exactly its size in ggml's layout for its type, in order. */
    @FunctionalInterface
    public interface Body {
        void writeTo(WritableByteChannel ch) throws IOException;

        /** A body of bytes already in memory (small tensors, tests). */
        static Body of(byte[] bytes) {
            return ch -> writeAll(ch, ByteBuffer.wrap(bytes));
        }
    }

    private record Entry(String name, GgmlType type, long[] ne, long byteSize, Body body) {
    }

    private final Map<String, GgufValue> metadata = new LinkedHashMap<>();
    private final List<Entry> tensors = new ArrayList<>();

    public GgufWriter put(String key, GgufValue value) {
        metadata.put(key, value);
        return this;
    }

    /** Adds a tensor of PyTorch shape {@code shape} (written as ggml's ne, reversed). */
    public GgufWriter tensor(String name, GgmlType type, long[] shape, Body body) {
        long[] ne = new long[shape.length];
        long n = 1;
        for (int i = 0; i < shape.length; i++) {
            ne[i] = shape[shape.length - 1 - i];
            n *= shape[i];
        }
        if (ne[0] % type.blockSize() != 0) {
            throw new IllegalArgumentException(name + ": " + ne[0] + " columns are not a multiple of " + type
                    + "'s block of " + type.blockSize());
        }
        tensors.add(new Entry(name, type, ne, n / type.blockSize() * type.typeSize(), body));
        return this;
    }

    public void write(Path target) {
        AtomicFiles.write(target, this::writeTo);
    }

    private void writeTo(FileChannel ch) throws IOException {
        Out h = new Out();
        h.i32(GgufFile.MAGIC);
        h.i32(3);
        h.i64(tensors.size());
        h.i64(metadata.size());
        for (Map.Entry<String, GgufValue> e : metadata.entrySet()) {
            h.string(e.getKey());
            h.i32(e.getValue().type().ordinal());
            h.value(e.getValue().type(), e.getValue().elementType(), e.getValue().value());
        }
        GgufValue a = metadata.get("general.alignment");
        int align = a == null ? GgufFile.DEFAULT_ALIGNMENT : ((Long) a.value()).intValue();
        long offset = 0;
        for (Entry t : tensors) {
            h.string(t.name);
            h.i32(t.ne.length);
            for (long d : t.ne) h.i64(d);
            h.i32(t.type.id());
            h.i64(offset);
            offset = pad(offset + t.byteSize, align);
        }
        byte[] header = h.toByteArray();
        writeAll(ch, ByteBuffer.wrap(header));
        writeAll(ch, ByteBuffer.allocate((int) (pad(header.length, align) - header.length)));
        for (Entry t : tensors) {
            long before = ch.position();
            t.body.writeTo(ch);
            long written = ch.position() - before;
            if (written != t.byteSize) {
                throw new IllegalStateException(t.name + ": " + written + " bytes, expected " + t.byteSize);
            }
            writeAll(ch, ByteBuffer.allocate((int) (pad(t.byteSize, align) - t.byteSize)));
        }
    }

    private static long pad(long n, int align) {
        return (n + align - 1) / align * align;
    }

    static void writeAll(WritableByteChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) ch.write(b);
    }

    /** Little-endian header bytes. */
    private static final class Out extends ByteArrayOutputStream {
        private final ByteBuffer scratch = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);

        void i32(int v) {
            write(scratch.clear().putInt(v).array(), 0, 4);
        }

        void i64(long v) {
            write(scratch.clear().putLong(v).array(), 0, 8);
        }

        void string(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            i64(b.length);
            write(b, 0, b.length);
        }

        void value(GgufValue.Type type, GgufValue.Type element, Object v) {
            switch (type) {
                case UINT8, INT8, BOOL -> write(v instanceof Boolean b ? (b ? 1 : 0) : ((Long) v).intValue());
                case UINT16, INT16 -> write(scratch.clear().putShort(((Long) v).shortValue()).array(), 0, 2);
                case UINT32, INT32 -> i32(((Long) v).intValue());
                case UINT64, INT64 -> i64((Long) v);
                case FLOAT32 -> i32(Float.floatToRawIntBits((Float) v));
                case FLOAT64 -> i64(Double.doubleToRawLongBits((Double) v));
                case STRING -> string((String) v);
                case ARRAY -> {
                    List<?> items = (List<?>) v;
                    i32(element.ordinal());
                    i64(items.size());
                    for (Object item : items) {
                        if (item instanceof GgufValue g) {
                            value(g.type(), g.elementType(), g.value());
                        } else {
                            value(element, null, item);
                        }
                    }
                }
            }
        }
    }
}
