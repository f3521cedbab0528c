package org.moescope.tokenizer;

import java.util.Set;
import java.util.regex.Pattern;

/**
 * Translates the regexes of HF tokenizer.json files (Oniguruma, Ruby syntax, UTF-8, which is what HF tokenizers
 * compiles them with) into {@link java.util.regex.Pattern}s that match the same text. Both engines are
 * backtracking, leftmost-first, greedy by default and match by code point, so the translation is construct by
 * construct; what differs is spelled out explicitly instead of relying on Java's flags:
 * <ul>
 *   <li>{@code \s} is Oniguruma's Unicode White_Space list (Java's plain {@code \s} is ASCII only, and
 *       UNICODE_CHARACTER_CLASS would change other constructs too); {@code \S} is its complement;</li>
 *   <li>{@code \p{..}} accepts general categories only ({@code L}, {@code Lu}, {@code N}, {@code P}, ...), which
 *       mean the same in both (up to the Unicode version of the tables, see docs/tokenizers.md);</li>
 *   <li>{@code (?i:...)} is Unicode case folding in Oniguruma: besides the other case of an ASCII letter, "s"
 *       also matches U+017F (long s) and "k" U+212A (Kelvin sign), the only non-ASCII characters that fold to
 *       ASCII. Java's {@code (?i)} is ASCII only and {@code (?iu)} also matches U+0130/U+0131 for "i", so each
 *       letter becomes an explicit class. Oniguruma also lets a literal like "ss" or "fi" match one ligature
 *       (U+00DF, U+FB01, ...); such literals are refused rather than approximated;</li>
 *   <li>every literal is emitted as {@code \x{..}}, so Java's own metacharacters (such as {@code &&} in classes)
 *       cannot change the meaning.</li>
 * </ul>
 * Everything else (anchors, {@code .}, backreferences, lookbehind, lazy or possessive quantifiers, nested classes,
 * {@code \w}, {@code \d}, {@code \b}, ...) is refused with a message naming the construct and its position. So are
 * patterns that can match the empty string: HF's split loop and Java's treat empty matches differently, and no
 * tokenizer needs them.
 */
final class OnigRegex {
    /** Unicode White_Space, which is Oniguruma's {@code \s} for UTF-8 (the same list as Gpt2Splitter's). */
    static final String WHITE_SPACE = "\\t\\n\\x{0B}\\f\\r\\x{20}\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}"
            + "\\x{2028}\\x{2029}\\x{202F}\\x{205F}\\x{3000}";

    private static final Set<String> GENERAL_CATEGORIES = Set.of("L", "Lu", "Ll", "Lt", "Lm", "Lo", "M", "Mn", "Mc",
            "Me", "N", "Nd", "Nl", "No", "P", "Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po", "S", "Sm", "Sc", "Sk", "So",
            "Z", "Zs", "Zl", "Zp", "C", "Cc", "Cf", "Cs", "Co", "Cn");

    /** ASCII sequences that Oniguruma's case folding lets one ligature or sharp s match (CaseFolding.txt, F). */
    private static final String[] MULTI_CHAR_FOLDS = {"ss", "st", "ff", "fi", "fl"};

    /** A pattern Oniguruma accepts but this translator does not. */
    static final class UnsupportedException extends Exception {
        private static final long serialVersionUID = 1L;

        UnsupportedException(String message) {
            super(message);
        }
    }

    private final String source;
    private int pos;

    private OnigRegex(String source) {
        this.source = source;
    }

    /** The Java pattern that matches what {@code onig} matches; throws when the pattern uses anything else. */
    static Pattern compile(String onig) throws UnsupportedException {
        String java = translate(onig);
        try {
            return Pattern.compile(java);
        } catch (java.util.regex.PatternSyntaxException e) {
            // A translation bug, not bad input: the translator only emits constructs Java accepts.
            throw new IllegalStateException("translated regex " + java + " does not compile", e);
        }
    }

    /** The Java syntax of an Oniguruma pattern (exposed for tests). */
    static String translate(String onig) throws UnsupportedException {
        OnigRegex parser = new OnigRegex(onig);
        Node node = parser.alternation(false);
        if (parser.pos < onig.length()) {
            throw parser.unsupported("unbalanced )");
        }
        if (node.nullable()) {
            throw new UnsupportedException("the pattern can match the empty string");
        }
        return node.java();
    }

