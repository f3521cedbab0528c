package org.moescope.weights;

import com.fasterxml.jackson.databind.JsonNode;
import org.moescope.checkpoint.Checkpoint;
import org.moescope.output.AtomicDirectory;
import org.moescope.output.AtomicFiles;
import org.moescope.safetensors.DType;
import org.moescope.safetensors.Numbers;
import org.moescope.safetensors.SafetensorsWriter;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * {@code weights init}: a random checkpoint of any size, written streaming. Element i of a normal tensor is
 * {@code (float) (std * z)} rounded to the dtype, where z is draw {@code i mod 2^20} of a {@link Ziggurat} over
 * {@code SplittableRandom(blockSeed(seed, name, i / 2^20))}: every block of 2^20 elements has its own stream, so
 * blocks are generated in parallel and the values depend only on (seed, tensor name, index), not on threads, shard
 * size or the order of tensors; an F32 init converted to BF16 equals a BF16 init.
 */
public final class Init {
    static final int BLOCK = 1 << 20;

    private Init() {
    }

    /** How a tensor is filled. */
    public sealed interface Fill permits Normal, Constant, UniformBytes {
    }

    /**
     * Bytes drawn uniformly from [lo, hi), written as U8 whatever the checkpoint's dtype: MXFP4 blocks (any pair of
     * FP4 codes) and their E8M0 exponents.
     */
    public record UniformBytes(int lo, int hi) implements Fill {
        public UniformBytes {
            if (lo < 0 || hi > 256 || lo >= hi) throw new IllegalArgumentException("bytes in [" + lo + ", " + hi + ")");
        }
    }

    /** normal(0, std); row {@code zeroRow} (if >= 0) is zeroed, as HF zeroes the padding token's embedding. */
    public record Normal(double std, long zeroRow) implements Fill {
    }

    public record Constant(float value) implements Fill {
    }

    public record TensorPlan(String name, long[] shape, Fill fill) {
        /** The dtype this tensor is written in: U8 for byte fills, else the checkpoint's. */
        DType dtype(DType checkpoint) {
            return fill instanceof UniformBytes ? DType.U8 : checkpoint;
        }

        public long elements() {
            long n = 1;
            for (long d : shape) n = Math.multiplyExact(n, d);
            return n;
        }
    }

    public record Result(java.nio.file.Path out, int tensors, long parameters, long bytes,
                         List<CheckpointWriter.Shard> shards) {
    }

