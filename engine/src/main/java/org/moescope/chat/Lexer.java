package org.moescope.chat;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Splits a template into tokens exactly as jinja2 3.1's lexer does under transformers' environment
 * ({@code trim_blocks=True, lstrip_blocks=True}, default delimiters, no line statements): template data, tag
 * delimiters and the expression tokens inside tags. Whitespace control follows jinja2 to the character, since it
 * decides the bytes of the rendered prompt:
 * <ul>
 *   <li>newlines (\r\n, \r, \n) become \n and one trailing newline of the template is dropped
 *       ({@code keep_trailing_newline=False});</li>
 *   <li>{@code {%-}, {@code {{-}, {@code {#-} strip all whitespace before the tag; {@code -%}}, {@code -}}},
 *       {@code -#}} all whitespace after it;</li>
 *   <li>trim_blocks: one newline right after {@code %}} or {@code #}} is dropped (not after {@code }}}, not after
 *       {@code +%}});</li>
 *   <li>lstrip_blocks: spaces and tabs between the start of a line and a block or comment tag are dropped (not
 *       before {@code {{}, not with {@code {%+}).</li>
 * </ul>
 * Whitespace means Python's {@code str.isspace()}, as jinja2's {@code \s} and {@code rstrip()} do.
 */
final class Lexer {
    enum Type { DATA, VAR_BEGIN, VAR_END, BLOCK_BEGIN, BLOCK_END, NAME, STRING, INTEGER, FLOAT, OPERATOR, EOF }

    /** One token; {@code value} is a String (data, name, operator, string literal), Long/BigInteger or Double. */
    record Token(Type type, Object value, int line) {
        boolean is(Type t, String v) {
            return type == t && v.equals(value);
        }

        boolean isName(String v) {
            return is(Type.NAME, v);
        }

        boolean isOp(String v) {
            return is(Type.OPERATOR, v);
        }

        String describe() {
            return switch (type) {
                case EOF -> "end of template";
                case DATA -> "template data";
                case VAR_BEGIN -> "'{{'";
                case VAR_END -> "'}}'";
                case BLOCK_BEGIN -> "'{%'";
                case BLOCK_END -> "'%}'";
                case STRING -> "string";
                default -> "'" + value + "'";
            };
        }
    }

    // jinja2's float_re and integer_re (case-insensitive), ASCII digits.
    private static final Pattern FLOAT = Pattern.compile(
            "(?<!\\.)(\\d+_)*\\d+((\\.(\\d+_)*\\d+)?[eE][+\\-]?(\\d+_)*\\d+|\\.(\\d+_)*\\d+)");
    private static final Pattern INTEGER = Pattern.compile(
            "0[bB](_?[01])+|0[oO](_?[0-7])+|0[xX](_?[0-9a-fA-F])+|[1-9](_?\\d)*|0(_?0)*");
    // jinja2's name rule is a run of identifier characters (its _identifier pattern: \w plus combining marks).
    private static final Pattern NAME = Pattern.compile("[\\p{L}\\p{N}_\\p{Mn}\\p{Mc}\\u00B7]+");
    private static final Pattern RAW_BEGIN = Pattern.compile("\\{%([-+]?)");
    private static final String[] OPERATORS = {"//", "**", "==", "!=", ">=", "<=", "+", "-", "/", "*", "%", "~",
            "[", "]", "(", ")", "{", "}", "=", ".", ":", "|", ",", ";", ">", "<"};

    private final String src;
    private final String name;
    private final List<Token> out = new ArrayList<>();
    private int pos;
    private int line = 1;
    private boolean lineStarting = true;

    private Lexer(String source, String name) {
        this.src = normalizeNewlines(source);
        this.name = name;
    }

    static List<Token> tokenize(String source, String name) {
        Lexer lx = new Lexer(source, name);
        lx.run();
        return lx.out;
    }

    /** jinja2: split on \r\n, \r, \n, drop one trailing empty line, join with \n. */
    static String normalizeNewlines(String s) {
        String n = s.replace("\r\n", "\n").replace('\r', '\n');
        return n.endsWith("\n") ? n.substring(0, n.length() - 1) : n;
    }

    private void run() {
        int n = src.length();
        while (pos < n) {
            int t = nextTagStart(pos);
            if (t < 0) {
                emit(Type.DATA, src.substring(pos), line);
                line += count(src, pos, n);
                pos = n;
                break;
            }
            char kind = src.charAt(t + 1);
            int rawEnd = kind == '%' ? rawBeginEnd(t) : -1;
            String sign = "";
            int after = t + 2;
            if (rawEnd >= 0) {
                Matcher m = RAW_BEGIN.matcher(src).region(t, n);
                m.lookingAt();
                sign = m.group(1);
            } else if (after < n && (src.charAt(after) == '-' || src.charAt(after) == '+')) {
                sign = String.valueOf(src.charAt(after));
                after++;
            }
            String text = src.substring(pos, t);
            int strippedNewlines = 0;
            if (sign.equals("-")) {
                String stripped = Py.rstrip(text, null);
                strippedNewlines = count(text, stripped.length(), text.length());
                text = stripped;
            } else if (!sign.equals("+") && kind != '{') {
                text = lstripBlock(text, lineStarting);
            }
            emit(Type.DATA, text, line);
            line += count(text, 0, text.length()) + strippedNewlines;
            if (rawEnd >= 0) {
                line += count(src, t, rawEnd);
                lineStarting = rawEnd > t && src.charAt(rawEnd - 1) == '\n';
                pos = rawEnd;
                raw();
            } else if (kind == '#') {
                pos = after;
                comment();
            } else {
                pos = after;
                tag(kind == '%');
            }
        }
        out.add(new Token(Type.EOF, null, line));
    }

    /** lstrip_blocks: drop the spaces before a block tag when only whitespace separates it from the line start. */
    private static String lstripBlock(String text, boolean lineStarting) {
        int lPos = text.lastIndexOf('\n') + 1;
        if ((lPos > 0 || lineStarting) && lPos < text.length()) {
            for (int i = lPos; i < text.length(); i++) {
                if (!Py.isSpace(text.charAt(i))) {
                    return text;
                }
            }
            return text.substring(0, lPos);
        }
        return text;
    }

    private int nextTagStart(int from) {
        for (int i = src.indexOf('{', from); i >= 0 && i + 1 < src.length(); i = src.indexOf('{', i + 1)) {
            char c = src.charAt(i + 1);
            if (c == '{' || c == '%' || c == '#') {
                return i;
            }
        }
        return -1;
    }

    /** The end of a {% raw %} opening tag at t (jinja2's root_raw_re: no trim_blocks suffix), or -1. */
    private int rawBeginEnd(int t) {
        int p = t + 2;
        if (p < src.length() && (src.charAt(p) == '-' || src.charAt(p) == '+')) p++;
        p = skipSpace(p);
        if (!src.startsWith("raw", p)) return -1;
        p = skipSpace(p + 3);
        if (src.startsWith("-%}", p)) return skipSpace(p + 3);
        if (src.startsWith("%}", p)) return p + 2;
        return -1;
    }

    /** Body of a raw block up to {% endraw %}: data, with the same whitespace control as text before a tag. */
    private void raw() {
        int n = src.length();
        for (int i = src.indexOf("{%", pos); i >= 0; i = src.indexOf("{%", i + 1)) {
            int p = i + 2;
            String sign = "";
            if (p < n && (src.charAt(p) == '-' || src.charAt(p) == '+')) sign = String.valueOf(src.charAt(p++));
            p = skipSpace(p);
            if (!src.startsWith("endraw", p)) continue;
            p = skipSpace(p + 6);
            int end;
            if (src.startsWith("+%}", p)) end = p + 3;
            else if (src.startsWith("-%}", p)) end = skipSpace(p + 3);
            else if (src.startsWith("%}", p)) end = src.startsWith("\n", p + 2) ? p + 3 : p + 2;
            else continue;
            String text = src.substring(pos, i);
            if (sign.equals("-")) text = Py.rstrip(text, null);
            else if (!sign.equals("+")) text = lstripBlock(text, lineStarting);
            emit(Type.DATA, text, line);
            line += count(src, pos, end);
            lineStarting = src.charAt(end - 1) == '\n';
            pos = end;
            return;
        }
        throw error("missing end of raw directive");
    }

    private void comment() {
        int n = src.length();
        for (int p = pos; p < n; p++) {
            char c = src.charAt(p);
            int end = -1;
            if ((c == '+' || c == '-') && src.startsWith("#}", p + 1)) {
                end = c == '+' ? p + 3 : skipSpace(p + 3);
            } else if (c == '#' && src.startsWith("#}", p)) {
                end = src.startsWith("\n", p + 2) ? p + 3 : p + 2;
            }
            if (end >= 0) {
                line += count(src, pos, end);
                lineStarting = src.charAt(end - 1) == '\n';
                pos = end;
                return;
            }
        }
        throw error("missing end of comment tag");
    }

    /** The expression tokens of a {% %} or {{ }} tag, then its end (with trim_blocks / '-' handling). */
    private void tag(boolean block) {
        emit(block ? Type.BLOCK_BEGIN : Type.VAR_BEGIN, block ? "{%" : "{{", line);
        Deque<Character> balance = new ArrayDeque<>();
        int n = src.length();
        while (pos < n) {
            if (balance.isEmpty()) {
                int end = tagEnd(block);
                if (end >= 0) {
                    emit(block ? Type.BLOCK_END : Type.VAR_END, block ? "%}" : "}}", line);
                    line += count(src, pos, end);
                    lineStarting = src.charAt(end - 1) == '\n';
                    pos = end;
                    return;
                }
            }
            char c = src.charAt(pos);
            if (Py.isSpace(c)) {
                if (c == '\n') line++;
                pos++;
                continue;
            }
            Matcher m;
            if ((m = match(FLOAT)) != null) {
                String text = m.group().replace("_", "");
                emit(Type.FLOAT, Double.parseDouble(text), line);
                pos = m.end();
            } else if ((m = match(INTEGER)) != null) {
                emit(Type.INTEGER, parseInteger(m.group().replace("_", "")), line);
                pos = m.end();
            } else if ((m = match(NAME)) != null) {
                emit(Type.NAME, m.group(), line);
                pos = m.end();
            } else if (c == '\'' || c == '"') {
                int close = stringEnd(pos);
                String body = src.substring(pos + 1, close);
                emit(Type.STRING, unescape(body), line);
                line += count(src, pos, close);
                pos = close + 1;
            } else {
                String op = operatorAt(pos);
                if (op == null) {
                    throw error("unexpected char '" + c + "'");
                }
                switch (op) {
                    case "(" -> balance.push(')');
                    case "[" -> balance.push(']');
                    case "{" -> balance.push('}');
                    case ")", "]", "}" -> {
                        if (balance.isEmpty()) throw error("unexpected '" + op + "'");
                        char expected = balance.pop();
                        if (expected != op.charAt(0)) throw error("unexpected '" + op + "', expected '" + expected + "'");
                    }
                    default -> { }
                }
                emit(Type.OPERATOR, op, line);
                pos += op.length();
            }
        }
        // Like jinja2, a tag cut off by the end of the template ends the token stream; the parser reports it.
    }

    /** End of the tag at pos: block "+%}", "-%}" + whitespace, "%}" + one optional \n; variable "-}}" + ws, "}}". */
    private int tagEnd(boolean block) {
        if (block) {
            if (src.startsWith("+%}", pos)) return pos + 3;
            if (src.startsWith("-%}", pos)) return skipSpace(pos + 3);
            if (src.startsWith("%}", pos)) return src.startsWith("\n", pos + 2) ? pos + 3 : pos + 2;
        } else {
            if (src.startsWith("-}}", pos)) return skipSpace(pos + 3);
            if (src.startsWith("}}", pos)) return pos + 2;
        }
        return -1;
    }

    private Matcher match(Pattern p) {
        Matcher m = p.matcher(src).region(pos, src.length()).useTransparentBounds(true).useAnchoringBounds(false);
        return m.lookingAt() ? m : null;
    }

    private String operatorAt(int p) {
        for (String op : OPERATORS) {
            if (src.startsWith(op, p)) return op;
        }
        return null;
    }

    private int stringEnd(int open) {
        char q = src.charAt(open);
        for (int i = open + 1; i < src.length(); i++) {
            char c = src.charAt(i);
            if (c == '\\') {
                i++;
            } else if (c == q) {
                return i;
            }
        }
        throw error("unexpected char '" + q + "'");
    }

    private static Object parseInteger(String s) {
        String lower = s.toLowerCase();
        java.math.BigInteger v;
        if (lower.startsWith("0b")) v = new java.math.BigInteger(s.substring(2), 2);
        else if (lower.startsWith("0o")) v = new java.math.BigInteger(s.substring(2), 8);
        else if (lower.startsWith("0x")) v = new java.math.BigInteger(s.substring(2), 16);
        else v = new java.math.BigInteger(s);
        return v.bitLength() < 64 ? (Object) v.longValue() : v;
    }

    /**
     * jinja2 decodes string literals with Python's "unicode-escape" codec (after protecting non-ASCII characters), so
     * the escapes are Python's: \\ \' \" \a \b \f \n \r \t \v, octal \ooo, \xhh, \\uhhhh, \Uhhhhhhhh, backslash-newline;
     * any other backslash stays as written.
     */
    private String unescape(String s) {
        if (s.indexOf('\\') < 0) return s;
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c != '\\' || i + 1 >= s.length()) {
                b.append(c);
                continue;
            }
            char e = s.charAt(++i);
            switch (e) {
                case '\\' -> b.append('\\');
                case '\'' -> b.append('\'');
                case '"' -> b.append('"');
                case 'a' -> b.append('\u0007');
                case 'b' -> b.append('\b');
                case 'f' -> b.append('\f');
                case 'n' -> b.append('\n');
                case 'r' -> b.append('\r');
                case 't' -> b.append('\t');
                case 'v' -> b.append('\u000b');
                case '\n' -> { }
                case 'x', 'u', 'U' -> {
                    int len = e == 'x' ? 2 : e == 'u' ? 4 : 8;
                    String hex = s.substring(i + 1, Math.min(s.length(), i + 1 + len));
                    if (hex.length() < len || !hex.chars().allMatch(h -> Character.digit(h, 16) >= 0)) {
                        throw error("truncated \\" + e + " escape in a string literal");
                    }
                    int cp = Integer.parseUnsignedInt(hex, 16);
                    if (cp > 0x10FFFF) throw error("illegal Unicode character in a string literal");
                    b.appendCodePoint(cp);
                    i += len;
                }
                default -> {
                    if (e >= '0' && e <= '7') {
                        int v = e - '0';
                        int k = 1;
                        while (k < 3 && i + 1 < s.length() && s.charAt(i + 1) >= '0' && s.charAt(i + 1) <= '7') {
                            v = v * 8 + (s.charAt(++i) - '0');
                            k++;
                        }
                        b.appendCodePoint(v);
                    } else {
                        b.append('\\').append(e);
                    }
                }
            }
        }
        return b.toString();
    }

    private int skipSpace(int p) {
        while (p < src.length() && Py.isSpace(src.charAt(p))) p++;
        return p;
    }

    private void emit(Type type, Object value, int atLine) {
        if (type == Type.DATA && ((String) value).isEmpty()) return;
        out.add(new Token(type, value, atLine));
    }

    private static int count(String s, int from, int to) {
        int c = 0;
        for (int i = from; i < to; i++) if (s.charAt(i) == '\n') c++;
        return c;
    }

    private TemplateException error(String what) {
        return new TemplateException("chat template " + name + ", line " + line + ": " + what, false);
    }
}
