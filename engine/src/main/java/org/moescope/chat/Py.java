package org.moescope.chat;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The Python semantics that chat templates rely on, over plain Java values: None = null, bool = Boolean, int = Long,
 * float = Double, str = String (indexed by code point, as Python does), list = List, tuple = {@link Tuple}, dict =
 * LinkedHashMap (insertion order, as Python dicts), jinja2's {@link Undefined}, {@link Namespace}, and callables.
 * Truth, str()/repr(), ==, ordering, {@code in}, arithmetic, indexing and slicing, and the str/dict/list methods
 * follow CPython 3.11; where Python raises, {@link PyError} carries Python's message.
 */
final class Py {
    private Py() {
    }

    /** A Python-level error (TypeError, ValueError, jinja2's UndefinedError...); the interpreter adds the line. */
    static class PyError extends RuntimeException {
        PyError(String message) {
            super(message, null, false, false);
        }
    }

    /** jinja2's Undefined: a missing variable, attribute or item. Prints as "", is false, iterates as empty. */
    record Undefined(String hint) {
        PyError error() {
            return new PyError(hint);
        }
    }

    record Tuple(List<Object> items) {
    }

    /** jinja2's namespace(): the one object a template may assign attributes to. */
    static final class Namespace {
        final Map<String, Object> attrs = new LinkedHashMap<>();
    }

    /**
     * A Python generator or iterator (what select, map, unique, reverse and the items filter return): iterates
     * once, has no len(), is always true, and prints as an object.
     */
    static final class Generator {
        static final Object END = new Object();
        private final List<Object> items;
        private final String kind;
        private int next;

        Generator(List<Object> items, String kind) {
            this.items = items;
            this.kind = kind;
        }

        Object next() {
            return next < items.size() ? items.get(next++) : END;
        }

        List<Object> drain() {
            List<Object> rest = new ArrayList<>(items.subList(next, items.size()));
            next = items.size();
            return rest;
        }

        String kind() {
            return kind;
        }
    }

    /** dict.items() / keys() / values(): a view with len() and a repr of its own (dict_items([...])). */
    record View(String kind, List<Object> items) {
    }

    /** Anything callable from a template: globals, macros, bound methods. */
    interface Callable {
        Object call(List<Object> args, Map<String, Object> kwargs);
    }

    /** A str/list/dict method bound to its object, as {@code 'a b'.split} is in Python. */
    record BoundMethod(Object self, String name) implements Callable {
        @Override
        public Object call(List<Object> args, Map<String, Object> kwargs) {
            return Methods.call(self, name, args, kwargs);
        }
    }

    // ---- whitespace and type names

    /** Python's str.isspace() for one UTF-16 unit (no whitespace lies outside the BMP). */
    static boolean isSpace(int c) {
        return switch (c) {
            case ' ', '\t', '\n', 0x0b, 0x0c, '\r', 0x1c, 0x1d, 0x1e, 0x1f, 0x85, 0xa0, 0x1680, 0x2028, 0x2029, 0x202f,
                 0x205f, 0x3000 -> true;
            default -> c >= 0x2000 && c <= 0x200a;
        };
    }

    static String typeName(Object v) {
        return switch (v) {
            case null -> "NoneType";
            case Boolean b -> "bool";
            case Long l -> "int";
            case Double d -> "float";
            case String s -> "str";
            case List<?> l -> "list";
            case Tuple t -> "tuple";
            case Map<?, ?> m -> "dict";
            case Undefined u -> "Undefined";
            case Generator g -> g.kind().equals("reversed") ? "list_reverseiterator" : "generator";
            case View w -> w.kind();
            case Namespace n -> "Namespace";
            case Interpreter.Loop l -> "LoopContext";
            case BoundMethod m -> "builtin_function_or_method";
            case Callable c -> "function";
            default -> v.getClass().getSimpleName();
        };
    }

    // ---- truth, str, repr

    static boolean truthy(Object v) {
        return switch (v) {
            case null -> false;
            case Boolean b -> b;
            case Long l -> l != 0;
            case Double d -> d != 0.0;
            case String s -> !s.isEmpty();
            case List<?> l -> !l.isEmpty();
            case Tuple t -> !t.items().isEmpty();
            case Map<?, ?> m -> !m.isEmpty();
            case View w -> !w.items().isEmpty();
            case Undefined u -> false;
            default -> true;
        };
    }