    /** A translated piece: its Java syntax and whether it can match the empty string. */
    private record Node(String java, boolean nullable) {
    }

    private Node alternation(boolean caseless) throws UnsupportedException {
        StringBuilder java = new StringBuilder();
        boolean nullable = false;
        boolean first = true;
        while (true) {
            Node alt = sequence(caseless);
            if (!first) {
                java.append('|');
            }
            java.append(alt.java());
            nullable |= alt.nullable();
            first = false;
            if (pos < source.length() && source.charAt(pos) == '|') {
                pos++;
                continue;
            }
            return new Node(java.toString(), nullable);
        }
    }

    private Node sequence(boolean caseless) throws UnsupportedException {
        StringBuilder java = new StringBuilder();
        StringBuilder literalRun = new StringBuilder(); // consecutive literals, checked for multi-char folds
        boolean nullable = true;
        while (pos < source.length() && source.charAt(pos) != '|' && source.charAt(pos) != ')') {
            int atomStart = pos;
            Atom atom = atom(caseless);
            Node quantified = quantifier(atom.node());
            java.append(quantified.java());
            nullable &= quantified.nullable();
            if (caseless) {
                if (atom.literal() >= 0 && quantified == atom.node()) {
                    literalRun.appendCodePoint(atom.literal());
                    checkMultiCharFold(literalRun, atomStart);
                } else {
                    literalRun.setLength(0);
                }
            }
        }
        return new Node(java.toString(), nullable);
    }

    /** An atom, and the code point it stands for when it is a single literal (-1 otherwise). */
    private record Atom(Node node, int literal) {
    }

    private Atom atom(boolean caseless) throws UnsupportedException {
        int c = source.codePointAt(pos);
        switch (c) {
            case '(' -> {
                return new Atom(group(caseless), -1);
            }
            case '[' -> {
                return new Atom(new Node(characterClass(caseless), false), -1);
            }
            case '\\' -> {
                int start = pos;
                Escape e = escape(false, caseless);
                if (e.literal() >= 0) {
                    return new Atom(literal(e.literal(), caseless, start), e.literal());
                }
                return new Atom(new Node(e.java(), false), -1);
            }
            case '.' -> throw unsupported(". (any character)");
            case '^', '$' -> throw unsupported("the anchor " + (char) c);
            case '*', '+', '?' -> throw unsupported("a quantifier with nothing to repeat");
            case '{' -> throw unsupported("an unescaped {");
            default -> {
                int start = pos;
                pos += Character.charCount(c);
                return new Atom(literal(c, caseless, start), c);
            }
        }
    }

    private Node group(boolean caseless) throws UnsupportedException {
        int start = pos;
        pos++; // (
        String open;
        boolean inner = caseless;
        boolean lookahead = false;
        if (source.startsWith("?:", pos)) {
            pos += 2;
            open = "(?:";
        } else if (source.startsWith("?i:", pos)) {
            pos += 3;
            open = "(?:";
            inner = true;
        } else if (source.startsWith("?=", pos) || source.startsWith("?!", pos)) {
            open = "(" + source.substring(pos, pos + 2);
            pos += 2;
            lookahead = true;
        } else if (pos < source.length() && source.charAt(pos) == '?') {
            pos = start;
            throw unsupported("the group syntax (?" + (start + 2 < source.length() ? source.charAt(start + 2) : ' ')
                    + "...)");
        } else {
            open = "(?:"; // a capturing group: captures are never used, so it may as well not capture
        }
        Node body = alternation(inner);
        if (pos >= source.length() || source.charAt(pos) != ')') {
            pos = start;
            throw unsupported("an unclosed group");
        }
        pos++;
        return new Node(open + body.java() + ")", lookahead || body.nullable());
    }

