package org.moescope.safetensors;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
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
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A strictly validated, memory-mapped safetensors file.
 *
 * <p>Layout: 8 bytes little-endian header length N, N bytes of UTF-8 JSON header, then the data section. The whole
 * file is mapped once with FFM (no 2 GiB limit) and tensors are slices of that mapping: weights are never copied onto
 * the heap. Everything the header claims is checked before any tensor is handed out, so a hostile file fails with one
 * line naming the file and the tensor instead of an exception deep in a kernel.
 */
public final class SafetensorsFile implements AutoCloseable {
    /** Largest header we accept; the reference implementation uses the same 100 MB cap. */
    public static final long MAX_HEADER_BYTES = 100L * 1024 * 1024;
    /** JSON nesting allowed in a header: a valid one needs 3 levels. */
    private static final int MAX_JSON_DEPTH = 64;

    static final ObjectMapper HEADER_JSON = new ObjectMapper(JsonFactory.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(MAX_JSON_DEPTH).build())
            .build())
            .enable(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS); // "{} {}" is not a header

    private final Path path;
    private final Arena arena;
    private final MemorySegment data; // the data section, just after the header
    private final Map<String, TensorInfo> tensors; // in header order
    private final Map<String, String> metadata;

    private SafetensorsFile(Path path, Arena arena, MemorySegment data, Map<String, TensorInfo> tensors,
                            Map<String, String> metadata) {
        this.path = path;
        this.arena = arena;
        this.data = data;
        this.tensors = tensors;
        this.metadata = metadata;
    }

    /** Maps and validates {@code file}; throws {@link BadInputException} naming the file on any violation. */
    public static SafetensorsFile open(Path file) {
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < 8) {
                throw new BadInputException(file + ": not a safetensors file (" + size + " bytes, need at least 8)");
            }
            ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, lenBuf, 0, file);
            long headerLen = lenBuf.getLong(0);
            if (headerLen < 2 || headerLen > MAX_HEADER_BYTES) {
                throw new BadInputException(file + ": header length " + Long.toUnsignedString(headerLen)
                        + " outside [2, " + MAX_HEADER_BYTES + "]");
            }
            if (8 + headerLen > size) {
                throw new BadInputException(file + ": header length " + headerLen + " runs past the end of the file ("
                        + size + " bytes)");
            }
            ByteBuffer headerBuf = ByteBuffer.allocate((int) headerLen);
            readFully(ch, headerBuf, 8, file);
            String headerText = decodeUtf8(headerBuf.flip(), file);
            long dataSize = size - 8 - headerLen;
            Map<String, String> metadata = new LinkedHashMap<>();
            Map<String, TensorInfo> tensors = parseHeader(headerText, dataSize, file, metadata);
            MemorySegment mapped = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            MemorySegment dataSeg = mapped.asSlice(8 + headerLen, dataSize);
            return new SafetensorsFile(file, arena, dataSeg, tensors, Collections.unmodifiableMap(metadata));
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

    private static void readFully(FileChannel ch, ByteBuffer buf, long position, Path file) throws IOException {
        while (buf.hasRemaining()) {
            int n = ch.read(buf, position + buf.position());
            if (n < 0) {
                throw new BadInputException(file + ": file ends early");
            }
        }
    }

    private static String decodeUtf8(ByteBuffer bytes, Path file) {
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(bytes).toString();
        } catch (CharacterCodingException e) {
            throw new BadInputException(file + ": header is not valid UTF-8");
        }
    }

    /** Parses and validates a header; fills {@code metadataOut}; returns tensors in header order. */
    static Map<String, TensorInfo> parseHeader(String headerText, long dataSize, Path file,
                                               Map<String, String> metadataOut) {
        JsonNode root;
        try {
            root = HEADER_JSON.readTree(headerText);
        } catch (JsonProcessingException e) {
            throw new BadInputException(file + ": header is not valid JSON: " + firstLine(e.getOriginalMessage()));
        }
        if (!(root instanceof ObjectNode obj)) {
            throw new BadInputException(file + ": header is not a JSON object");
        }
        Map<String, TensorInfo> tensors = new LinkedHashMap<>();
        Iterator<Map.Entry<String, JsonNode>> fields = obj.fields();
        while (fields.hasNext()) {
            Map.Entry<String, JsonNode> field = fields.next();
            String name = field.getKey();
            JsonNode entry = field.getValue();
            if (name.equals("__metadata__")) {
                parseMetadata(entry, file, metadataOut);
                continue;
            }
            tensors.put(name, parseEntry(name, entry, dataSize, file));
        }
        checkCoverage(tensors.values(), dataSize, file);
        return tensors;
    }

    private static void parseMetadata(JsonNode node, Path file, Map<String, String> out) {
        if (!node.isObject()) {
            throw new BadInputException(file + ": __metadata__ is not a JSON object");
        }
        node.fields().forEachRemaining(e -> {
            if (!e.getValue().isTextual()) {
                throw new BadInputException(file + ": __metadata__ value \"" + e.getKey() + "\" is not a string");
            }
            out.put(e.getKey(), e.getValue().textValue());
        });
    }

    private static TensorInfo parseEntry(String name, JsonNode entry, long dataSize, Path file) {
        String where = file + ": tensor '" + name + "'";
        if (!entry.isObject()) {
            throw new BadInputException(where + ": entry is not a JSON object");
        }
        Iterator<String> keys = entry.fieldNames();
        while (keys.hasNext()) {
            String key = keys.next();
            if (!key.equals("dtype") && !key.equals("shape") && !key.equals("data_offsets")) {
                throw new BadInputException(where + ": unexpected field \"" + key + "\"");
            }
        }
        JsonNode dtypeNode = entry.get("dtype");
        if (dtypeNode == null || !dtypeNode.isTextual()) {
            throw new BadInputException(where + ": missing or non-string dtype");
        }
        DType dtype = DType.parse(dtypeNode.textValue(), where);
        JsonNode shapeNode = entry.get("shape");
        if (shapeNode == null || !shapeNode.isArray()) {
            throw new BadInputException(where + ": missing or non-array shape");
        }
        long[] shape = new long[shapeNode.size()];
        long elements = 1;
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = shapeNode.get(i);
            if (!d.canConvertToLong() || !d.isIntegralNumber() || d.longValue() < 0) {
                throw new BadInputException(where + ": shape entry " + i + " is not a non-negative integer: " + d);
            }
            shape[i] = d.longValue();
            elements = multiplyOrFail(elements, shape[i], where);
        }
        JsonNode offsets = entry.get("data_offsets");
        if (offsets == null || !offsets.isArray() || offsets.size() != 2) {
            throw new BadInputException(where + ": data_offsets must be an array [begin, end]");
        }
        for (JsonNode o : offsets) {
            if (!o.isIntegralNumber() || !o.canConvertToLong() || o.longValue() < 0) {
                throw new BadInputException(where + ": data_offsets entry is not a non-negative integer: " + o);
            }
        }
        long begin = offsets.get(0).longValue();
        long end = offsets.get(1).longValue();
        if (begin > end) {
            throw new BadInputException(where + ": data_offsets [" + begin + ", " + end + "] has begin after end");
        }
        if (end > dataSize) {
            throw new BadInputException(where + ": data_offsets [" + begin + ", " + end
                    + "] reach past the data section (" + dataSize + " bytes)");
        }
        long expected = multiplyOrFail(elements, dtype.byteSize(), where);
        if (end - begin != expected) {
            throw new BadInputException(where + ": shape " + java.util.Arrays.toString(shape) + " x " + dtype
                    + " needs " + expected + " bytes but data_offsets span " + (end - begin));
        }
        return new TensorInfo(name, dtype, shape, begin, end);
    }

    private static long multiplyOrFail(long a, long b, String where) {
        try {
            return Math.multiplyExact(a, b);
        } catch (ArithmeticException e) {
            throw new BadInputException(where + ": shape size overflows");
        }
    }

    /** The format requires the tensors to tile the data section exactly: no overlaps, no gaps, nothing after. */
    private static void checkCoverage(java.util.Collection<TensorInfo> infos, long dataSize, Path file) {
        List<TensorInfo> sorted = new ArrayList<>(infos);
        sorted.sort(Comparator.comparingLong(TensorInfo::begin).thenComparingLong(TensorInfo::end));
        long cursor = 0;
        TensorInfo previous = null;
        for (TensorInfo t : sorted) {
            if (t.begin() < cursor) {
                throw new BadInputException(file + ": tensor '" + t.name() + "' overlaps tensor '" + previous.name() + "'");
            }
            if (t.begin() > cursor) {
                throw new BadInputException(file + ": gap of " + (t.begin() - cursor) + " bytes before tensor '"
                        + t.name() + "'");
            }
            cursor = t.end();
            previous = t;
        }
        if (cursor != dataSize) {
            throw new BadInputException(file + ": " + (dataSize - cursor)
                    + " bytes after the last tensor are not described by the header");
        }
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "";
        }
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }

    public Path path() {
        return path;
    }

    /** The header's {@code __metadata__} (empty when absent), in file order. */
    public Map<String, String> metadata() {
        return metadata;
    }

    /** All tensors in header order. */
    public List<TensorInfo> tensors() {
        return List.copyOf(tensors.values());
    }

    public boolean contains(String name) {
        return tensors.containsKey(name);
    }

    /** The header entry of {@code name}; a missing tensor is bad input naming the file. */
    public TensorInfo info(String name) {
        TensorInfo t = tensors.get(name);
        if (t == null) {
            throw new BadInputException(path + ": no tensor named '" + name + "'");
        }
        return t;
    }

    /** The tensor's bytes as a read-only slice of the mapping (little-endian, possibly unaligned). */
    public MemorySegment segment(String name) {
        TensorInfo t = info(name);
        return data.asSlice(t.begin(), t.byteSize());
    }

    /** Copies a small floating-point tensor to a float[], widening BF16/F16 and narrowing F64. */
    public float[] readFloats(String name) {
        TensorInfo t = info(name);
        MemorySegment seg = segment(name);
        int n = checkedLength(t);
        float[] out = new float[n];
        switch (t.dtype()) {
            case F32 -> MemorySegment.copy(seg, LE_F32, 0, out, 0, n);
            case BF16 -> { for (int i = 0; i < n; i++) out[i] = Numbers.bf16ToFloat(seg.getAtIndex(LE_I16, i)); }
            case F16 -> { for (int i = 0; i < n; i++) out[i] = Float.float16ToFloat(seg.getAtIndex(LE_I16, i)); }
            case F64 -> { for (int i = 0; i < n; i++) out[i] = (float) seg.getAtIndex(LE_F64, i); }
            default -> throw new BadInputException(path + ": tensor '" + name + "' has dtype " + t.dtype()
                    + ", expected a floating-point dtype");
        }
        return out;
    }

    /** Copies a small floating-point tensor to a double[] (exact for F64 and narrower float dtypes). */
    public double[] readDoubles(String name) {
        TensorInfo t = info(name);
        if (t.dtype() == DType.F64) {
            int n = checkedLength(t);
            double[] out = new double[n];
            MemorySegment.copy(segment(name), LE_F64, 0, out, 0, n);
            return out;
        }
        float[] f = readFloats(name);
        double[] out = new double[f.length];
        for (int i = 0; i < f.length; i++) out[i] = f[i];
        return out;
    }

    /** Copies an I32 tensor. */
    public int[] readInts(String name) {
        TensorInfo t = requireDtype(name, DType.I32);
        int n = checkedLength(t);
        int[] out = new int[n];
        MemorySegment.copy(segment(name), LE_I32, 0, out, 0, n);
        return out;
    }

    /** Copies an I64 tensor. */
    public long[] readLongs(String name) {
        TensorInfo t = requireDtype(name, DType.I64);
        int n = checkedLength(t);
        long[] out = new long[n];
        MemorySegment.copy(segment(name), LE_I64, 0, out, 0, n);
        return out;
    }

    private TensorInfo requireDtype(String name, DType dtype) {
        TensorInfo t = info(name);
        if (t.dtype() != dtype) {
            throw new BadInputException(path + ": tensor '" + name + "' has dtype " + t.dtype() + ", expected " + dtype);
        }
        return t;
    }

    private int checkedLength(TensorInfo t) {
        if (t.numElements() > Integer.MAX_VALUE - 8) {
            throw new BadInputException(path + ": tensor '" + t.name() + "' is too large to copy onto the heap");
        }
        return (int) t.numElements();
    }

    @Override
    public void close() {
        arena.close();
    }

    static final ValueLayout.OfFloat LE_F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfDouble LE_F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfShort LE_I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt LE_I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfLong LE_I64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
}