    static String str(Object v) {
        return switch (v) {
            case null -> "None";
            case String s -> s;
            case Boolean b -> b ? "True" : "False";
            case Long l -> l.toString();
            case Double d -> floatRepr(d);
            case Undefined u -> "";
            default -> repr(v);
        };
    }

    static String repr(Object v) {
        return switch (v) {
            case null -> "None";
            case String s -> strRepr(s);
            case List<?> l -> join(l, "[", "]", false);
            case Tuple t -> join(t.items(), "(", ")", t.items().size() == 1);
            case Map<?, ?> m -> {
                StringBuilder b = new StringBuilder("{");
                boolean first = true;
                for (Map.Entry<?, ?> e : m.entrySet()) {
                    if (!first) b.append(", ");
                    first = false;
                    b.append(repr(e.getKey())).append(": ").append(repr(e.getValue()));
                }
                yield b.append('}').toString();
            }
            case Namespace n -> "<Namespace " + repr(n.attrs) + ">";
            case View w -> w.kind() + "(" + join(w.items(), "[", "]", false) + ")";
            case Generator g -> "<" + typeName(g) + " object " + g.kind() + ">";
            case Undefined u -> "Undefined";
            case Interpreter.Loop l -> "<LoopContext " + (l.index0() + 1) + "/" + l.length() + ">";
            case BoundMethod m -> "<built-in method " + m.name() + " of " + typeName(m.self()) + " object>";
            case Callable c -> "<function>";
            default -> str(v);
        };
    }

    private static String join(List<?> items, String open, String close, boolean trailingComma) {
        StringBuilder b = new StringBuilder(open);
        for (int i = 0; i < items.size(); i++) {
            if (i > 0) b.append(", ");
            b.append(repr(items.get(i)));
        }
        if (trailingComma) b.append(',');
        return b.append(close).toString();
    }

    /** Python's repr(str): single quotes unless the text has ' and no ", non-printable characters escaped. */
    static String strRepr(String s) {
        char q = s.indexOf('\'') >= 0 && s.indexOf('"') < 0 ? '"' : '\'';
        StringBuilder b = new StringBuilder(s.length() + 2).append(q);
        s.codePoints().forEach(cp -> {
            if (cp == q || cp == '\\') b.append('\\').appendCodePoint(cp);
            else if (cp == '\n') b.append("\\n");
            else if (cp == '\r') b.append("\\r");
            else if (cp == '\t') b.append("\\t");
            else if (!isPrintable(cp)) {
                if (cp < 0x100) b.append(String.format("\\x%02x", cp));
                else if (cp < 0x10000) b.append(String.format("\\u%04x", cp));
                else b.append(String.format("\\U%08x", cp));
            } else b.appendCodePoint(cp);
        });
        return b.append(q).toString();
    }

    /** Python's str.isprintable() for one code point: not in Cc, Cf, Cs, Co, Cn, Zl, Zp, Zs (space excepted). */
    static boolean isPrintable(int cp) {
        if (cp == ' ') return true;
        int t = Character.getType(cp);
        return t != Character.CONTROL && t != Character.FORMAT && t != Character.SURROGATE
                && t != Character.PRIVATE_USE && t != Character.UNASSIGNED && t != Character.LINE_SEPARATOR
                && t != Character.PARAGRAPH_SEPARATOR && t != Character.SPACE_SEPARATOR;
    }