    private Node quantifier(Node atom) throws UnsupportedException {
        if (pos >= source.length()) {
            return atom;
        }
        char q = source.charAt(pos);
        String java;
        boolean nullable;
        switch (q) {
            case '?', '*' -> {
                pos++;
                java = String.valueOf(q);
                nullable = true;
            }
            case '+' -> {
                pos++;
                java = "+";
                nullable = atom.nullable();
            }
            case '{' -> {
                int start = pos;
                int close = source.indexOf('}', pos);
                String body = close < 0 ? "" : source.substring(pos + 1, close);
                if (!body.matches("\\d{1,4}(,\\d{0,4})?")) {
                    throw unsupported("an unescaped { that is not a quantifier {n}, {n,} or {n,m}");
                }
                String[] parts = body.split(",", -1);
                int min = Integer.parseInt(parts[0]);
                if (parts.length == 2 && !parts[1].isEmpty() && Integer.parseInt(parts[1]) < min) {
                    throw unsupported("the quantifier {" + body + "}");
                }
                pos = close + 1;
                java = source.substring(start, pos);
                nullable = min == 0 || atom.nullable();
            }
            default -> {
                return atom;
            }
        }
        if (pos < source.length() && (source.charAt(pos) == '?' || source.charAt(pos) == '+')) {
            throw unsupported(source.charAt(pos) == '?' ? "a lazy quantifier" : "a possessive quantifier");
        }
        if (atom.java().startsWith("(?=") || atom.java().startsWith("(?!")) {
            throw unsupported("a quantified lookahead");
        }
        return new Node(atom.java() + java, nullable);
    }

    /**
     * A bracketed class, from '[' to its ']'. Inside a case-insensitive group Oniguruma folds the class too, so
     * there only classes without letters are accepted (where folding changes nothing).
     */
    private String characterClass(boolean caseless) throws UnsupportedException {
        int start = pos;
        pos++; // [
        StringBuilder java = new StringBuilder("[");
        if (pos < source.length() && source.charAt(pos) == '^') {
            java.append('^');
            pos++;
        }
        if (pos < source.length() && source.charAt(pos) == ']') {
            throw unsupported("] at the start of a class");
        }
        boolean empty = true;
        while (true) {
            if (pos >= source.length()) {
                pos = start;
                throw unsupported("an unclosed character class");
            }
            int c = source.codePointAt(pos);
            if (c == ']') {
                pos++;
                break;
            }
            if (c == '[') {
                throw unsupported("a nested character class");
            }
            if (c == '&' && source.startsWith("&&", pos)) {
                throw unsupported("a class intersection &&");
            }
            int low;
            if (c == '\\') {
                Escape e = escape(true, caseless);
                if (e.literal() < 0) {
                    java.append(e.java());
                    empty = false;
                    if (isRangeDash()) {
                        throw unsupported("a range from a class escape");
                    }
                    continue;
                }
                low = e.literal();
            } else {
                low = c;
                pos += Character.charCount(c);
            }
            if (isRangeDash()) {
                pos++; // -
                int high;
                if (source.charAt(pos) == '\\') {
                    Escape e = escape(true, caseless);
                    if (e.literal() < 0) {
                        throw unsupported("a range to a class escape");
                    }
                    high = e.literal();
                } else {
                    high = source.codePointAt(pos);
                    pos += Character.charCount(high);
                }
                if (high < low) {
                    throw unsupported("the empty range " + new String(Character.toChars(low)) + "-"
                            + new String(Character.toChars(high)));
                }
                boolean cased = high >= 0x80 || (low <= 'Z' && high >= 'A') || (low <= 'z' && high >= 'a');
                if (caseless && cased) {
                    throw unsupported("a class with letters inside a case-insensitive group");
                }
                java.append(hex(low)).append('-').append(hex(high));
            } else {
                if (caseless && Character.isLetter(low)) {
                    throw unsupported("a class with letters inside a case-insensitive group");
                }
                java.append(hex(low));
            }
            empty = false;
        }
        if (empty) {
            pos = start;
            throw unsupported("an empty character class");
        }
        return java.append(']').toString();
    }

    /** Whether a '-' at pos makes a range (not when it closes the class, where it is a literal dash). */
    private boolean isRangeDash() {
        return pos + 1 < source.length() && source.charAt(pos) == '-' && source.charAt(pos + 1) != ']';
    }

    /** An escape: either a literal code point, or a class in Java syntax (literal = -1). */
    private record Escape(int literal, String java) {
    }

