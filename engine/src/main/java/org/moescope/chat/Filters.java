package org.moescope.chat;

import org.moescope.chat.Py.Generator;
import org.moescope.chat.Py.PyError;
import org.moescope.chat.Py.Tuple;
import org.moescope.chat.Py.Undefined;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * jinja2 3.1's built-in filters that chat templates use, each as jinja2 defines it (select, map, items, unique and
 * reverse return one-shot generators, as there), plus transformers' own {@code tojson}. Filters that need HTML
 * escaping (safe, escape, forceescape, urlize, striptags...) or randomness are not implemented and are refused at
 * parse time with a message that says so.
 */
final class Filters {
    private Filters() {
    }

    private static final Set<String> SUPPORTED = Set.of("abs", "attr", "capitalize", "center", "count", "d",
            "default", "first", "float", "indent", "int", "items", "join", "last", "length", "list", "lower", "map",
            "max", "min", "reject", "rejectattr", "replace", "reverse", "round", "select", "selectattr", "sort",
            "string", "sum", "title", "tojson", "trim", "unique", "upper", "wordcount");
    private static final Set<String> JINJA_ONLY = Set.of("batch", "dictsort", "e", "escape", "filesizeformat",
            "forceescape", "format", "groupby", "pprint", "random", "safe", "slice", "striptags", "truncate",
            "urlencode", "urlize", "wordwrap", "xmlattr");
    private static final Pattern WORD_BEGINNING_SPLIT = Pattern.compile("([-\\s(\\{\\[<]+)", Pattern.UNICODE_CHARACTER_CLASS);
    private static final Pattern WORD = Pattern.compile("\\w+", Pattern.UNICODE_CHARACTER_CLASS);
    private static final Object ABSENT = new Object();

    static boolean exists(String name) {
        return SUPPORTED.contains(name);
    }

    static boolean knownToJinja(String name) {
        return JINJA_ONLY.contains(name);
    }

    /** Binds filter arguments (after the value) by position and keyword, as a Python signature would. */
    private static Object[] bind(String filter, List<Object> args, Map<String, Object> kw, String... names) {
        if (args.size() > names.length) {
            throw new PyError(filter + "() takes at most " + (names.length + 1) + " arguments (" + (args.size() + 1)
                    + " given)");
        }
        Object[] out = new Object[names.length];
        java.util.Arrays.fill(out, ABSENT);
        for (int i = 0; i < args.size(); i++) out[i] = args.get(i);
        for (Map.Entry<String, Object> e : kw.entrySet()) {
            int at = List.of(names).indexOf(e.getKey());
            if (at < 0) throw new PyError(filter + "() got an unexpected keyword argument '" + e.getKey() + "'");
            if (out[at] != ABSENT) throw new PyError(filter + "() got multiple values for argument '" + e.getKey() + "'");
            out[at] = e.getValue();
        }
        return out;
    }

    private static Object or(Object v, Object dflt) {
        return v == ABSENT ? dflt : v;
    }

