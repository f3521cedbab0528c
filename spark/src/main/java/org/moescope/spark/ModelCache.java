package org.moescope.spark;

import org.moescope.backend.CpuBackend;
import org.moescope.model.MoeModel;

import java.nio.file.Path;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The checkpoints an executor JVM has mapped, shared by its tasks: a checkpoint is mapped once per JVM however many
 * of its ranges the executor runs (the weights are page cache, shared by every task; a forward pass keeps no state
 * between calls but reusable scratch, so concurrent tasks may use one model). At most
 * {@code -Dmoescope.spark.models} (default 2) unused checkpoints stay mapped; the least recently used beyond that are
 * unmapped once no task holds them, so a long series does not accumulate mappings.
 */
final class ModelCache {
    private static final int KEEP = Integer.getInteger("moescope.spark.models", 2);
    private static final Map<String, Entry> MODELS = new LinkedHashMap<>(16, 0.75f, true);
    private static final AtomicInteger LOADS = new AtomicInteger();

    private static final class Entry {
        final MoeModel model;
        int users;

        Entry(MoeModel model) {
            this.model = model;
        }
    }

    /** A task's hold on a mapped checkpoint; closing it lets the cache unmap the checkpoint later. */
    static final class Lease implements AutoCloseable {
        private final String key;
        final MoeModel model;

        private Lease(String key, MoeModel model) {
            this.key = key;
            this.model = model;
        }

        @Override
        public void close() {
            release(key);
        }
    }

    private ModelCache() {
    }

    static synchronized Lease lease(Path checkpoint) {
        String key = checkpoint.toAbsolutePath().normalize().toString();
        Entry e = MODELS.get(key);
        if (e == null) {
            e = new Entry(new CpuBackend().load(checkpoint));
            LOADS.incrementAndGet();
            MODELS.put(key, e);
        }
        e.users++;
        evict();
        return new Lease(key, e.model);
    }

    private static synchronized void release(String key) {
        Entry e = MODELS.get(key);
        if (e != null) e.users--;
        evict();
    }

    /** Unmaps the least recently used checkpoints that no task holds while more than KEEP are mapped. */
    private static void evict() {
        int over = MODELS.size() - KEEP;
        for (Iterator<Entry> it = MODELS.values().iterator(); it.hasNext() && over > 0; ) {
            Entry e = it.next();
            if (e.users == 0) {
                it.remove();
                e.model.close();
                over--;
            }
        }
    }

    /** How many times this JVM has mapped a checkpoint (tests check that ranges reuse the mapping). */
    static int loads() {
        return LOADS.get();
    }
}