    private Escape escape(boolean inClass, boolean caseless) throws UnsupportedException {
        int start = pos;
        pos++; // backslash
        if (pos >= source.length()) {
            pos = start;
            throw unsupported("a trailing backslash");
        }
        int c = source.codePointAt(pos);
        pos += Character.charCount(c);
        switch (c) {
            case 't' -> {
                return new Escape('\t', null);
            }
            case 'n' -> {
                return new Escape('\n', null);
            }
            case 'r' -> {
                return new Escape('\r', null);
            }
            case 'f' -> {
                return new Escape('\f', null);
            }
            case 'v' -> {
                return new Escape(0x0B, null);
            }
            case 'a' -> {
                return new Escape(0x07, null);
            }
            case 'e' -> {
                return new Escape(0x1B, null);
            }
            case 's' -> {
                return new Escape(-1, inClass ? WHITE_SPACE : "[" + WHITE_SPACE + "]");
            }
            case 'S' -> {
                return new Escape(-1, "[^" + WHITE_SPACE + "]");
            }
            case 'p', 'P' -> {
                if (caseless) {
                    pos = start;
                    throw unsupported("\\p inside a case-insensitive group");
                }
                return new Escape(-1, property(c == 'P', start));
            }
            case 'x' -> {
                return new Escape(hexEscape(start, true), null);
            }
            case 'u' -> {
                return new Escape(hexEscape(start, false), null);
            }
            default -> {
                if (c < 0x80 && !Character.isLetterOrDigit(c) && c != '_') {
                    return new Escape(c, null); // an escaped metacharacter or punctuation: itself
                }
                pos = start;
                throw unsupported("the escape \\" + new String(Character.toChars(c)));
            }
        }
    }

    private String property(boolean negated, int start) throws UnsupportedException {
        if (pos >= source.length() || source.charAt(pos) != '{') {
            pos = start;
            throw unsupported("\\p without {name}");
        }
        int close = source.indexOf('}', pos);
        if (close < 0) {
            pos = start;
            throw unsupported("an unclosed \\p{");
        }
        String name = source.substring(pos + 1, close);
        if (name.startsWith("^")) { // Oniguruma's \p{^L} is \P{L}
            negated = !negated;
            name = name.substring(1);
        }
        if (!GENERAL_CATEGORIES.contains(name)) {
            pos = start;
            throw unsupported("the property \\p{" + name + "} (only general categories such as L, Lu, N, P)");
        }
        pos = close + 1;
        return (negated ? "\\P{" : "\\p{") + name + "}";
    }

    /** {@code \xHH}, {@code \x{H...}} or {@code \\uHHHH}; pos is after the letter. */
    private int hexEscape(int start, boolean x) throws UnsupportedException {
        String digits;
        if (x && pos < source.length() && source.charAt(pos) == '{') {
            int close = source.indexOf('}', pos);
            digits = close < 0 ? "" : source.substring(pos + 1, close);
            pos = close + 1;
        } else {
            int n = x ? 2 : 4;
            digits = pos + n <= source.length() ? source.substring(pos, pos + n) : "";
            pos += n;
        }
        if (!digits.matches("[0-9a-fA-F]{1,6}") || Integer.parseInt(digits, 16) > Character.MAX_CODE_POINT) {
            pos = start;
            throw unsupported("a malformed hexadecimal escape");
        }
        return Integer.parseInt(digits, 16);
    }

    private Node literal(int c, boolean caseless, int start) throws UnsupportedException {
        if (!caseless || !Character.isLetter(c)) {
            return new Node(hex(c), false);
        }
        if (c >= 0x80) {
            pos = start;
            throw unsupported("a case-insensitive non-ASCII letter");
        }
        char lower = Character.toLowerCase((char) c);
        String cls = hex(lower) + hex(Character.toUpperCase(lower));
        if (lower == 's') {
            cls += hex(0x017F);
        } else if (lower == 'k') {
            cls += hex(0x212A);
        }
        return new Node("[" + cls + "]", false);
    }

    private void checkMultiCharFold(StringBuilder run, int atomStart) throws UnsupportedException {
        String lower = run.toString().toLowerCase(java.util.Locale.ROOT);
        for (String fold : MULTI_CHAR_FOLDS) {
            if (lower.endsWith(fold)) {
                pos = atomStart;
                throw unsupported("the case-insensitive literal \"" + fold + "\" (Oniguruma also matches a "
                        + "ligature or sharp s there)");
            }
        }
    }

    private static String hex(int c) {
        return "\\x{" + Integer.toHexString(c) + "}";
    }

    private UnsupportedException unsupported(String what) {
        return new UnsupportedException(what + " at index " + pos + " is not supported");
    }
}
