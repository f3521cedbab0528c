package org.moescope.serve;

import java.util.Map;
import java.util.OptionalInt;
import java.util.TreeMap;

/**
 * The rows of the shared KV cache, handed out as contiguous ranges (a sequence's attention reads one range), first
 * fit. A sequence reserves its prompt plus max_tokens when it is admitted, so a running sequence never runs out of
 * cache; a request that does not fit is refused (429) rather than queued behind the others.
 */
final class KvBudget {
    private final int rows;
    private final TreeMap<Integer, Integer> free = new TreeMap<>(); // first row -> length
    private int used;

    KvBudget(int rows) {
        this.rows = rows;
        free.put(0, rows);
    }

    /** The first row of a free range of n rows, now reserved; empty when no range is long enough. */
    synchronized OptionalInt reserve(int n) {
        for (Map.Entry<Integer, Integer> e : free.entrySet()) {
            if (e.getValue() >= n) {
                int base = e.getKey();
                free.remove(base);
                if (e.getValue() > n) free.put(base + n, e.getValue() - n);
                used += n;
                return OptionalInt.of(base);
            }
        }
        return OptionalInt.empty();
    }

    /** Gives back rows base .. base+n, merged with free neighbours. */
    synchronized void release(int base, int n) {
        int start = base, length = n;
        Map.Entry<Integer, Integer> before = free.lowerEntry(base);
        if (before != null && before.getKey() + before.getValue() == base) {
            start = before.getKey();
            length += before.getValue();
            free.remove(before.getKey());
        }
        Integer after = free.get(base + n);
        if (after != null) {
            length += after;
            free.remove(base + n);
        }
        free.put(start, length);
        used -= n;
    }

    synchronized int used() {
        return used;
    }

    int rows() {
        return rows;
    }
}
