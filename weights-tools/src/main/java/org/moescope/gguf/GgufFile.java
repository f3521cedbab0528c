package org.moescope.gguf;

import org.moescope.errors.BadInputException;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A strictly validated, memory-mapped GGUF file (versions 2 and 3, little-endian; the layout of ggml's
 * docs/gguf.md): magic "GGUF", version, tensor count, metadata count, the metadata key/values, the tensor infos, then
 * the data section at the next multiple of {@code general.alignment} (32 by default), each tensor at an aligned offset
 * inside it.
 *
 * <p>As {@code SafetensorsFile}: the file is mapped once and tensors are slices of the mapping; every count and length
 * is checked against the bytes that remain before anything is allocated for it, every tensor's bytes lie inside the
 * data section and overlap no other tensor's, and any violation is one {@link BadInputException} line naming the file
 * and the field. Unlike safetensors, GGUF pads between tensors, so gaps of padding are allowed.
 */
public final class GgufFile implements AutoCloseable {
    public static final int MAGIC = 0x46554747; // "GGUF" read as a little-endian u32
    public static final int DEFAULT_ALIGNMENT = 32;
    /** Longest string we accept (a key, a token, a chat template): 64 MiB. */
    static final long MAX_STRING = 64L << 20;
    /** Deepest nesting of arrays (ggml itself writes none nested). */
    static final int MAX_ARRAY_DEPTH = 4;
    /** Largest tensor rank ggml has. */
    static final int MAX_DIMS = 4;

    private final Path path;
    private final Arena arena;
    private final int version;
    private final Map<String, GgufValue> metadata;
    private final Map<String, GgufTensor> tensors;
    private final int alignment;
    private final MemorySegment data;

    private GgufFile(Path path, Arena arena, int version, Map<String, GgufValue> metadata,
                     Map<String, GgufTensor> tensors, int alignment, MemorySegment data) {
        this.path = path;
        this.arena = arena;
        this.version = version;
        this.metadata = metadata;
        this.tensors = tensors;
        this.alignment = alignment;
        this.data = data;
    }