    /**
     * Python's repr(float): the shortest digits that round-trip (the JDK's Double.toString gives the same digits
     * since JDK 19), in fixed notation when the decimal exponent is in (-4, 16], else as 1.5e-05 / 1e+16.
     */
    static String floatRepr(double d) {
        if (Double.isNaN(d)) return "nan";
        if (Double.isInfinite(d)) return d > 0 ? "inf" : "-inf";
        if (d == 0) return 1 / d < 0 ? "-0.0" : "0.0";
        BigDecimal bd = new BigDecimal(Double.toString(Math.abs(d))).stripTrailingZeros();
        String digits = bd.unscaledValue().toString();
        int decpt = digits.length() - bd.scale();
        StringBuilder b = new StringBuilder(d < 0 ? "-" : "");
        if (decpt <= -4 || decpt > 16) {
            b.append(digits.charAt(0));
            if (digits.length() > 1) b.append('.').append(digits, 1, digits.length());
            int exp = decpt - 1;
            b.append('e').append(exp < 0 ? '-' : '+');
            if (Math.abs(exp) < 10) b.append('0');
            b.append(Math.abs(exp));
        } else if (decpt <= 0) {
            b.append("0.").append("0".repeat(-decpt)).append(digits);
        } else if (decpt >= digits.length()) {
            b.append(digits).append("0".repeat(decpt - digits.length())).append(".0");
        } else {
            b.append(digits, 0, decpt).append('.').append(digits, decpt, digits.length());
        }
        return b.toString();
    }

    // ---- numbers

    static boolean isNumber(Object v) {
        return v instanceof Long || v instanceof Double || v instanceof Boolean;
    }

    static boolean isIntegral(Object v) {
        return v instanceof Long || v instanceof Boolean;
    }

    static long asLong(Object v) {
        return v instanceof Boolean b ? (b ? 1 : 0) : (Long) v;
    }

    static double asDouble(Object v) {
        return v instanceof Double d ? d : asLong(v);
    }

    /** An int argument (index, count, width...); bool counts as int, as in Python. */
    static long index(Object v, String what) {
        if (isIntegral(v)) return asLong(v);
        throw new PyError(what + " must be an integer, not '" + typeName(v) + "'");
    }

    // ---- equality, ordering, membership

    static boolean eq(Object a, Object b) {
        if (a instanceof Undefined || b instanceof Undefined) return a instanceof Undefined && b instanceof Undefined;
        if (a == null || b == null) return a == b;
        if (isNumber(a) && isNumber(b)) {
            if (isIntegral(a) && isIntegral(b)) return asLong(a) == asLong(b);
            return asDouble(a) == asDouble(b);
        }
        if (a instanceof String s) return s.equals(b);
        if (a instanceof List<?> x && b instanceof List<?> y) return seqEq(x, y);
        if (a instanceof Tuple x && b instanceof Tuple y) return seqEq(x.items(), y.items());
        if (a instanceof Map<?, ?> x && b instanceof Map<?, ?> y) {
            if (x.size() != y.size()) return false;
            for (Map.Entry<?, ?> e : x.entrySet()) {
                Object key = findKey(y, e.getKey());
                if (key == NO_KEY || !eq(e.getValue(), y.get(key))) return false;
            }
            return true;
        }
        return a == b || a.equals(b);
    }

    private static boolean seqEq(List<?> x, List<?> y) {
        if (x.size() != y.size()) return false;
        for (int i = 0; i < x.size(); i++) if (!eq(x.get(i), y.get(i))) return false;
        return true;
    }

    static final Object NO_KEY = new Object();

    /** The key of m equal to k in Python's sense (1 == 1.0 == True), or NO_KEY. */
    static Object findKey(Map<?, ?> m, Object k) {
        if (m.containsKey(k)) return k;
        if (k == null || isNumber(k)) {
            for (Object key : m.keySet()) if (eq(key, k)) return key;
        }
        return NO_KEY;
    }

    /** Python ordering (<, <=, >, >=): numbers, str by code point, list/tuple lexicographically; else TypeError. */
    static int compare(Object a, Object b, String op) {
        if (a instanceof Undefined u) throw u.error();
        if (b instanceof Undefined u) throw u.error();
        if (isNumber(a) && isNumber(b)) {
            if (isIntegral(a) && isIntegral(b)) return Long.compare(asLong(a), asLong(b));
            return Double.compare(asDouble(a), asDouble(b));
        }
        if (a instanceof String x && b instanceof String y) return compareCodePoints(x, y);
        List<?> x = a instanceof Tuple t ? t.items() : a instanceof List<?> l && !(b instanceof Tuple) ? l : null;
        List<?> y = b instanceof Tuple t ? t.items() : b instanceof List<?> l && !(a instanceof Tuple) ? l : null;
        if (x != null && y != null) {
            for (int i = 0; i < Math.min(x.size(), y.size()); i++) {
                if (!eq(x.get(i), y.get(i))) return compare(x.get(i), y.get(i), op);
            }
            return Integer.compare(x.size(), y.size());
        }
        throw new PyError("'" + op + "' not supported between instances of '" + typeName(a) + "' and '"
                + typeName(b) + "'");
    }