    static Object apply(String name, Object value, List<Object> args, Map<String, Object> kw) {
        switch (name) {
            case "length", "count" -> {
                bind(name, args, kw);
                return Py.len(value);
            }
            case "string" -> {
                bind(name, args, kw);
                return Py.str(value);
            }
            case "lower" -> {
                bind(name, args, kw);
                return Py.lower(Py.str(value));
            }
            case "upper" -> {
                bind(name, args, kw);
                return Py.upper(Py.str(value));
            }
            case "capitalize" -> {
                bind(name, args, kw);
                return Py.capitalize(Py.str(value));
            }
            case "title" -> {
                bind(name, args, kw);
                return title(Py.str(value));
            }
            case "trim" -> {
                Object[] a = bind(name, args, kw, "chars");
                Object chars = or(a[0], null);
                return Py.strip(Py.str(value), chars == null ? null : Py.str(chars), true, true);
            }
            case "replace" -> {
                Object[] a = bind(name, args, kw, "old", "new", "count");
                if (a[0] == ABSENT || a[1] == ABSENT) throw new PyError("replace() missing required arguments");
                Object count = or(a[2], null);
                List<Object> margs = new ArrayList<>(List.of(Py.str(a[0]), Py.str(a[1])));
                margs.add(count == null ? -1L : count);
                return Methods.call(Py.str(value), "replace", margs, Map.of());
            }
            case "center" -> {
                Object[] a = bind(name, args, kw, "width");
                return Methods.pad(Py.str(value), Py.index(or(a[0], 80L), "width"), " ", "center");
            }
            case "wordcount" -> {
                bind(name, args, kw);
                Matcher m = WORD.matcher(Py.str(value));
                long n = 0;
                while (m.find()) n++;
                return n;
            }
            case "indent" -> {
                Object[] a = bind(name, args, kw, "width", "first", "blank");
                return indent(Py.str(value), or(a[0], 4L), Py.truthy(or(a[1], false)), Py.truthy(or(a[2], false)));
            }
            case "default", "d" -> {
                Object[] a = bind(name, args, kw, "default_value", "boolean");
                boolean bool = Py.truthy(or(a[1], false));
                return value instanceof Undefined || (bool && !Py.truthy(value)) ? or(a[0], "") : value;
            }
            case "join" -> {
                Object[] a = bind(name, args, kw, "d", "attribute");
                List<Object> items = Py.iterate(value);
                Object attribute = or(a[1], null);
                StringBuilder b = new StringBuilder();
                String sep = Py.str(or(a[0], ""));
                for (int i = 0; i < items.size(); i++) {
                    if (i > 0) b.append(sep);
                    b.append(Py.str(attribute == null ? items.get(i) : attrGetter(attribute, null).apply(items.get(i))));
                }
                return b.toString();
            }
            case "first" -> {
                bind(name, args, kw);
                if (value instanceof Generator g) {
                    Object next = g.next();
                    return next != Generator.END ? next : new Undefined("No first item, sequence was empty.");
                }
                List<Object> items = Py.iterate(value);
                return items.isEmpty() ? new Undefined("No first item, sequence was empty.") : items.get(0);
            }
            case "last" -> {
                bind(name, args, kw);
                if (value instanceof Generator || value instanceof Map || value instanceof Py.View) {
                    throw new PyError("'" + Py.typeName(value) + "' object is not reversible");
                }
                List<Object> items = Py.iterate(value);
                return items.isEmpty() ? new Undefined("No last item, sequence was empty.") : items.getLast();
            }
            case "list" -> {
                bind(name, args, kw);
                return new ArrayList<>(Py.iterate(value));
            }
            case "reverse" -> {
                bind(name, args, kw);
                if (value instanceof String s) return Py.slice(s, null, null, -1L);
                List<Object> items = new ArrayList<>(Py.iterate(value));
                Collections.reverse(items);
                // reversed() works on sequences and dicts (an iterator); anything else becomes a reversed list.
                return value instanceof List || value instanceof Tuple || value instanceof Map
                        || value instanceof Py.View ? new Generator(items, "reversed") : items;
            }
            case "items" -> {
                bind(name, args, kw);
                if (value instanceof Undefined) return new Generator(new ArrayList<>(), "do_items");
                if (!(value instanceof Map<?, ?> m)) throw new PyError("Can only get item pairs from a mapping.");
                List<Object> out = new ArrayList<>();
                m.forEach((k, v) -> out.add(new Tuple(java.util.Arrays.asList(k, v))));
                return new Generator(out, "do_items");
            }
            case "sort" -> {
                Object[] a = bind(name, args, kw, "reverse", "case_sensitive", "attribute");
                boolean caseSensitive = Py.truthy(or(a[1], false));
                Function<Object, Object> key = multiAttrGetter(or(a[2], null), caseSensitive);
                List<Object> items = new ArrayList<>(Py.iterate(value));
                List<Object> keys = new ArrayList<>();
                for (Object item : items) keys.add(key.apply(item));
                Integer[] order = new Integer[items.size()];
                for (int i = 0; i < order.length; i++) order[i] = i;
                boolean rev = Py.truthy(or(a[0], false));
                // Python's sort is stable also when reversed (equal keys keep their order).
                java.util.Arrays.sort(order, (x, y) -> (rev ? -1 : 1) * Py.compare(keys.get(x), keys.get(y), "<"));
                List<Object> out = new ArrayList<>();
                for (int i : order) out.add(items.get(i));
                return out;
            }
            case "unique" -> {
                Object[] a = bind(name, args, kw, "case_sensitive", "attribute");
                Function<Object, Object> key = attrGetter(or(a[1], null), Py.truthy(or(a[0], false)) ? null
                        : Filters::ignoreCase);
                List<Object> seen = new ArrayList<>();
                List<Object> out = new ArrayList<>();
                for (Object item : Py.iterate(value)) {
                    Object k = key.apply(item);
                    if (k instanceof List || k instanceof Map) throw new PyError("unhashable type: '" + Py.typeName(k) + "'");
                    if (seen.stream().noneMatch(s -> Py.eq(s, k))) {
                        seen.add(k);
                        out.add(item);
                    }
                }
                return new Generator(out, "do_unique");
            }
            case "min", "max" -> {
                Object[] a = bind(name, args, kw, "case_sensitive", "attribute");
                List<Object> items = Py.iterate(value);
                if (items.isEmpty()) return new Undefined("No aggregated item, sequence was empty.");
                Function<Object, Object> key = attrGetter(or(a[1], null), Py.truthy(or(a[0], false)) ? null
                        : Filters::ignoreCase);
                Object best = items.get(0);
                Object bestKey = key.apply(best);
                for (Object item : items.subList(1, items.size())) {
                    Object k = key.apply(item);
                    int c = Py.compare(k, bestKey, name.equals("min") ? "<" : ">");
                    if (name.equals("min") ? c < 0 : c > 0) {
                        best = item;
                        bestKey = k;
                    }
                }
                return best;
            }
            case "sum" -> {
                Object[] a = bind(name, args, kw, "attribute", "start");
                Object total = or(a[1], 0L);
                Object attribute = or(a[0], null);
                for (Object item : Py.iterate(value)) {
                    total = Py.binop("+", total, attribute == null ? item : attrGetter(attribute, null).apply(item));
                }
                return total;
            }
            case "abs" -> {
                bind(name, args, kw);
                if (value instanceof Double d) return Math.abs(d);
                if (Py.isIntegral(value)) return Math.abs(Py.asLong(value));
                throw new PyError("bad operand type for abs(): '" + Py.typeName(value) + "'");
            }
            case "int" -> {
                Object[] a = bind(name, args, kw, "default", "base");
                return toInt(value, or(a[0], 0L), Py.index(or(a[1], 10L), "base"));
            }
            case "float" -> {
                Object[] a = bind(name, args, kw, "default");
                Double d = toFloat(value);
                return d != null ? d : or(a[0], 0.0);
            }
            case "round" -> {
                Object[] a = bind(name, args, kw, "precision", "method");
                return round(value, Py.index(or(a[0], 0L), "precision"), Py.str(or(a[1], "common")));
            }
            case "attr" -> {
                Object[] a = bind(name, args, kw, "name");
                String attr = Py.str(a[0]);
                if (value instanceof Undefined u) throw u.error();
                if (Methods.has(value, attr)) {
                    Methods.checkSafe(value, attr);
                    return new Py.BoundMethod(value, attr);
                }
                if (value instanceof Py.Namespace ns && ns.attrs.containsKey(attr)) return ns.attrs.get(attr);
                if (value instanceof Interpreter.Loop loop) return loop.attribute(attr);
                return new Undefined(Py.describe(value) + " has no attribute '" + attr + "'");
            }
            case "map" -> {
                List<Object> items = Py.iterate(value);
                Function<Object, Object> f;
                if (args.isEmpty() && kw.containsKey("attribute")) {
                    Map<String, Object> rest = new java.util.LinkedHashMap<>(kw);
                    Object attribute = rest.remove("attribute");
                    Object dflt = rest.remove("default");
                    if (!rest.isEmpty()) throw new PyError("Unexpected keyword argument '" + rest.keySet().iterator().next() + "'");
                    f = attrGetter(attribute, null, dflt);
                } else {
                    if (args.isEmpty()) throw new PyError("map requires a filter argument");
                    String filter = Py.str(args.get(0));
                    if (!exists(filter)) throw new PyError("No filter named '" + filter + "'.");
                    List<Object> rest = args.subList(1, args.size());
                    f = item -> apply(filter, item, rest, kw);
                }
                List<Object> out = new ArrayList<>();
                for (Object item : items) out.add(f.apply(item));
                return new Generator(out, "do_map");
            }
            case "select", "reject", "selectattr", "rejectattr" -> {
                boolean lookupAttr = name.endsWith("attr");
                boolean keep = name.startsWith("select");
                List<Object> out = new ArrayList<>();
                if (Py.truthy(value)) {
                    Function<Object, Object> trans = item -> item;
                    int off = 0;
                    if (lookupAttr) {
                        if (args.isEmpty()) throw new PyError("Missing parameter for attribute name");
                        trans = attrGetter(args.get(0), null);
                        off = 1;
                    }
                    String test = args.size() > off ? Py.str(args.get(off)) : null;
                    if (test != null && !Tests.exists(test)) throw new PyError("No test named '" + test + "'.");
                    List<Object> testArgs = args.size() > off + 1 ? args.subList(off + 1, args.size()) : List.of();
                    for (Object item : Py.iterate(value)) {
                        Object v = trans.apply(item);
                        boolean pass = test == null ? Py.truthy(v) : Tests.apply(test, v, testArgs, kw);
                        if (pass == keep) out.add(item);
                    }
                }
                return new Generator(out, "select_or_reject");
            }
            case "tojson" -> {
                Object[] a = bind(name, args, kw, "ensure_ascii", "indent", "separators", "sort_keys");
                return PyJson.dumps(value, Py.truthy(or(a[0], false)), or(a[1], null), or(a[2], null),
                        Py.truthy(or(a[3], false)));
            }
            default -> throw new PyError("no filter named '" + name + "'");
        }
    }