    /** Whether {@code file} begins with the GGUF magic (a cheap test for "is this a GGUF file"). */
    public static boolean hasMagic(Path file) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer b = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
            while (b.hasRemaining() && ch.read(b) >= 0) {
                // read until 4 bytes or EOF
            }
            return !b.hasRemaining() && b.getInt(0) == MAGIC;
        } catch (IOException e) {
            return false;
        }
    }

    /** Maps and validates {@code file}. */
    public static GgufFile open(Path file) {
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < 24) {
                throw new BadInputException(file + ": not a GGUF file (" + size + " bytes, a header needs 24)");
            }
            MemorySegment all = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            return parse(file, arena, all);
        } catch (NoSuchFileException e) {
            arena.close();
            throw new BadInputException(file + ": no such file");
        } catch (IOException e) {
            arena.close();
            throw new BadInputException(file + ": cannot read: " + e.getMessage());
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    private static GgufFile parse(Path file, Arena arena, MemorySegment all) {
        Cursor in = new Cursor(file, all);
        int magic = in.i32("magic");
        if (magic != MAGIC) {
            throw new BadInputException(file + ": not a GGUF file (magic 0x" + Integer.toHexString(magic)
                    + ", expected \"GGUF\")");
        }
        int version = in.i32("version");
        if (version != 2 && version != 3) {
            throw new BadInputException(file + ": GGUF version " + Integer.toUnsignedString(version)
                    + " (supported: 2 and 3)");
        }
        long tensorCount = in.count("tensor_count", 8 + 4 + 8 + 4 + 8); // name length, dims, one ne, type, offset
        long kvCount = in.count("metadata_kv_count", 8 + 4 + 1);       // key length, type, smallest value
        Map<String, GgufValue> metadata = new LinkedHashMap<>();
        for (long i = 0; i < kvCount; i++) {
            String key = in.string("metadata key " + i);
            if (key.isEmpty()) {
                throw new BadInputException(file + ": metadata key " + i + " is empty");
            }
            GgufValue.Type type = in.type("metadata '" + key + "' type");
            GgufValue v = in.value(type, "metadata '" + key + "'", 0);
            if (metadata.put(key, v) != null) {
                throw new BadInputException(file + ": metadata key '" + key + "' appears twice");
            }
        }
        int alignment = DEFAULT_ALIGNMENT;
        GgufValue a = metadata.get("general.alignment");
        if (a != null) {
            if (a.type() != GgufValue.Type.UINT32) {
                throw new BadInputException(file + ": metadata 'general.alignment' has type " + a.type()
                        + ", expected UINT32");
            }
            long al = (Long) a.value();
            if (al <= 0 || (al & (al - 1)) != 0 || al > (1 << 20)) {
                throw new BadInputException(file + ": metadata 'general.alignment' = " + al
                        + " is not a power of two up to 1 MiB");
            }
            alignment = (int) al;
        }
        List<GgufTensor> infos = new ArrayList<>();
        Map<String, GgufTensor> byName = new LinkedHashMap<>();
        for (long i = 0; i < tensorCount; i++) {
            String name = in.string("tensor " + i + " name");
            String where = file + ": tensor '" + name + "'";
            long dims = Integer.toUnsignedLong(in.i32("tensor '" + name + "' n_dims"));
            if (dims < 1 || dims > MAX_DIMS) {
                throw new BadInputException(where + ": n_dims " + dims + " outside [1, " + MAX_DIMS + "]");
            }
            long[] ne = new long[(int) dims];
            long elements = 1;
            for (int d = 0; d < dims; d++) {
                ne[d] = in.i64("tensor '" + name + "' ne[" + d + "]");
                if (ne[d] < 1) {
                    throw new BadInputException(where + ": ne[" + d + "] = " + Long.toUnsignedString(ne[d])
                            + " is not a positive size");
                }
                try {
                    elements = Math.multiplyExact(elements, ne[d]);
                } catch (ArithmeticException e) {
                    throw new BadInputException(where + ": element count overflows");
                }
            }
            long typeId = Integer.toUnsignedLong(in.i32("tensor '" + name + "' type"));
            GgmlType type = GgmlType.byId(typeId);
            if (type == null) {
                throw new BadInputException(where + ": unknown ggml type " + typeId);
            }
            if (ne[0] % type.blockSize() != 0) {
                throw new BadInputException(where + ": ne[0] = " + ne[0] + " is not a multiple of " + type
                        + "'s block of " + type.blockSize());
            }
            long offset = in.i64("tensor '" + name + "' offset");
            if (offset < 0 || offset % alignment != 0) {
                throw new BadInputException(where + ": offset " + Long.toUnsignedString(offset)
                        + " is not a multiple of the alignment " + alignment);
            }
            long bytes;
            try {
                bytes = Math.multiplyExact(elements / type.blockSize(), (long) type.typeSize());
            } catch (ArithmeticException e) {
                throw new BadInputException(where + ": byte size overflows");
            }
            GgufTensor t = new GgufTensor(name, type, ne, offset, bytes);
            if (byName.put(name, t) != null) {
                throw new BadInputException(where + ": name appears twice");
            }
            infos.add(t);
        }
        long dataStart = (in.pos + alignment - 1) / alignment * alignment;
        long dataSize = all.byteSize() - dataStart;
        if (dataSize < 0) {
            if (!infos.isEmpty()) {
                throw new BadInputException(file + ": file ends before the data section (offset " + dataStart + ")");
            }
            dataSize = 0;
            dataStart = all.byteSize();
        }
        checkPlacement(file, infos, dataSize);
        MemorySegment data = all.asSlice(dataStart, dataSize);
        return new GgufFile(file, arena, version, Collections.unmodifiableMap(metadata),
                Collections.unmodifiableMap(byName), alignment, data);
    }

    /** Every tensor inside the data section, none overlapping another. */
    private static void checkPlacement(Path file, List<GgufTensor> infos, long dataSize) {
        List<GgufTensor> sorted = new ArrayList<>(infos);
        sorted.sort(Comparator.comparingLong(GgufTensor::offset));
        GgufTensor previous = null;
        for (GgufTensor t : sorted) {
            if (t.offset() > dataSize || t.byteSize() > dataSize - t.offset()) {
                throw new BadInputException(file + ": tensor '" + t.name() + "' (" + t.byteSize() + " bytes at offset "
                        + t.offset() + ") runs past the end of the data section (" + dataSize + " bytes)");
            }
            if (previous != null && t.offset() < previous.offset() + previous.byteSize()) {
                throw new BadInputException(file + ": tensor '" + t.name() + "' overlaps tensor '" + previous.name() + "'");
            }
            previous = t;
        }
    }

    /** A bounds-checked reader over the mapped header: every read names its field when the file ends early. */
    private static final class Cursor {
        private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        private static final ValueLayout.OfLong I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        private static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        private static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

        final Path file;
        final MemorySegment seg;
        long pos;

        Cursor(Path file, MemorySegment seg) {
            this.file = file;
            this.seg = seg;
        }

        long remaining() {
            return seg.byteSize() - pos;
        }

        private void need(long n, String field) {
            if (n > remaining()) {
                throw new BadInputException(file + ": file ends inside " + field + " (offset " + pos + ")");
            }
        }

        int i32(String field) {
            need(4, field);
            int v = seg.get(I32, pos);
            pos += 4;
            return v;
        }

        long i64(String field) {
            need(8, field);
            long v = seg.get(I64, pos);
            pos += 8;
            return v;
        }

        /** A u64 count of items that take at least minItemBytes each: bounded by the bytes left. */
        long count(String field, long minItemBytes) {
            long n = i64(field);
            if (n < 0 || n > remaining() / minItemBytes) {
                throw new BadInputException(file + ": " + field + " = " + Long.toUnsignedString(n)
                        + " is more than the " + remaining() + " bytes left can hold");
            }
            return n;
        }

        GgufValue.Type type(String field) {
            long id = Integer.toUnsignedLong(i32(field));
            GgufValue.Type t = GgufValue.Type.byId(id);
            if (t == null) {
                throw new BadInputException(file + ": " + field + " " + id + " is not a GGUF value type");
            }
            return t;
        }

        String string(String field) {
            long len = i64(field + " length");
            if (len < 0 || len > MAX_STRING || len > remaining()) {
                throw new BadInputException(file + ": " + field + " length " + Long.toUnsignedString(len)
                        + (len >= 0 && len <= MAX_STRING ? " runs past the end of the file" : " is over 64 MiB"));
            }
            ByteBuffer bytes = seg.asSlice(pos, len).asByteBuffer();
            pos += len;
            try {
                return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT).decode(bytes).toString();
            } catch (CharacterCodingException e) {
                throw new BadInputException(file + ": " + field + " is not valid UTF-8");
            }
        }

        GgufValue value(GgufValue.Type type, String field, int depth) {
            if (type == GgufValue.Type.ARRAY) {
                if (depth >= MAX_ARRAY_DEPTH) {
                    throw new BadInputException(file + ": " + field + " nests arrays deeper than " + MAX_ARRAY_DEPTH);
                }
                GgufValue.Type element = type(field + " element type");
                long n = count(field + " array length", element.minBytes);
                List<Object> items = new ArrayList<>((int) Math.min(n, 1 << 16));
                for (long i = 0; i < n; i++) {
                    Object v = value(element, field, depth + 1);
                    items.add(v instanceof GgufValue g && element != GgufValue.Type.ARRAY ? g.value() : v);
                }
                return new GgufValue(type, element, Collections.unmodifiableList(items));
            }
            Object v = switch (type) {
                case UINT8 -> { need(1, field); yield (long) Byte.toUnsignedInt(seg.get(ValueLayout.JAVA_BYTE, pos++)); }
                case INT8 -> { need(1, field); yield (long) seg.get(ValueLayout.JAVA_BYTE, pos++); }
                case UINT16 -> { need(2, field); long x = Short.toUnsignedLong(seg.get(I16, pos)); pos += 2; yield x; }
                case INT16 -> { need(2, field); long x = seg.get(I16, pos); pos += 2; yield x; }
                case UINT32 -> Integer.toUnsignedLong(i32(field));
                case INT32 -> (long) i32(field);
                case UINT64, INT64 -> i64(field);
                case FLOAT32 -> { need(4, field); float x = seg.get(F32, pos); pos += 4; yield x; }
                case FLOAT64 -> { need(8, field); double x = seg.get(F64, pos); pos += 8; yield x; }
                case BOOL -> {
                    need(1, field);
                    byte b = seg.get(ValueLayout.JAVA_BYTE, pos++);
                    if (b != 0 && b != 1) {
                        throw new BadInputException(file + ": " + field + " is a bool of value " + b);
                    }
                    yield b == 1;
                }
                case STRING -> string(field);
                case ARRAY -> throw new IllegalStateException();
            };
            return new GgufValue(type, null, v);
        }
    }

    public Path path() {
        return path;
    }

    public int version() {
        return version;
    }

    public int alignment() {
        return alignment;
    }

    /** All metadata, in file order. */
    public Map<String, GgufValue> metadata() {
        return metadata;
    }

    /** The tensor infos, in file order. */
    public List<GgufTensor> tensors() {
        return List.copyOf(tensors.values());
    }

    public boolean contains(String name) {
        return tensors.containsKey(name);
    }

    public GgufTensor tensor(String name) {
        GgufTensor t = tensors.get(name);
        if (t == null) {
            throw new BadInputException(path + ": no tensor named '" + name + "'");
        }
        return t;
    }

    /** The tensor's bytes as a read-only slice of the mapping. */
    public MemorySegment segment(String name) {
        GgufTensor t = tensor(name);
        return data.asSlice(t.offset(), t.byteSize());
    }

    // Typed metadata reads: a missing key or a value of another type is bad input naming the key.

    public boolean has(String key) {
        return metadata.containsKey(key);
    }

    private GgufValue get(String key) {
        GgufValue v = metadata.get(key);
        if (v == null) {
            throw new BadInputException(path + ": missing metadata '" + key + "'");
        }
        return v;
    }

    public String string(String key) {
        GgufValue v = get(key);
        if (v.type() != GgufValue.Type.STRING) {
            throw new BadInputException(path + ": metadata '" + key + "' is " + v.type() + ", expected STRING");
        }
        return (String) v.value();
    }

    /** An integer of any integer type, as a non-negative long. */
    public long count(String key) {
        GgufValue v = get(key);
        if (!v.type().isInteger() || (Long) v.value() < 0) {
            throw new BadInputException(path + ": metadata '" + key + "' is " + v + " (" + v.type()
                    + "), expected a non-negative integer");
        }
        return (Long) v.value();
    }

    /** A number of any numeric type, as a double. */
    public double number(String key) {
        GgufValue v = get(key);
        return switch (v.value()) {
            case Float f -> f;
            case Double d -> d;
            case Long l when v.type().isInteger() -> l;
            default -> throw new BadInputException(path + ": metadata '" + key + "' is " + v.type()
                    + ", expected a number");
        };
    }

    public boolean bool(String key) {
        GgufValue v = get(key);
        if (v.type() != GgufValue.Type.BOOL) {
            throw new BadInputException(path + ": metadata '" + key + "' is " + v.type() + ", expected BOOL");
        }
        return (Boolean) v.value();
    }

    /** An array whose elements are all of {@code element} type. */
    public List<?> array(String key, GgufValue.Type element) {
        GgufValue v = get(key);
        if (v.type() != GgufValue.Type.ARRAY || v.elementType() != element) {
            throw new BadInputException(path + ": metadata '" + key + "' is " + v.type()
                    + (v.elementType() != null ? " of " + v.elementType() : "") + ", expected ARRAY of " + element);
        }
        return (List<?>) v.value();
    }

    @SuppressWarnings("unchecked")
    public List<String> strings(String key) {
        return (List<String>) array(key, GgufValue.Type.STRING);
    }

    @Override
    public void close() {
        arena.close();
    }
}
