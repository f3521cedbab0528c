package org.moescope.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.concurrent.ConcurrentHashMap;

/**
 * BPE over the words of a pre-tokenizer, exactly as HF tokenizers' {@code BPE} model: a word's symbols start as
 * one per UTF-8 byte (byte-level vocabularies, after the ByteLevel pre-tokenizer) or one per character (SentencePiece
 * style vocabularies: a character missing from the vocabulary becomes its bytes' {@code <0xNN>} tokens with
 * byte_fallback, else the unknown token, fused with a preceding one under fuse_unk, else nothing), and are merged
 * pairwise by rank as {@code Word::merge_all} does it (a min-heap of (rank, position); an entry whose pair has
 * changed is skipped unless the new pair merges into the same token). With ignore_merges a word that is itself in
 * the vocabulary is that one token. Results are cached per word, with the number of input bytes each token covers
 * (for offsets).
 */
final class BpeModel {
    /** Words longer than this (in UTF-16 units) are not cached: they are rare and would crowd the cache. */
    private static final int MAX_CACHED_LENGTH = 64;
    private static final int CACHE_CAPACITY = 100_000;
    /** SentencePiece's word-boundary symbol, U+2581, which its vocabularies only hold at the start of a token. */
    static final char SPM_SPACE = '\u2581';

    private final boolean byteLevel;
    /** Byte-level: the symbol id of each byte, -1 when the vocabulary lacks it (OLMoE lacks bytes UTF-8 never uses). */
    private final int[] byteIds; // (256)
    /** Character level: the id of each BMP character that is a token, -1 otherwise; others are in vocab. */
    private final int[] charIds; // (65536) or null
    private final java.util.Map<String, Integer> vocab;
    /** Byte fallback: the id of each byte's {@code <0xNN>} token, -1 when absent; null without byte_fallback. */
    private final int[] fallbackIds; // (256) or null
    private final int unkId; // -1 without an unknown token
    private final boolean fuseUnk;
    private final boolean ignoreMerges;
    private final MergeTable merges;
    /** The token each merge rank produces. */
    private final int[] mergeResult; // (merges)
    /**
     * Character level: whether a long word may be cut before each U+2581 that follows another character, because
     * no merge produces a token that has U+2581 after another character (so no symbol can span such a cut).
     */
    private final boolean cutAtSpmSpace;
    /** Word → its token ids followed by the input bytes each covers. */
    private final ConcurrentHashMap<String, int[]> cache = new ConcurrentHashMap<>();

    /** A byte-level model. */
    static BpeModel byteLevel(int[] byteIds, java.util.Map<String, Integer> vocab, boolean ignoreMerges,
                              MergeTable merges, int[] mergeResult) {
        return new BpeModel(true, byteIds.clone(), null, vocab, null, -1, false, ignoreMerges, merges, mergeResult,
                false);
    }

    /** A character-level model; {@code tokens} are the vocabulary's strings by id (to find the cut rule). */
    static BpeModel charLevel(java.util.Map<String, Integer> vocab, int[] fallbackIds, int unkId, boolean fuseUnk,
                              boolean ignoreMerges, MergeTable merges, int[] mergeResult, String[] tokens) {
        int[] charIds = new int[65536];
        Arrays.fill(charIds, -1);
        vocab.forEach((token, id) -> {
            if (token.length() == 1) {
                charIds[token.charAt(0)] = id;
            }
        });
        boolean cut = !ignoreMerges && charIds[SPM_SPACE] >= 0;
        for (int rank = 0; cut && rank < mergeResult.length; rank++) {
            String t = tokens[mergeResult[rank]];
            for (int i = t.indexOf(SPM_SPACE, 1); i > 0 && cut; i = t.indexOf(SPM_SPACE, i + 1)) {
                cut = t.charAt(i - 1) == SPM_SPACE;
            }
        }
        return new BpeModel(false, null, charIds, vocab, fallbackIds, unkId, fuseUnk, ignoreMerges, merges,
                mergeResult, cut);
    }

    private BpeModel(boolean byteLevel, int[] byteIds, int[] charIds, java.util.Map<String, Integer> vocab,
                     int[] fallbackIds, int unkId, boolean fuseUnk, boolean ignoreMerges, MergeTable merges,
                     int[] mergeResult, boolean cutAtSpmSpace) {
        this.byteLevel = byteLevel;
        this.byteIds = byteIds;
        this.charIds = charIds;
        this.vocab = vocab;
        this.fallbackIds = fallbackIds;
        this.unkId = unkId;
        this.fuseUnk = fuseUnk;
        this.ignoreMerges = ignoreMerges;
        this.merges = merges;
        this.mergeResult = mergeResult;
        this.cutAtSpmSpace = cutAtSpmSpace;
    }