    /** jinja2's do_title: split on runs of -, whitespace, ( { [ <, then first character upper, the rest lower. */
    private static String title(String s) {
        StringBuilder b = new StringBuilder();
        Matcher m = WORD_BEGINNING_SPLIT.matcher(s);
        int last = 0;
        List<String> parts = new ArrayList<>();
        while (m.find()) {
            parts.add(s.substring(last, m.start()));
            parts.add(m.group());
            last = m.end();
        }
        parts.add(s.substring(last));
        for (String item : parts) {
            if (item.isEmpty()) continue;
            int cp = item.codePointAt(0);
            b.append(Py.upper(Character.toString(cp))).append(Py.lower(item.substring(Character.charCount(cp))));
        }
        return b.toString();
    }

    private static String indent(String s, Object width, boolean first, boolean blank) {
        String indention = width instanceof String w ? w : " ".repeat((int) Py.index(width, "width"));
        s += "\n";
        String rv;
        List<Object> lines = Py.splitlines(s, false);
        if (blank) {
            StringBuilder b = new StringBuilder();
            for (int i = 0; i < lines.size(); i++) {
                if (i > 0) b.append('\n').append(indention);
                b.append((String) lines.get(i));
            }
            rv = b.toString();
        } else {
            StringBuilder b = new StringBuilder((String) lines.get(0));
            if (lines.size() > 1) {
                b.append('\n');
                for (int i = 1; i < lines.size(); i++) {
                    if (i > 1) b.append('\n');
                    String line = (String) lines.get(i);
                    b.append(line.isEmpty() ? line : indention + line);
                }
            }
            rv = b.toString();
        }
        return first ? indention + rv : rv;
    }

