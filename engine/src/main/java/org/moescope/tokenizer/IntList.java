package org.moescope.tokenizer;

import java.util.Arrays;

/** A growable int array (token ids, offsets) without boxing. */
final class IntList {
    private int[] data;
    private int size;

    IntList(int capacity) {
        data = new int[Math.max(4, capacity)];
    }

    void add(int v) {
        if (size == data.length) {
            data = Arrays.copyOf(data, size * 2);
        }
        data[size++] = v;
    }

    void addAll(int[] vs) {
        addAll(vs, 0, vs.length);
    }

    /** Appends {@code vs[from, from + n)}. */
    void addAll(int[] vs, int from, int n) {
        if (size + n > data.length) {
            data = Arrays.copyOf(data, Math.max(size * 2, size + n));
        }
        System.arraycopy(vs, from, data, size, n);
        size += n;
    }

    int get(int i) {
        return data[i];
    }

    void set(int i, int v) {
        data[i] = v;
    }

    void clear() {
        size = 0;
    }

    int size() {
        return size;
    }

    int[] toArray() {
        return Arrays.copyOf(data, size);
    }
}