    static int compareCodePoints(String x, String y) {
        int i = 0;
        int j = 0;
        while (i < x.length() && j < y.length()) {
            int a = x.codePointAt(i);
            int b = y.codePointAt(j);
            if (a != b) return Integer.compare(a, b);
            i += Character.charCount(a);
            j += Character.charCount(b);
        }
        return Boolean.compare(i < x.length(), j < y.length());
    }

    /** {@code item in container}. */
    static boolean contains(Object container, Object item) {
        return switch (container) {
            case null -> throw new PyError("argument of type 'NoneType' is not iterable");
            case String s -> {
                if (item instanceof String t) yield s.contains(t);
                if (item instanceof Undefined u) throw u.error();
                throw new PyError("'in <string>' requires string as left operand, not " + typeName(item));
            }
            case List<?> l -> l.stream().anyMatch(x -> eq(x, item));
            case Tuple t -> t.items().stream().anyMatch(x -> eq(x, item));
            case Map<?, ?> m -> findKey(m, item) != NO_KEY;
            case View w -> w.items().stream().anyMatch(x -> eq(x, item));
            case Generator g -> {
                for (Object x = g.next(); x != Generator.END; x = g.next()) {
                    if (eq(x, item)) yield true;
                }
                yield false;
            }
            case Undefined u -> false;
            default -> throw new PyError("argument of type '" + typeName(container) + "' is not iterable");
        };
    }

    // ---- len, iteration, indexing

    static long len(Object v) {
        return switch (v) {
            case null -> throw new PyError("object of type 'NoneType' has no len()");
            case String s -> s.codePointCount(0, s.length());
            case List<?> l -> l.size();
            case Tuple t -> t.items().size();
            case Map<?, ?> m -> m.size();
            case View w -> w.items().size();
            case Undefined u -> 0;
            default -> throw new PyError("object of type '" + typeName(v) + "' has no len()");
        };
    }

    static List<Object> iterate(Object v) {
        return switch (v) {
            case String s -> s.codePoints().mapToObj(Character::toString).map(x -> (Object) x).toList();
            case List<?> l -> Collections.unmodifiableList(l);
            case Tuple t -> t.items();
            case Map<?, ?> m -> new ArrayList<Object>(m.keySet());
            case View w -> w.items();
            case Generator g -> g.drain();
            case Undefined u -> List.of();
            case null -> throw new PyError("'NoneType' object is not iterable");
            default -> throw new PyError("'" + typeName(v) + "' object is not iterable");
        };
    }

    static boolean isSubscriptable(Object v) {
        return v instanceof String || v instanceof List || v instanceof Tuple || v instanceof Map;
    }

    /** jinja2's environment.getattr under the immutable sandbox: attribute (method) first, then item, else Undefined. */
    static Object getattr(Object obj, String name) {
        if (obj instanceof Undefined u) throw u.error();
        if (name.startsWith("_")) return new Undefined(describe(obj) + " has no attribute '" + name + "'");
        if (Methods.has(obj, name)) {
            Methods.checkSafe(obj, name);
            return new BoundMethod(obj, name);
        }
        if (obj instanceof Namespace ns) {
            return ns.attrs.containsKey(name) ? ns.attrs.get(name)
                    : new Undefined("'Namespace object' has no attribute '" + name + "'");
        }
        if (obj instanceof Interpreter.Loop loop) return loop.attribute(name);
        if (obj instanceof Map<?, ?> m) {
            Object key = findKey(m, name);
            if (key != NO_KEY) return m.get(key);
        }
        return new Undefined(describe(obj) + " has no attribute '" + name + "'");
    }