    private static Object ignoreCase(Object v) {
        return v instanceof String s ? Py.lower(s) : v;
    }

    private static List<Object> attributeParts(Object attribute) {
        if (attribute == null) return List.of();
        if (attribute instanceof String s) {
            List<Object> parts = new ArrayList<>();
            for (Object p : Py.split(s, ".", -1, false)) {
                String part = (String) p;
                parts.add(!part.isEmpty() && part.chars().allMatch(Character::isDigit) ? (Object) Long.parseLong(part) : part);
            }
            return parts;
        }
        return List.of(attribute);
    }

    static Function<Object, Object> attrGetter(Object attribute, Function<Object, Object> post) {
        return attrGetter(attribute, post, null);
    }

    /** jinja2's make_attrgetter: dotted parts looked up with getitem (integer parts as ints), then a default. */
    static Function<Object, Object> attrGetter(Object attribute, Function<Object, Object> post, Object dflt) {
        List<Object> parts = attributeParts(attribute);
        return item -> {
            for (Object part : parts) {
                item = Py.getitem(item, part);
                if (dflt != null && item instanceof Undefined) item = dflt;
            }
            return post == null ? item : post.apply(item);
        };
    }

    /** jinja2's make_multi_attrgetter (sort): "age,name" gives a list key. */
    private static Function<Object, Object> multiAttrGetter(Object attribute, boolean caseSensitive) {
        Function<Object, Object> post = caseSensitive ? null : Filters::ignoreCase;
        if (!(attribute instanceof String s)) {
            Function<Object, Object> one = attrGetter(attribute, post);
            return item -> List.of(one.apply(item));
        }
        List<Function<Object, Object>> getters = new ArrayList<>();
        for (Object part : Py.split(s, ",", -1, false)) getters.add(attrGetter(part, post));
        return item -> {
            List<Object> key = new ArrayList<>();
            for (Function<Object, Object> g : getters) key.add(g.apply(item));
            return key;
        };
    }

