package org.moescope.routing;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.moescope.errors.BadInputException;
import org.moescope.output.AtomicFiles;
import org.moescope.safetensors.DType;
import org.moescope.safetensors.SafetensorsWriter;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes a route file (docs/route-format.md) sample by sample. All sizes are known before the first token runs (the
 * samples are tokenized up front), so the safetensors header is written first and each sample's rows go straight to
 * their final offsets: memory stays at one sample's worth whatever the number of samples. The file appears under its
 * name only on {@link #commit()}; {@link #close()} without commit deletes the temporary file.
 *
 * <p>A {@link #resumable} writer works in a fixed sibling, ".NAME.partial", which close() without commit keeps: a
 * later writer for the same target and the same header (metadata apart from "created", tensors and shapes) opens it
 * again instead of starting over, so that a long trace can go on after an interruption. Which samples are complete
 * is the caller's record (Tracer keeps a log beside it); {@link #sync()} makes the rows written so far durable first.
 */
public final class RouteFileWriter implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final Path target;
    private final Path tmp;
    private final FileChannel ch;
    private final RouteFile.Dims dims;
    private final long[] sampleOffsets; // (N+1)
    private final Map<String, Long> tensorStart = new LinkedHashMap<>(); // absolute file offset of each tensor's data
    private final boolean keepPartial; // resumable: close() without commit keeps tmp
    private final boolean reopened;    // resumable: tmp held an earlier run's matching partial file
    private boolean committed;

    /**
     * @param sampleOffsets token offsets of the samples, (N+1), first 0
     * @param metadata      header metadata (strings), written as given
     */
    public RouteFileWriter(Path target, RouteFile.Dims dims, long[] sampleOffsets, Map<String, String> metadata) {
        this(target, dims, sampleOffsets, metadata, false);
    }

    /**
     * A writer whose unfinished file survives close() as {@link #partialPath}(target) and is reopened by the next
     * resumable writer with the same header; {@link #reopened()} tells which happened.
     */
    public static RouteFileWriter resumable(Path target, RouteFile.Dims dims, long[] sampleOffsets,
                                            Map<String, String> metadata) {
        return new RouteFileWriter(target, dims, sampleOffsets, metadata, true);
    }

    /** Where a resumable writer keeps its unfinished file: ".NAME.partial" beside the target. */
    public static Path partialPath(Path target) {
        Path abs = target.toAbsolutePath();
        return abs.resolveSibling("." + abs.getFileName() + ".partial");
    }

    private RouteFileWriter(Path target, RouteFile.Dims dims, long[] sampleOffsets, Map<String, String> metadata,
                            boolean resumable) {
        this.target = target;
        this.keepPartial = resumable;
        this.dims = dims;
        this.sampleOffsets = sampleOffsets.clone();
        long t = sampleOffsets[sampleOffsets.length - 1];
        if (sampleOffsets.length != dims.samples() + 1 || sampleOffsets[0] != 0 || t != dims.tokens()) {
            throw new IllegalArgumentException("sample offsets do not match dims " + dims);
        }
        List<SafetensorsWriter.Entry> entries = new ArrayList<>();
        for (RouteFile.Field f : RouteFile.Field.values()) {
            if (dims.has(f)) {
                entries.add(new SafetensorsWriter.Entry(f.tensorName, f.dtype, dims.shape(f), ch -> { }));
            }
        }
        byte[] header = SafetensorsWriter.headerBytes(metadata, entries);
        long pos = 8 + header.length;
        for (SafetensorsWriter.Entry e : entries) {
            tensorStart.put(e.name(), pos);
            pos += e.byteSize();
        }
        if (Files.isDirectory(target)) {
            throw new BadInputException(target + ": is a directory; give the route file's path");
        }
        try {
            if (resumable) {
                tmp = partialPath(target);
                Files.createDirectories(tmp.getParent());
                ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.READ);
                lock(ch, target, tmp);
                // The offsets are checked too: a run killed between pre-sizing its file and writing them left zeros
                // (and other samples of the same ids and total length would have other offsets).
                byte[] offsets = longBytes(sampleOffsets);
                reopened = sameHeader(ch, header, pos) && Arrays.equals(offsets, readAt(ch,
                        tensorStart.get(RouteFile.Field.SAMPLE_OFFSETS.tensorName), offsets.length));
                if (reopened) {
                    return; // header, size and sample offsets are as this writer would write them
                }
                ch.truncate(0); // another run's partial file: nothing of it is kept
            } else {
                tmp = AtomicFiles.createTemp(target);
                ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.READ);
                reopened = false;
            }
            ByteBuffer head = ByteBuffer.allocate(8 + header.length).order(ByteOrder.LITTLE_ENDIAN);
            head.putLong(header.length).put(header).flip();
            writeAt(head, 0);
            // Pre-size so that a crash can never leave a file that looks complete.
            ch.truncate(pos);
            if (ch.size() < pos) {
                writeAt(ByteBuffer.allocate(1), pos - 1);
            }
            writeAt(ByteBuffer.wrap(longBytes(sampleOffsets)), tensorStart.get(RouteFile.Field.SAMPLE_OFFSETS.tensorName));
        } catch (IOException e) {
            throw cannotWrite(target, e);
        }
    }

    private static byte[] longBytes(long[] v) {
        ByteBuffer b = ByteBuffer.allocate(v.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        for (long x : v) b.putLong(x);
        return b.array();
    }

    /**
     * Writes a per-token field for the tokens of sample {@code sample}: {@code values} holds (tokens of the sample) rows
     * of the field's row width (e.g. L*k for topk_ids).
     */
    public void writeTokenRows(RouteFile.Field field, int sample, Object values) {
        if (!field.perToken) throw new IllegalArgumentException(field + " is not per token");
        long firstRow = sampleOffsets[sample];
        long rows = sampleOffsets[sample + 1] - firstRow;
        writeRows(field, firstRow, rows, values);
    }

    /** Writes a per-sample field's row for sample {@code sample} (e.g. router_probs_mean's L*E values). */
    public void writeSampleRow(RouteFile.Field field, int sample, Object values) {
        if (field.perToken || field == RouteFile.Field.SAMPLE_OFFSETS) throw new IllegalArgumentException(field + " is not per sample");
        writeRows(field, sample, 1, values);
    }

    private void writeRows(RouteFile.Field field, long firstRow, long rows, Object values) {
        if (!dims.has(field)) throw new IllegalArgumentException(field + " is not in this file");
        long width = dims.rowWidth(field);
        long count = rows * width;
        ByteBuffer buf = ByteBuffer.allocate(Math.toIntExact(count * field.dtype.byteSize())).order(ByteOrder.LITTLE_ENDIAN);
        switch (values) {
            case float[] f when field.dtype == DType.F32 && f.length == count -> buf.asFloatBuffer().put(f);
            case int[] i when field.dtype == DType.I32 && i.length == count -> buf.asIntBuffer().put(i);
            default -> throw new IllegalArgumentException(field + ": expected " + count + " values of " + field.dtype);
        }
        long pos = tensorStart.get(field.tensorName) + firstRow * width * field.dtype.byteSize();
        try {
            writeAt(buf, pos);
        } catch (IOException e) {
            throw cannotWrite(target, e);
        }
    }

    private void writeAt(ByteBuffer buf, long pos) throws IOException {
        while (buf.hasRemaining()) {
            pos += ch.write(buf, pos);
        }
    }

    /** Flushes the file and moves it to its final name. */
    public void commit() {
        try {
            ch.force(false);
            ch.close();
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
            }
            committed = true;
        } catch (IOException e) {
            throw cannotWrite(target, e);
        }
    }

    /** A write that failed (no space, no permission, a directory in the way): bad input, named in one line. */
    private static BadInputException cannotWrite(Path target, IOException e) {
        String why = e.getMessage() == null ? e.getClass().getSimpleName() : e.getClass().getSimpleName() + " "
                + e.getMessage();
        return new BadInputException(target + ": cannot write: " + why);
    }

    /**
     * Holds the partial file for this writer: a second trace to the same target (another process, or another writer
     * in this JVM) would write the same file, so it is refused in one line instead.
     */
    private static void lock(FileChannel ch, Path target, Path partial) throws IOException {
        FileLock lock;
        try {
            lock = ch.tryLock();
        } catch (OverlappingFileLockException e) {
            lock = null;
        }
        if (lock == null) {
            ch.close();
            throw new BadInputException(target + ": another trace is writing it (" + partial.getFileName() + " is locked)");
        }
    }

    /** Whether this resumable writer reopened an earlier run's partial file (false: it started an empty one). */
    public boolean reopened() {
        return reopened;
    }

    /** Forces the rows written so far to disk: after this, a record that they are complete may be written. */
    public void sync() {
        try {
            ch.force(false);
        } catch (IOException e) {
            throw cannotWrite(target, e);
        }
    }

    /**
     * Whether the file (the partial file this writer holds) starts with exactly this header, apart from the "created"
     * metadata entry, and has the size pos: the same samples, model, options and dims.
     */
    private static boolean sameHeader(FileChannel ch, byte[] header, long pos) throws IOException {
        if (ch.size() != pos) return false;
        byte[] len = readAt(ch, 0, 8);
        long n = len == null ? 0 : ByteBuffer.wrap(len).order(ByteOrder.LITTLE_ENDIAN).getLong();
        if (n < 2 || n > 64L << 20) return false;
        byte[] old = readAt(ch, 8, (int) n);
        if (old == null) return false;
        try {
            return withoutCreated(old).equals(withoutCreated(header));
        } catch (JacksonException e) {
            return false;
        }
    }

    /** n bytes of the file at `at`, or null where it ends before them. */
    private static byte[] readAt(FileChannel ch, long at, int n) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(n);
        while (b.hasRemaining() && ch.read(b, at + b.position()) >= 0) { }
        return b.hasRemaining() ? null : b.array();
    }

    private static JsonNode withoutCreated(byte[] header) throws IOException {
        JsonNode root = JSON.readTree(header);
        if (root.get("__metadata__") instanceof ObjectNode meta) {
            meta.remove("created");
        }
        return root;
    }

    @Override
    public void close() {
        if (!committed && keepPartial) {
            try {
                ch.close();
            } catch (IOException ignored) {
                // the partial file stays for the next run, which checks it before use
            }
        } else if (!committed) {
            try {
                ch.close();
                Files.deleteIfExists(tmp);
            } catch (IOException ignored) {
                // best effort cleanup of a hidden temporary file
            }
        }
    }
}