    /** jinja2's environment.getitem: item first, then (for a str key) attribute, else Undefined. */
    static Object getitem(Object obj, Object key) {
        if (obj instanceof Undefined u) throw u.error();
        switch (obj) {
            case null -> { }
            case Map<?, ?> m -> {
                Object k = findKey(m, key);
                if (k != NO_KEY) return m.get(k);
            }
            case String s when isIntegral(key) -> {
                int[] cps = s.codePoints().toArray();
                long i = asLong(key);
                if (i < 0) i += cps.length;
                if (i >= 0 && i < cps.length) return Character.toString(cps[(int) i]);
                return new Undefined(describe(obj) + " has no element " + key);
            }
            case List<?> l when isIntegral(key) -> {
                long i = asLong(key);
                if (i < 0) i += l.size();
                if (i >= 0 && i < l.size()) return l.get((int) i);
                return new Undefined(describe(obj) + " has no element " + key);
            }
            case Tuple t when isIntegral(key) -> {
                return getitem(t.items(), key);
            }
            default -> { }
        }
        if (key instanceof String name) return getattr(obj, name);
        return new Undefined(describe(obj) + " has no element " + repr(key));
    }

    /** Python slicing of str, list or tuple; anything else is Undefined (jinja2 swallows the TypeError). */
    static Object slice(Object obj, Object start, Object stop, Object step) {
        if (obj instanceof Undefined u) throw u.error();
        List<?> items;
        int[] cps = null;
        if (obj instanceof String s) {
            cps = s.codePoints().toArray();
            items = null;
        } else if (obj instanceof List<?> l) {
            items = l;
        } else if (obj instanceof Tuple t) {
            items = t.items();
        } else {
            return new Undefined(describe(obj) + " has no element slice");
        }
        int n = cps != null ? cps.length : items.size();
        long st = step == null ? 1 : index(step, "slice indices");
        if (st == 0) throw new PyError("slice step cannot be zero");
        long lo;
        long hi;
        if (st > 0) {
            lo = start == null ? 0 : clamp(index(start, "slice indices"), n, 0, n);
            hi = stop == null ? n : clamp(index(stop, "slice indices"), n, 0, n);
        } else {
            lo = start == null ? n - 1 : clamp(index(start, "slice indices"), n, -1, n - 1);
            hi = stop == null ? -1 : clamp(index(stop, "slice indices"), n, -1, n - 1);
        }
        List<Object> outItems = new ArrayList<>();
        StringBuilder outStr = new StringBuilder();
        for (long i = lo; st > 0 ? i < hi : i > hi; i += st) {
            if (cps != null) outStr.appendCodePoint(cps[(int) i]);
            else outItems.add(items.get((int) i));
        }
        if (cps != null) return outStr.toString();
        return obj instanceof Tuple ? new Tuple(java.util.Collections.unmodifiableList(outItems)) : outItems;
    }

    /** CPython's PySlice_AdjustIndices for one bound: negative counts from the end, then clamp to [lo, hi]. */
    private static long clamp(long i, int n, long lo, long hi) {
        if (i < 0) i += n;
        return Math.max(lo, Math.min(hi, i));
    }

    static String describe(Object obj) {
        return switch (obj) {
            case null -> "None";
            case Map<?, ?> m -> "'dict object'";
            case List<?> l -> "'list object'";
            case String s -> "'str object'";
            default -> "'" + typeName(obj) + " object'";
        };
    }

    // ---- arithmetic

    static Object binop(String op, Object a, Object b) {
        if (a instanceof Undefined u) throw u.error();
        if (b instanceof Undefined u) throw u.error();
        if (isNumber(a) && isNumber(b)) return arith(op, a, b);
        switch (op) {
            case "+" -> {
                if (a instanceof String x && b instanceof String y) return x + y;
                if (a instanceof List<?> x && b instanceof List<?> y) {
                    List<Object> r = new ArrayList<>(x);
                    r.addAll(y);
                    return r;
                }
                if (a instanceof Tuple x && b instanceof Tuple y) {
                    List<Object> r = new ArrayList<>(x.items());
                    r.addAll(y.items());
                    return new Tuple(java.util.Collections.unmodifiableList(r));
                }
                if (a instanceof String) {
                    throw new PyError("can only concatenate str (not \"" + typeName(b) + "\") to str");
                }
                if (a instanceof List<?>) {
                    throw new PyError("can only concatenate list (not \"" + typeName(b) + "\") to list");
                }
            }
            case "*" -> {
                Object seq = isIntegral(b) ? a : isIntegral(a) ? b : null;
                Object times = isIntegral(b) ? b : a;
                long n = seq == null ? 0 : Math.max(0, asLong(times));
                if (n > 1_000_000) throw new PyError("repetition count " + n + " is too large for a chat template");
                if (seq instanceof String s) return s.repeat((int) n);
                if (seq instanceof List<?> l) {
                    List<Object> r = new ArrayList<>();
                    for (long i = 0; i < n; i++) r.addAll(l);
                    return r;
                }
            }
            case "%" -> {
                if (a instanceof String) {
                    throw new PyError("printf-style string formatting ('%') is not supported by moescope's "
                            + "template engine");
                }
            }
            default -> { }
        }
        throw new PyError("unsupported operand type(s) for " + op + ": '" + typeName(a) + "' and '" + typeName(b)
                + "'");
    }