    private static Object toInt(Object value, Object dflt, long base) {
        if (value instanceof String s) {
            Long parsed = parseInt(s, base);
            if (parsed != null) return parsed;
        } else if (Py.isIntegral(value)) {
            return Py.asLong(value);
        } else if (value instanceof Double d) {
            if (!Double.isNaN(d) && !Double.isInfinite(d)) return (long) (double) d;
            return dflt;
        }
        Double f = toFloat(value);
        return f != null && !Double.isNaN(f) && !Double.isInfinite(f) ? (Object) (long) (double) f : dflt;
    }

    /** Python's int(str, base): optional sign, underscores between digits, a 0x/0o/0b prefix for its base or 0. */
    private static Long parseInt(String s, long base) {
        String t = Py.strip(s, null, true, true).toLowerCase();
        boolean neg = t.startsWith("-");
        if (neg || t.startsWith("+")) t = t.substring(1);
        long b = base;
        if ((b == 16 || b == 0) && t.startsWith("0x")) {
            b = 16;
            t = t.substring(2);
        } else if ((b == 8 || b == 0) && t.startsWith("0o")) {
            b = 8;
            t = t.substring(2);
        } else if ((b == 2 || b == 0) && t.startsWith("0b")) {
            b = 2;
            t = t.substring(2);
        } else if (b == 0) {
            b = 10;
        }
        if (t.isEmpty() || t.startsWith("_") || t.endsWith("_") || t.contains("__") || b < 2 || b > 36) return null;
        try {
            long v = Long.parseLong(t.replace("_", ""), (int) b);
            return neg ? -v : v;
        } catch (NumberFormatException e) {
            return null;
        }
    }

    /** Python's float(x) for str, int, float, bool; null where Python raises. */
    static Double toFloat(Object value) {
        if (value instanceof Double d) return d;
        if (Py.isIntegral(value)) return (double) Py.asLong(value);
        if (value instanceof String s) {
            String t = Py.strip(s, null, true, true).toLowerCase().replace("_", "");
            switch (t) {
                case "inf", "+inf", "infinity", "+infinity" -> {
                    return Double.POSITIVE_INFINITY;
                }
                case "-inf", "-infinity" -> {
                    return Double.NEGATIVE_INFINITY;
                }
                case "nan", "+nan", "-nan" -> {
                    return Double.NaN;
                }
                default -> { }
            }
            if (!t.matches("[+-]?(\\d+\\.?\\d*|\\.\\d+)(e[+-]?\\d+)?")) return null;
            return Double.parseDouble(t);
        }
        return null;
    }

    /** jinja2's round: 'common' is Python's round() (correctly rounded, ties to even), ceil/floor scale by 10^p. */
    private static Object round(Object value, long precision, String method) {
        if (!Py.isNumber(value)) throw new PyError("type " + Py.typeName(value) + " doesn't define __round__ method");
        double v = Py.asDouble(value);
        switch (method) {
            case "common" -> {
                if (Py.isIntegral(value)) {
                    // round(int, p) stays an int in Python
                    if (precision >= 0) return Py.asLong(value);
                    return new BigDecimal(Py.asLong(value)).setScale((int) precision, RoundingMode.HALF_EVEN).longValue();
                }
                if (Double.isNaN(v) || Double.isInfinite(v)) return v;
                return new BigDecimal(v).setScale((int) precision, RoundingMode.HALF_EVEN).doubleValue();
            }
            case "ceil", "floor" -> {
                double scale = Math.pow(10, precision);
                double r = method.equals("ceil") ? Math.ceil(v * scale) : Math.floor(v * scale);
                return r / scale;
            }
            default -> throw new PyError("method must be common, ceil or floor");
        }
    }
}
