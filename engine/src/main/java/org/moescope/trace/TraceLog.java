package org.moescope.trace;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.moescope.errors.BadInputException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Which samples a resumable trace has finished, beside its partial route file as ".NAME.progress": one JSON line per
 * batch, {"first": f, "last": l, "loss": [...], "correct": [...]} for samples [f, l), appended and forced to disk only
 * after the batch's rows are (RouteFileWriter.sync). Losses are stored as their float bits, so a resumed trace
 * returns exactly what an uninterrupted one would. A line cut short by a crash, or out of order, ends the record.
 */
final class TraceLog implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path path;
    private final FileChannel ch;

    private TraceLog(Path path, boolean fresh) {
        this.path = path;
        try {
            ch = fresh
                    ? FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING)
                    : FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new BadInputException(path + ": cannot write: " + e.getMessage());
        }
    }

    /** The log of the route file target: ".NAME.progress" beside it. */
    static Path pathFor(Path target) {
        Path abs = target.toAbsolutePath();
        return abs.resolveSibling("." + abs.getFileName() + ".progress");
    }

    /** An empty log (an earlier one is discarded). */
    static TraceLog start(Path path) {
        return new TraceLog(path, true);
    }

    /**
     * The log at path, appended to; call after {@link #read} has found where it ends. A missing log is created: a run
     * killed after it had made its partial route file but before its log has nothing logged, and starts over.
     */
    static TraceLog resume(Path path, long validBytes) {
        try (FileChannel c = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            c.truncate(validBytes); // drop a torn last line
        } catch (IOException e) {
            throw new BadInputException(path + ": cannot write: " + e.getMessage());
        }
        return new TraceLog(path, false);
    }

    /** What a log holds: samples [0, done) are finished; validBytes is the length of its intact lines. */
    record Done(int done, long validBytes) {
    }

    /**
     * Reads the log at path into loss and correct; samples past the intact, contiguous lines are left alone. A
     * missing log reads as nothing done.
     */
    static Done read(Path path, float[] loss, boolean[] correct) {
        if (!Files.isRegularFile(path)) {
            return new Done(0, 0);
        }
        byte[] all;
        try {
            all = Files.readAllBytes(path);
        } catch (IOException e) {
            return new Done(0, 0);
        }
        int done = 0;
        long bytes = 0;
        int from = 0;
        for (int nl; (nl = indexOf(all, (byte) '\n', from)) >= 0; from = nl + 1) { // a line without '\n' is torn
            try {
                JsonNode r = JSON.readTree(new String(all, from, nl - from, StandardCharsets.UTF_8));
                int first = r.path("first").asInt(-1), last = r.path("last").asInt(-1);
                JsonNode l = r.path("loss"), c = r.path("correct");
                if (first != done || last <= first || last > loss.length || l.size() != last - first
                        || c.size() != last - first) {
                    break;
                }
                for (int i = first; i < last; i++) {
                    loss[i] = Float.intBitsToFloat(l.get(i - first).asInt());
                    correct[i] = c.get(i - first).asBoolean();
                }
                done = last;
                bytes = nl + 1;
            } catch (IOException | RuntimeException e) {
                break;
            }
        }
        return new Done(done, bytes);
    }

    private static int indexOf(byte[] a, byte b, int from) {
        for (int i = from; i < a.length; i++) {
            if (a[i] == b) return i;
        }
        return -1;
    }

    /** Records samples [first, last) as finished; durable when it returns. */
    void append(int first, int last, float[] loss, boolean[] correct) {
        ObjectNode r = JSON.createObjectNode();
        r.put("first", first);
        r.put("last", last);
        ArrayNode l = r.putArray("loss");
        ArrayNode c = r.putArray("correct");
        for (int i = first; i < last; i++) {
            l.add(Float.floatToRawIntBits(loss[i]));
            c.add(correct[i]);
        }
        try {
            ByteBuffer b = ByteBuffer.wrap((JSON.writeValueAsString(r) + "\n").getBytes(StandardCharsets.UTF_8));
            while (b.hasRemaining()) ch.write(b);
            ch.force(false);
        } catch (IOException e) {
            throw new BadInputException(path + ": cannot write: " + e.getMessage());
        }
    }

    /** Closes and deletes the log: the route file it described is complete. */
    void delete() {
        close();
        try {
            Files.deleteIfExists(path);
        } catch (IOException ignored) {
            // a stale log is harmless: it only counts next to a matching partial file
        }
    }

    @Override
    public void close() {
        try {
            ch.close();
        } catch (IOException ignored) {
            // nothing left to save: every line was forced when written
        }
    }
}