    private static Object arith(String op, Object a, Object b) {
        if (isIntegral(a) && isIntegral(b)) {
            long x = asLong(a);
            long y = asLong(b);
            try {
                return switch (op) {
                    case "+" -> Math.addExact(x, y);
                    case "-" -> Math.subtractExact(x, y);
                    case "*" -> Math.multiplyExact(x, y);
                    case "/" -> {
                        if (y == 0) throw new PyError("division by zero");
                        yield (double) x / y;
                    }
                    case "//" -> {
                        if (y == 0) throw new PyError("integer division or modulo by zero");
                        yield Math.floorDiv(x, y);
                    }
                    case "%" -> {
                        if (y == 0) throw new PyError("integer division or modulo by zero");
                        yield Math.floorMod(x, y);
                    }
                    case "**" -> {
                        if (y < 0) yield Math.pow(x, y);
                        long r = 1;
                        for (long i = 0; i < y; i++) r = Math.multiplyExact(r, x);
                        yield r;
                    }
                    default -> throw new IllegalStateException(op);
                };
            } catch (ArithmeticException e) {
                throw new PyError("integer overflow in " + op + " (Python ints are unbounded; moescope's are 64-bit)");
            }
        }
        double x = asDouble(a);
        double y = asDouble(b);
        return switch (op) {
            case "+" -> x + y;
            case "-" -> x - y;
            case "*" -> x * y;
            case "/" -> {
                if (y == 0) throw new PyError("float division by zero");
                yield x / y;
            }
            case "//" -> {
                if (y == 0) throw new PyError("float floor division by zero");
                yield Math.floor(x / y);
            }
            case "%" -> {
                if (y == 0) throw new PyError("float modulo");
                double m = x % y;
                yield m != 0 && (m < 0) != (y < 0) ? m + y : m;
            }
            case "**" -> Math.pow(x, y);
            default -> throw new IllegalStateException(op);
        };
    }

    static Object negate(Object v) {
        if (v instanceof Undefined u) throw u.error();
        if (v instanceof Double d) return -d;
        if (isIntegral(v)) return -asLong(v);
        throw new PyError("bad operand type for unary -: '" + typeName(v) + "'");
    }

    static Object plus(Object v) {
        if (v instanceof Undefined u) throw u.error();
        if (v instanceof Double d) return d;
        if (isIntegral(v)) return asLong(v);
        throw new PyError("bad operand type for unary +: '" + typeName(v) + "'");
    }

    // ---- Python str helpers (code point based)

    /** str.strip / lstrip / rstrip: chars null = whitespace. */
    static String strip(String s, String chars, boolean left, boolean right) {
        int[] cps = s.codePoints().toArray();
        Set<Integer> set = chars == null ? null : chars.codePoints().boxed().collect(java.util.stream.Collectors.toSet());
        int lo = 0;
        int hi = cps.length;
        if (left) while (lo < hi && (set == null ? isSpace(cps[lo]) : set.contains(cps[lo]))) lo++;
        if (right) while (hi > lo && (set == null ? isSpace(cps[hi - 1]) : set.contains(cps[hi - 1]))) hi--;
        return new String(cps, lo, hi - lo);
    }

    static String rstrip(String s, String chars) {
        return strip(s, chars, false, true);
    }