    /**
     * Appends the token ids of one word (a slice of {@code text}) to {@code ids}, and when {@code lengths} is not
     * null the number of the word's UTF-8 bytes each token covers.
     */
    void encode(String text, int start, int end, IntList ids, IntList lengths) {
        if (cutAtSpmSpace && end - start > MAX_CACHED_LENGTH) {
            int piece = start;
            for (int i = start + 1; i < end; i++) {
                if (text.charAt(i) == SPM_SPACE && text.charAt(i - 1) != SPM_SPACE) {
                    encodeCached(text, piece, i, ids, lengths);
                    piece = i;
                }
            }
            encodeCached(text, piece, end, ids, lengths);
        } else {
            encodeCached(text, start, end, ids, lengths);
        }
    }

    private void encodeCached(String text, int start, int end, IntList ids, IntList lengths) {
        int[] result;
        if (end - start <= MAX_CACHED_LENGTH) {
            String word = text.substring(start, end);
            result = cache.get(word);
            if (result == null) {
                result = tokenize(word);
                if (cache.size() < CACHE_CAPACITY) {
                    cache.put(word, result);
                }
            }
        } else {
            result = tokenize(text.substring(start, end));
        }
        int n = result.length / 2;
        ids.addAll(result, 0, n);
        if (lengths != null) {
            lengths.addAll(result, n, n);
        }
    }

    /** The ids of a word followed by the bytes each covers. */
    private int[] tokenize(String word) {
        if (ignoreMerges) {
            Integer id = vocab.get(byteLevel ? ByteLevel.encode(word.getBytes(StandardCharsets.UTF_8)) : word);
            if (id != null) {
                return new int[] {id, utf8Length(word)};
            }
        }
        Symbols s = byteLevel ? byteSymbols(word) : charSymbols(word);
        return merge(s);
    }

    /** The initial symbols of a word: ids and byte lengths. */
    private record Symbols(int[] ids, int[] lengths, int size) {
    }

    private Symbols byteSymbols(String word) {
        byte[] bytes = word.getBytes(StandardCharsets.UTF_8);
        int n = bytes.length;
        int[] c = new int[n];
        int[] len = new int[n];
        for (int i = 0; i < n; i++) {
            int id = byteIds[bytes[i] & 0xFF];
            if (id < 0) {
                // Unreachable for text that came from a Java string (valid UTF-8); the loader checked the rest.
                throw new IllegalStateException("no vocabulary entry for byte 0x" + Integer.toHexString(bytes[i] & 0xFF));
            }
            c[i] = id;
            len[i] = 1;
        }
        return new Symbols(c, len, n);
    }

    /** HF's {@code merge_word} without prefixes or suffixes (the loader refuses those). */
    private Symbols charSymbols(String word) {
        int cap = word.length() * 4;
        int[] c = new int[cap];
        int[] len = new int[cap];
        int n = 0;
        int pendingUnkLength = 0; // > 0: an unknown token waits to be added (HF's `unk`)
        for (int i = 0; i < word.length(); ) {
            int cp = word.codePointAt(i);
            int units = Character.charCount(cp);
            int bytes = utf8Length(cp);
            int id = units == 1 ? charIds[cp] : vocab.getOrDefault(word.substring(i, i + units), -1);
            i += units;
            if (id >= 0) {
                if (pendingUnkLength > 0) {
                    c[n] = unkId;
                    len[n++] = pendingUnkLength;
                    pendingUnkLength = 0;
                }
                c[n] = id;
                len[n++] = bytes;
                continue;
            }
            if (fallbackIds != null && hasFallback(cp)) {
                // As in HF, byte tokens go in even while an unknown token is pending (it follows them).
                for (byte b : new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8)) {
                    c[n] = fallbackIds[b & 0xFF];
                    len[n++] = 1;
                }
                continue;
            }
            if (unkId >= 0) {
                if (pendingUnkLength > 0 && !fuseUnk) {
                    c[n] = unkId;
                    len[n++] = pendingUnkLength;
                    pendingUnkLength = 0;
                }
                pendingUnkLength += bytes;
            }
            // Without an unknown token the character is dropped, as in HF.
        }
        if (pendingUnkLength > 0) {
            c[n] = unkId;
            len[n++] = pendingUnkLength;
        }
        return new Symbols(c, len, n);
    }

    private boolean hasFallback(int cp) {
        for (byte b : new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8)) {
            if (fallbackIds[b & 0xFF] < 0) {
                return false;
            }
        }
        return true;
    }

    private int[] merge(Symbols symbols) {
        int n = symbols.size();
        int[] c = symbols.ids(); // symbol ids
        int[] len = symbols.lengths();
        if (n <= 1) {
            return n == 0 ? new int[0] : new int[] {c[0], len[0]};
        }
        int[] prev = new int[n];
        int[] next = new int[n];
        boolean[] removed = new boolean[n];
        for (int i = 0; i < n; i++) {
            prev[i] = i - 1;
            next[i] = i + 1 < n ? i + 1 : -1;
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
            len[pos] += len[right];
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
        int[] out = new int[2 * remaining];
        for (int i = 0, k = 0; i >= 0; i = next[i], k++) {
            out[k] = c[i];
            out[remaining + k] = len[i];
        }
        return out;
    }

    static int utf8Length(int cp) {
        return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    }

    private static int utf8Length(String s) {
        int n = 0;
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            n += utf8Length(cp);
            i += Character.charCount(cp);
        }
        return n;
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
