package org.moescope.chat;

import com.fasterxml.jackson.databind.JsonNode;
import org.moescope.chat.Py.PyError;
import org.moescope.chat.Py.Tuple;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * JSON between the template world and files: {@link #dumps} is Python's {@code json.dumps} as transformers' tojson
 * filter calls it (separators ", " and ": " by default, "," with an indent; floats as repr; non-ASCII kept unless
 * ensure_ascii), and {@link #fromJson} turns a parsed JSON document into template values as Python's json.load does
 * (objects keep key order, integers stay ints, other numbers become floats).
 */
public final class PyJson {
    private PyJson() {
    }

    /** A parsed JSON value as a template value; {@code source} names it in errors. */
    public static Object fromJson(JsonNode node, String source) {
        return switch (node.getNodeType()) {
            case OBJECT -> {
                Map<String, Object> m = new LinkedHashMap<>();
                for (Map.Entry<String, JsonNode> e : node.properties()) m.put(e.getKey(), fromJson(e.getValue(), source));
                yield m;
            }
            case ARRAY -> {
                List<Object> l = new ArrayList<>();
                for (JsonNode x : node) l.add(fromJson(x, source));
                yield l;
            }
            case STRING -> node.textValue();
            case BOOLEAN -> node.booleanValue();
            case NULL, MISSING -> null;
            case NUMBER -> {
                if (node.isIntegralNumber()) {
                    if (!node.canConvertToLong()) {
                        throw new org.moescope.errors.BadInputException(source + ": integer " + node.asText()
                                + " is out of the 64-bit range");
                    }
                    yield node.longValue();
                }
                yield node.doubleValue();
            }
            default -> throw new org.moescope.errors.BadInputException(source + ": unsupported JSON value " + node);
        };
    }

    /** json.dumps(value, ensure_ascii, indent, separators, sort_keys), as transformers' tojson filter. */
    static String dumps(Object value, boolean ensureAscii, Object indent, Object separators, boolean sortKeys) {
        String indentStr = null;
        if (indent != null) {
            indentStr = indent instanceof String s ? s : " ".repeat((int) Math.max(0, Py.index(indent, "indent")));
        }
        String itemSep = indentStr == null ? ", " : ",";
        String keySep = ": ";
        if (separators != null) {
            List<Object> seps = Py.iterate(separators);
            if (seps.size() != 2 || !(seps.get(0) instanceof String a) || !(seps.get(1) instanceof String b)) {
                throw new PyError("separators must be an (item_separator, key_separator) pair of strings");
            }
            itemSep = a;
            keySep = b;
        }
        StringBuilder out = new StringBuilder();
        new Writer(ensureAscii, indentStr, itemSep, keySep, sortKeys, out).write(value, 0);
        return out.toString();
    }

    private record Writer(boolean ascii, String indent, String itemSep, String keySep, boolean sortKeys,
                          StringBuilder out) {
        void write(Object v, int level) {
            switch (v) {
                case null -> out.append("null");
                case Boolean b -> out.append(b ? "true" : "false");
                case Long l -> out.append(l);
                case Double d -> out.append(floatJson(d));
                case String s -> string(s);
                case List<?> l -> list(l, level);
                case Tuple t -> list(t.items(), level);
                case Map<?, ?> m -> map(m, level);
                default -> throw new PyError("Object of type " + Py.typeName(v) + " is not JSON serializable");
            }
        }

        private void newline(int level) {
            if (indent != null) out.append('\n').append(indent.repeat(level));
        }

        private void list(List<?> l, int level) {
            if (l.isEmpty()) {
                out.append("[]");
                return;
            }
            out.append('[');
            newline(level + 1);
            for (int i = 0; i < l.size(); i++) {
                if (i > 0) {
                    out.append(itemSep);
                    newline(level + 1);
                }
                write(l.get(i), level + 1);
            }
            newline(level);
            out.append(']');
        }

        private void map(Map<?, ?> m, int level) {
            if (m.isEmpty()) {
                out.append("{}");
                return;
            }
            List<Map.Entry<?, ?>> entries = new ArrayList<>(m.entrySet());
            if (sortKeys) entries.sort((a, b) -> Py.compare(a.getKey(), b.getKey(), "<"));
            out.append('{');
            newline(level + 1);
            boolean first = true;
            for (Map.Entry<?, ?> e : entries) {
                if (!first) {
                    out.append(itemSep);
                    newline(level + 1);
                }
                first = false;
                string(key(e.getKey()));
                out.append(keySep);
                write(e.getValue(), level + 1);
            }
            newline(level);
            out.append('}');
        }

        /** json.dumps turns str, int, float, bool and None keys into strings; others are a TypeError. */
        private static String key(Object k) {
            return switch (k) {
                case String s -> s;
                case null -> "null";
                case Boolean b -> b ? "true" : "false";
                case Long l -> l.toString();
                case Double d -> floatJson(d);
                default -> throw new PyError("keys must be str, int, float, bool or None, not " + Py.typeName(k));
            };
        }

        private static String floatJson(double d) {
            if (Double.isNaN(d)) return "NaN";
            if (Double.isInfinite(d)) return d > 0 ? "Infinity" : "-Infinity";
            return Py.floatRepr(d);
        }

        private void string(String s) {
            out.append('"');
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                switch (c) {
                    case '"' -> out.append("\\\"");
                    case '\\' -> out.append("\\\\");
                    case '\n' -> out.append("\\n");
                    case '\r' -> out.append("\\r");
                    case '\t' -> out.append("\\t");
                    case '\b' -> out.append("\\b");
                    case '\f' -> out.append("\\f");
                    default -> {
                        // ensure_ascii escapes all but ' '..'~' (UTF-16 units: astral characters as surrogate pairs)
                        if (c < 0x20 || (ascii && c > 0x7e)) out.append(String.format("\\u%04x", (int) c));
                        else out.append(c);
                    }
                }
            }
            out.append('"');
        }
    }
}
