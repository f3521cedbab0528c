package org.moescope.kernels;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntConsumer;

/**
 * A fixed set of worker threads that run the jobs of one parallel region together with the calling thread.
 *
 * <p>Why not a parallel stream: a decode step runs a handful of regions per layer, each a few tens of microseconds
 * long, and fork/join's hand-off (wake a parked worker, split, join) costs about as much as the work. Here a region
 * is published through one volatile field; workers that finished a region recently are still spinning and pick it up
 * within a fraction of a microsecond, idle ones are parked and woken. Jobs are claimed one at a time from an atomic
 * counter, so a worker that the OS descheduled (the machine is shared) just claims fewer jobs: the caller never waits
 * for a job nobody started. Results do not depend on which thread ran which job.
 *
 * <p>A region started while another is running (a nested call, or a second thread using the same model) runs on the
 * calling thread alone.
 */
final class WorkerPool {
    /** How long an idle worker spins before parking: covers the serial gaps between the regions of a decode step. */
    private static final long SPIN_NANOS = 200_000;
    /** Busy-wait this long before yielding: long enough for a hand-off on an idle machine, short on a shared one. */
    private static final long YIELD_AFTER_NANOS = 10_000;

    /** Threads per region: the system property moescope.threads, else one per available processor. */
    private static final WorkerPool SHARED = new WorkerPool(Integer.getInteger("moescope.threads",
            Runtime.getRuntime().availableProcessors()) - 1);

    static WorkerPool shared() {
        return SHARED;
    }

    /** One parallel region: jobs [0, jobs) of body. Its counters are its own, so a late worker cannot claim jobs of the next one. */
    private static final class Region {
        final IntConsumer body;
        final int jobs;
        final AtomicInteger next = new AtomicInteger();
        final AtomicInteger done = new AtomicInteger();
        volatile Throwable failure;

        Region(IntConsumer body, int jobs) {
            this.body = body;
            this.jobs = jobs;
        }

        /** Claims and runs jobs until none are left. */
        void work() {
            int j;
            while ((j = next.getAndIncrement()) < jobs) {
                try {
                    if (failure == null) {
                        body.accept(j);
                    }
                } catch (Throwable e) {
                    failure = e;
                } finally {
                    done.incrementAndGet();
                }
            }
        }
    }

    private final Thread[] workers;
    private final AtomicBoolean busy = new AtomicBoolean();
    private volatile Region current;

    WorkerPool(int workerCount) {
        workers = new Thread[Math.max(0, workerCount)];
        for (int i = 0; i < workers.length; i++) {
            Thread t = new Thread(this::loop, "moescope-kernel-" + (i + 1));
            t.setDaemon(true);
            workers[i] = t;
            t.start();
        }
    }

    /** Threads a region may use, the caller included. */
    int parallelism() {
        return workers.length + 1;
    }

    private void loop() {
        Region seen = null;
        while (true) {
            Region r = current;
            if (r != null && r != seen) {
                seen = r;
                r.work();
                continue;
            }
            long start = System.nanoTime();
            while ((r = current) == seen || r == null) {
                long waited = System.nanoTime() - start;
                if (waited < YIELD_AFTER_NANOS) {
                    Thread.onSpinWait();
                } else if (waited < SPIN_NANOS) {
                    Thread.yield(); // on a shared machine, let the thread we are waiting for (or anyone) run
                } else {
                    LockSupport.park(this);
                }
            }
        }
    }

    /** Runs body(0) .. body(jobs - 1), each exactly once, on the workers and the calling thread; returns when all are done. */
    void run(int jobs, IntConsumer body) {
        if (jobs <= 0) {
            return;
        }
        if (jobs == 1 || workers.length == 0 || !busy.compareAndSet(false, true)) {
            for (int j = 0; j < jobs; j++) {
                body.accept(j);
            }
            return;
        }
        try {
            Region r = new Region(body, jobs);
            current = r;
            for (Thread w : workers) {
                LockSupport.unpark(w);
            }
            r.work();
            // Jobs still running belong to workers; if one was descheduled mid-job, yielding lets it finish sooner
            // than spinning on the core it needs.
            long start = System.nanoTime();
            while (r.done.get() < jobs) {
                if (System.nanoTime() - start < YIELD_AFTER_NANOS) {
                    Thread.onSpinWait();
                } else {
                    Thread.yield();
                }
            }
            current = null; // let the region's arrays be collected
            Throwable f = r.failure;
            if (f instanceof RuntimeException e) {
                throw e;
            } else if (f instanceof Error e) {
                throw e;
            } else if (f != null) {
                throw new IllegalStateException(f);
            }
        } finally {
            busy.set(false);
        }
    }
}