    /** str.split(sep, maxsplit) (rsplit when fromRight). */
    static List<Object> split(String s, String sep, long maxsplit, boolean fromRight) {
        List<Object> out = new ArrayList<>();
        if (sep == null) {
            int[] cps = s.codePoints().toArray();
            if (!fromRight) {
                int i = 0;
                int n = cps.length;
                while (true) {
                    while (i < n && isSpace(cps[i])) i++;
                    if (i >= n) break;
                    if (maxsplit >= 0 && out.size() == maxsplit) {
                        out.add(new String(cps, i, n - i)); // the rest keeps its trailing whitespace, as in CPython
                        break;
                    }
                    int j = i;
                    while (j < n && !isSpace(cps[j])) j++;
                    out.add(new String(cps, i, j - i));
                    i = j;
                }
            } else {
                int i = cps.length;
                while (true) {
                    while (i > 0 && isSpace(cps[i - 1])) i--;
                    if (i <= 0) break;
                    if (maxsplit >= 0 && out.size() == maxsplit) {
                        out.add(new String(cps, 0, i)); // the rest keeps its leading whitespace
                        break;
                    }
                    int j = i;
                    while (j > 0 && !isSpace(cps[j - 1])) j--;
                    out.add(new String(cps, j, i - j));
                    i = j;
                }
                Collections.reverse(out);
            }
            return out;
        }
        if (sep.isEmpty()) throw new PyError("empty separator");
        if (!fromRight) {
            int from = 0;
            while (maxsplit < 0 || out.size() < maxsplit) {
                int at = s.indexOf(sep, from);
                if (at < 0) break;
                out.add(s.substring(from, at));
                from = at + sep.length();
            }
            out.add(s.substring(from));
        } else {
            int to = s.length();
            while (maxsplit < 0 || out.size() < maxsplit) {
                int at = s.lastIndexOf(sep, to - sep.length());
                if (at < 0 || to - sep.length() < 0) break;
                out.add(s.substring(at + sep.length(), to));
                to = at;
            }
            out.add(s.substring(0, to));
            Collections.reverse(out);
        }
        return out;
    }

    /** str.splitlines(keepends): Python's line boundaries. */
    static List<Object> splitlines(String s, boolean keepends) {
        List<Object> out = new ArrayList<>();
        int start = 0;
        int i = 0;
        while (i < s.length()) {
            char c = s.charAt(i);
            int eol = -1;
            if (c == '\r' && i + 1 < s.length() && s.charAt(i + 1) == '\n') eol = 2;
            else if (c == '\n' || c == '\r' || c == 0x0b || c == 0x0c || c == 0x1c || c == 0x1d || c == 0x1e
                    || c == 0x85 || c == 0x2028 || c == 0x2029) eol = 1;
            if (eol > 0) {
                out.add(s.substring(start, keepends ? i + eol : i));
                i += eol;
                start = i;
            } else {
                i++;
            }
        }
        if (start < s.length()) out.add(s.substring(start));
        return out;
    }

    static boolean isCased(int cp) {
        return Character.isUpperCase(cp) || Character.isLowerCase(cp) || Character.isTitleCase(cp);
    }

    /** str.title(): a cased character after an uncased one is title-cased, the others lower-cased. */
    static String title(String s) {
        StringBuilder b = new StringBuilder(s.length());
        boolean prevCased = false;
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            i += Character.charCount(cp);
            if (prevCased) b.append(Character.toString(cp).toLowerCase(java.util.Locale.ROOT));
            else b.appendCodePoint(Character.toTitleCase(cp));
            prevCased = isCased(cp);
        }
        return b.toString();
    }

    /** str.capitalize(): first character title case (Python 3.8+), the rest lower case. */
    static String capitalize(String s) {
        if (s.isEmpty()) return s;
        int cp = s.codePointAt(0);
        return new StringBuilder().appendCodePoint(Character.toTitleCase(cp))
                .append(s.substring(Character.charCount(cp)).toLowerCase(java.util.Locale.ROOT)).toString();
    }

    static String lower(String s) {
        return s.toLowerCase(java.util.Locale.ROOT);
    }

    static String upper(String s) {
        return s.toUpperCase(java.util.Locale.ROOT);
    }
}