    /**
     * The pool that generates or quantises chunks of a tensor while the caller writes earlier ones in order: at least
     * one thread, daemons so that a failed command still exits.
     */
    static ExecutorService pool(String name, int threads) {
        return Executors.newFixedThreadPool(Math.max(1, threads), r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        });
    }

    public static Result run(List<TensorPlan> plan, JsonNode config, DType dtype, long seed, long maxShardBytes,
                             java.nio.file.Path out, boolean force, int threads) {
        AtomicDirectory.checkWritable(out, force, "--out");
        ExecutorService pool = pool("weights-init", threads);
        try {
            int window = 2 * Math.max(1, threads);
            List<SafetensorsWriter.Entry> entries = new ArrayList<>();
            long params = 0;
            for (TensorPlan t : plan) {
                params += t.elements();
                DType td = t.dtype(dtype);
                entries.add(new SafetensorsWriter.Entry(t.name(), td, t.shape(), ch -> write(ch, t, td, seed, pool, window)));
            }
            List<CheckpointWriter.Shard> shards = new ArrayList<>();
            AtomicDirectory.write(out, force, "--out", tmp -> {
                shards.addAll(CheckpointWriter.writeWeights(tmp, entries, maxShardBytes));
                AtomicFiles.writeString(tmp.resolve(Checkpoint.CONFIG), CheckpointWriter.configWithDtype(config, dtype));
            });
            long bytes = entries.stream().mapToLong(SafetensorsWriter.Entry::byteSize).sum();
            return new Result(out, plan.size(), params, bytes, shards);
        } finally {
            pool.shutdownNow();
        }
    }

    /** Generates a tensor block by block on the pool, at most {@code window} blocks ahead, and writes them in order. */
    private static void write(WritableByteChannel ch, TensorPlan t, DType dtype, long seed, ExecutorService pool,
                              int window) throws IOException {
        long n = t.elements();
        long blocks = (n + BLOCK - 1) / BLOCK;
        long rowLength = t.shape().length == 0 || t.shape()[0] == 0 ? Math.max(n, 1) : n / t.shape()[0];
        long nameSeed = mix64(mix64(seed) ^ nameHash(t.name()));
        ArrayDeque<ByteBuffer> free = new ArrayDeque<>();
        ArrayDeque<Future<ByteBuffer>> inFlight = new ArrayDeque<>();
        long next = 0;
        try {
            while (next < blocks || !inFlight.isEmpty()) {
                while (next < blocks && inFlight.size() < window) {
                    long b = next++;
                    ByteBuffer buf = free.isEmpty()
                            ? ByteBuffer.allocateDirect(BLOCK * dtype.byteSize()).order(ByteOrder.LITTLE_ENDIAN)
                            : free.poll();
                    int count = (int) Math.min(BLOCK, n - b * BLOCK);
                    inFlight.add(pool.submit(() -> fill(buf, t.fill(), dtype, mix64(nameSeed + b), b * BLOCK, count,
                            rowLength)));
                }
                ByteBuffer done = inFlight.poll().get();
                while (done.hasRemaining()) {
                    ch.write(done);
                }
                free.add(done);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while generating " + t.name());
        } catch (ExecutionException e) {
            throw new IllegalStateException("generating " + t.name() + ": " + e.getCause(), e.getCause());
        } finally {
            inFlight.forEach(f -> f.cancel(true));
        }
    }

    /**
     * Elements {@code from .. from+count-1} of a tensor as its F32 init has them (so a quantised init equals an F32
     * init quantised), for {@code weights init --to gguf}: the blocks they fall in are generated whole on this thread.
     */
    static void floats(TensorPlan t, long seed, long from, int count, float[] into) {
        if (t.fill() instanceof UniformBytes) {
            throw new IllegalArgumentException(t.name() + ": byte fills have no float values");
        }
        long n = t.elements();
        long rowLength = t.shape().length == 0 || t.shape()[0] == 0 ? Math.max(n, 1) : n / t.shape()[0];
        long nameSeed = mix64(mix64(seed) ^ nameHash(t.name()));
        ByteBuffer buf = FLOAT_BLOCK.get();
        int done = 0;
        while (done < count) {
            long i = from + done;
            long b = i / BLOCK;
            int blockCount = (int) Math.min(BLOCK, n - b * BLOCK);
            fill(buf, t.fill(), DType.F32, mix64(nameSeed + b), b * BLOCK, blockCount, rowLength);
            int skip = (int) (i - b * BLOCK);
            int k = Math.min(count - done, blockCount - skip);
            buf.asFloatBuffer().get(skip, into, done, k);
            done += k;
        }
    }

    /** A block of F32 values per generating thread. */
    private static final ThreadLocal<ByteBuffer> FLOAT_BLOCK =
            ThreadLocal.withInitial(() -> ByteBuffer.allocate(BLOCK * 4).order(ByteOrder.LITTLE_ENDIAN));

    /** Fills {@code buf} with elements {@code first .. first+count-1} of a tensor; returns it ready to write. */
    static ByteBuffer fill(ByteBuffer buf, Fill fill, DType dtype, long blockSeed, long first, int count, long rowLength) {
        buf.clear();
        switch (fill) {
            case Constant c -> {
                for (int i = 0; i < count; i++) put(buf, i, dtype, c.value());
            }
            case UniformBytes u -> {
                SplittableRandom rng = new SplittableRandom(blockSeed);
                for (int i = 0; i < count; i++) buf.put(i, (byte) rng.nextInt(u.lo(), u.hi()));
            }
            case Normal g -> {
                SplittableRandom rng = new SplittableRandom(blockSeed);
                double std = g.std();
                switch (dtype) { // one loop per dtype: this is the hot loop of a 7B init
                    case BF16 -> {
                        for (int i = 0; i < count; i++) buf.putShort(2 * i, Numbers.floatToBf16((float) (std * Ziggurat.next(rng))));
                    }
                    case F16 -> {
                        for (int i = 0; i < count; i++) buf.putShort(2 * i, Numbers.floatToF16((float) (std * Ziggurat.next(rng))));
                    }
                    default -> {
                        for (int i = 0; i < count; i++) put(buf, i, dtype, (float) (std * Ziggurat.next(rng)));
                    }
                }
                if (g.zeroRow() >= 0) {
                    long from = Math.max(first, g.zeroRow() * rowLength);
                    long to = Math.min(first + count, (g.zeroRow() + 1) * rowLength);
                    for (long i = from; i < to; i++) put(buf, (int) (i - first), dtype, 0f);
                }
            }
        }
        return buf.limit(count * dtype.byteSize());
    }

    private static void put(ByteBuffer buf, int i, DType dtype, float v) {
        switch (dtype) {
            case F32 -> buf.putFloat(4 * i, v);
            case BF16 -> buf.putShort(2 * i, Numbers.floatToBf16(v));
            case F16 -> buf.putShort(2 * i, Numbers.floatToF16(v));
            default -> throw new IllegalArgumentException("init writes bf16, f16 or f32, not " + dtype);
        }
    }

    /** SplitMix64's finaliser (Stafford's variant 13): a bijection that scatters nearby seeds. */
    static long mix64(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** FNV-1a over the name's UTF-8 bytes. */
    static long nameHash(String name) {
        long h = 0xCBF29CE484222325L;
        for (byte b : name.getBytes(StandardCharsets.UTF_8)) {
            h = (h ^ (b & 0xFF)) * 0x100000001B3L;
        }
        return h;
    }
}
