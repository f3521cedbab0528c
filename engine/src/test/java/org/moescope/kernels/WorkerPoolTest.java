package org.moescope.kernels;

import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.*;

class WorkerPoolTest {
    @Test
    void everyJobRunsExactlyOnceAcrossManyRegions() {
        WorkerPool pool = new WorkerPool(3);
        for (int region = 0; region < 3000; region++) {
            int jobs = region % 37;
            AtomicIntegerArray runs = new AtomicIntegerArray(Math.max(jobs, 1));
            pool.run(jobs, runs::incrementAndGet);
            for (int j = 0; j < jobs; j++) {
                assertEquals(1, runs.get(j), "region " + region + " job " + j);
            }
        }
    }

    @Test
    void nestedAndConcurrentRegionsRunOnTheCallingThreadAndStillComplete() throws Exception {
        WorkerPool pool = new WorkerPool(2);
        AtomicLong sum = new AtomicLong();
        Thread[] callers = new Thread[3];
        for (int c = 0; c < callers.length; c++) {
            callers[c] = new Thread(() -> {
                for (int i = 0; i < 200; i++) {
                    pool.run(8, j -> pool.run(4, k -> sum.addAndGet(1)));
                }
            });
            callers[c].start();
        }
        for (Thread t : callers) t.join();
        assertEquals(3L * 200 * 8 * 4, sum.get());
    }

    @Test
    void aFailingJobFailsTheRegionAndThePoolKeepsWorking() {
        WorkerPool pool = new WorkerPool(1);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> pool.run(50, j -> {
            if (j == 17) throw new IllegalStateException("job 17");
        }));
        assertEquals("job 17", e.getMessage());
        AtomicIntegerArray runs = new AtomicIntegerArray(10);
        pool.run(10, runs::incrementAndGet);
        for (int j = 0; j < 10; j++) assertEquals(1, runs.get(j));
    }
}
