package org.moescope.pathways;

/**
 * Which pathway distance a number holds. Every output that carries a distance names its kind by {@link #id()}, because
 * the paper's figures mix units (character level in Fig. 4, something shorter in Fig. 5, a normalised value in App. C.4).
 */
public enum DistanceKind {
    /** Levenshtein distance (unit costs) between the pathway texts, counted in characters. The paper's main metric. */
    CHARACTER(Unit.CHARACTER, false, "levenshtein_char"),
    /** {@link #CHARACTER} divided by the longer text's length (0 for two empty texts); in [0, 1]. */
    CHARACTER_NORMALISED(Unit.CHARACTER, true, "levenshtein_char_norm"),
    /** Levenshtein distance over symbols = expert ids and the layer separators ("3,1,5-9,1" is 3 1 5 - 9 1). */
    EXPERT(Unit.EXPERT, false, "levenshtein_expert"),
    /** {@link #EXPERT} divided by the longer symbol sequence's length; in [0, 1]. */
    EXPERT_NORMALISED(Unit.EXPERT, true, "levenshtein_expert_norm");

    /** What one edit operation inserts, deletes or substitutes. */
    public enum Unit { CHARACTER, EXPERT }

    private final Unit unit;
    private final boolean normalised;
    private final String id;

    DistanceKind(Unit unit, boolean normalised, String id) {
        this.unit = unit;
        this.normalised = normalised;
        this.id = id;
    }

    public Unit unit() {
        return unit;
    }

    public boolean normalised() {
        return normalised;
    }

    /** Stable machine name for output files, e.g. {@code levenshtein_char}. */
    public String id() {
        return id;
    }

    /** The kind with the given {@link #id()}; null when there is none. */
    public static DistanceKind byId(String id) {
        for (DistanceKind k : values()) if (k.id.equals(id)) return k;
        return null;
    }
}
