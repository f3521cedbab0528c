package org.moescope.tokenizer;

import java.util.ArrayList;
import java.util.List;

/**
 * Finds added tokens in text by leftmost-longest match, as HF's Aho-Corasick (MatchKind::LeftmostLongest) does:
 * the earliest position where any token starts wins, and there the longest token. A character trie suffices for
 * the handful of added tokens a tokenizer has.
 */
final class AddedTokenMatcher {
    private final String[] patterns; // (tokens)
    private final boolean[] mayStart = new boolean[65536]; // (65536) chars some pattern starts with
    /** Trie node → the chars of its outgoing edges; node 0 is the root. */
    private final char[][] edgeChars; // (nodes, edges of node)
    /** Trie node → the child node of each edge. */
    private final int[][] edgeTargets; // (nodes, edges of node)
    /** Trie node → index of the pattern ending there, or -1. */
    private final int[] terminal; // (nodes)

    AddedTokenMatcher(List<String> patterns) {
        this.patterns = patterns.toArray(String[]::new);
        List<StringBuilder> chars = new ArrayList<>();
        List<IntList> targets = new ArrayList<>();
        IntList ends = new IntList(16);
        chars.add(new StringBuilder());
        targets.add(new IntList(4));
        ends.add(-1);
        for (int p = 0; p < this.patterns.length; p++) {
            String pattern = this.patterns[p];
            mayStart[pattern.charAt(0)] = true;
            int node = 0;
            for (int i = 0; i < pattern.length(); i++) {
                int e = chars.get(node).indexOf(String.valueOf(pattern.charAt(i)));
                if (e < 0) {
                    chars.get(node).append(pattern.charAt(i));
                    targets.get(node).add(chars.size());
                    chars.add(new StringBuilder());
                    targets.add(new IntList(4));
                    ends.add(-1);
                    node = chars.size() - 1;
                } else {
                    node = targets.get(node).get(e);
                }
            }
            if (ends.get(node) >= 0) {
                throw new IllegalArgumentException("duplicate added token " + pattern);
            }
            ends.set(node, p);
        }
        edgeChars = new char[chars.size()][];
        edgeTargets = new int[chars.size()][];
        for (int n = 0; n < chars.size(); n++) {
            edgeChars[n] = chars.get(n).toString().toCharArray();
            edgeTargets[n] = targets.get(n).toArray();
        }
        terminal = ends.toArray();
    }

    boolean isEmpty() {
        return patterns.length == 0;
    }

    /** The index of the longest pattern that occurs in {@code s} at {@code i} and ends by {@code limit}, or -1. */
    int longestAt(String s, int i, int limit) {
        if (!mayStart[s.charAt(i)]) {
            return -1;
        }
        int best = -1;
        int node = 0;
        for (int j = i; j < limit; j++) {
            node = child(node, s.charAt(j));
            if (node < 0) {
                break;
            }
            if (terminal[node] >= 0) {
                best = terminal[node];
            }
        }
        return best;
    }

    private int child(int node, char c) {
        char[] cs = edgeChars[node];
        for (int e = 0; e < cs.length; e++) {
            if (cs[e] == c) {
                return edgeTargets[node][e];
            }
        }
        return -1;
    }

    String pattern(int index) {
        return patterns[index];
    }
}
