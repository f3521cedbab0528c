package org.moescope.tokenizer;

import java.util.Arrays;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Byte-level BPE: a pre-token's UTF-8 bytes start as one symbol each and are merged pairwise by rank, exactly as
 * HF tokenizers' {@code Word::merge_all} does it (a min-heap of (rank, position); an entry whose pair has changed is
 * skipped unless the new pair merges into the same token). Results are cached per pre-token.
 */
final class BpeModel {
    /** Pre-tokens longer than this (in UTF-16 units) are not cached: they are rare and would crowd the cache. */
    private static final int MAX_CACHED_LENGTH = 64;
    private static final int CACHE_CAPACITY = 100_000;

    /** The symbol id of each byte, -1 when the vocabulary lacks it (OLMoE lacks the bytes UTF-8 never uses). */
    private final int[] byteIds; // (256)
    private final MergeTable merges;
    /** The token each merge rank produces. */
    private final int[] mergeResult; // (merges)
    private final ConcurrentHashMap<String, int[]> cache = new ConcurrentHashMap<>();

    BpeModel(int[] byteIds, MergeTable merges, int[] mergeResult) {
        this.byteIds = byteIds.clone();
        this.merges = merges;
        this.mergeResult = mergeResult;
    }

    /** Appends the token ids of one pre-token (a slice of {@code text}) to {@code out}. */
    void encode(String text, int start, int end, IntList out) {
        int length = end - start;
        if (length <= MAX_CACHED_LENGTH) {
            String word = text.substring(start, end);
            int[] ids = cache.get(word);
            if (ids == null) {
                ids = merge(word);
                if (cache.size() < CACHE_CAPACITY) {
                    cache.put(word, ids);
                }
            }
            out.addAll(ids);
        } else {
            out.addAll(merge(text.substring(start, end)));
        }
    }

    private int[] merge(String word) {
        byte[] bytes = word.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        int n = bytes.length;
        int[] c = new int[n]; // symbol ids
        int[] prev = new int[n];
        int[] next = new int[n];
        boolean[] removed = new boolean[n];
        for (int i = 0; i < n; i++) {
            int id = byteIds[bytes[i] & 0xFF];
            if (id < 0) {
                // Unreachable for text that came from a Java string (valid UTF-8); the loader checked the rest.
                throw new IllegalStateException("no vocabulary entry for byte 0x" + Integer.toHexString(bytes[i] & 0xFF));
            }
            c[i] = id;
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
        }
        if (n == 1) {
            return c;
        }
        LongHeap queue = new LongHeap(n);
        for (int i = 0; i + 1 < n; i++) {
            int rank = merges.rank(c[i], c[i + 1]);
            if (rank >= 0) {
                queue.push(key(rank, i));
            }
        }
        int remaining = n;
        while (!queue.isEmpty()) {
            long top = queue.pop();
            int rank = (int) (top >>> 32);
            int pos = (int) top;
            if (removed[pos] || next[pos] < 0) {
                continue;
            }
            int right = next[pos];
            int currentRank = merges.rank(c[pos], c[right]);
            if (currentRank < 0 || mergeResult[currentRank] != mergeResult[rank]) {
                continue; // expired entry
            }
            c[pos] = mergeResult[rank];
            removed[right] = true;
            remaining--;
            next[pos] = next[right];
            if (next[pos] >= 0) {
                prev[next[pos]] = pos;
            }
            if (prev[pos] >= 0) {
                int r = merges.rank(c[prev[pos]], c[pos]);
                if (r >= 0) {
                    queue.push(key(r, prev[pos]));
                }
            }
            if (next[pos] >= 0) {
                int r = merges.rank(c[pos], c[next[pos]]);
                if (r >= 0) {
                    queue.push(key(r, pos));
                }
            }
        }
        int[] ids = new int[remaining];
        for (int i = 0, k = 0; i >= 0; i = next[i]) {
            ids[k++] = c[i];
        }
        return ids;
    }

    private static long key(int rank, int pos) {
        return ((long) rank << 32) | pos;
    }

    /** Merge ranks keyed by the pair of symbol ids packed in a long; open addressing, linear probing. */
    static final class MergeTable {
        private final long[] keys; // (capacity) left << 32 | right, EMPTY for a free slot
        private final int[] ranks; // (capacity)
        private final int mask;
        private static final long EMPTY = -1L;

        MergeTable(int expected) {
            int capacity = Integer.highestOneBit(Math.max(4, expected) * 2 - 1) << 1;
            keys = new long[capacity];
            ranks = new int[capacity];
            mask = capacity - 1;
            Arrays.fill(keys, EMPTY);
        }

        /** Sets the rank of a pair; a later duplicate replaces an earlier one, as in HF's HashMap. */
        void put(int left, int right, int rank) {
            long k = ((long) left << 32) | (right & 0xFFFFFFFFL);
            int slot = slot(k);
            while (keys[slot] != EMPTY && keys[slot] != k) {
                slot = (slot + 1) & mask;
            }
            keys[slot] = k;
            ranks[slot] = rank;
        }

        /** The rank of the merge of {@code left} and {@code right}, or -1 when there is none. */
        int rank(int left, int right) {
            long k = ((long) left << 32) | (right & 0xFFFFFFFFL);
            int slot = slot(k);
            while (true) {
                long found = keys[slot];
                if (found == k) {
                    return ranks[slot];
                }
                if (found == EMPTY) {
                    return -1;
                }
                slot = (slot + 1) & mask;
            }
        }

        private int slot(long k) {
            long h = k * 0x9E3779B97F4A7C15L;
            return (int) (h ^ (h >>> 29)) & mask;
        }
    }

    /** A binary min-heap of longs; (rank, position) keys order like HF's Merge. */
    private static final class LongHeap {
        private long[] heap;
        private int size;

        LongHeap(int capacity) {
            heap = new long[Math.max(4, capacity)];
        }

        boolean isEmpty() {
            return size == 0;
        }

        void push(long v) {
            if (size == heap.length) {
                heap = Arrays.copyOf(heap, size * 2);
            }
            int i = size++;
            while (i > 0) {
                int parent = (i - 1) >>> 1;
                if (heap[parent] <= v) {
                    break;
                }
                heap[i] = heap[parent];
                i = parent;
            }
            heap[i] = v;
        }

        long pop() {
            long top = heap[0];
            long last = heap[--size];
            int i = 0;
            while (true) {
                int child = 2 * i + 1;
                if (child >= size) {
                    break;
                }
                if (child + 1 < size && heap[child + 1] < heap[child]) {
                    child++;
                }
                if (heap[child] >= last) {
                    break;
                }
                heap[i] = heap[child];
                i = child;
            }
            heap[i] = last;
            return top;
        }
    }
}
