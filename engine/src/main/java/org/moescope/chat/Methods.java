package org.moescope.chat;

import org.moescope.chat.Py.PyError;
import org.moescope.chat.Py.Tuple;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The methods of str, dict, list and tuple that templates call ({@code message.content.strip()},
 * {@code content.split('</think>')[-1]}, {@code message.get('tool_calls')}, {@code tools.items()}), with CPython's
 * argument rules. Methods that mutate a list or dict are refused as transformers' ImmutableSandboxedEnvironment
 * refuses them. A Python str method outside this set is reported as unsupported rather than guessed.
 */
final class Methods {
    private Methods() {
    }

    /** Every method Python's str has: these names are methods on a string, never Undefined. */
    private static final Set<String> STR = Set.of("capitalize", "casefold", "center", "count", "encode", "endswith",
            "expandtabs", "find", "format", "format_map", "index", "isalnum", "isalpha", "isascii", "isdecimal",
            "isdigit", "isidentifier", "islower", "isnumeric", "isprintable", "isspace", "istitle", "isupper", "join",
            "ljust", "lower", "lstrip", "maketrans", "partition", "removeprefix", "removesuffix", "replace", "rfind",
            "rindex", "rjust", "rpartition", "rsplit", "rstrip", "split", "splitlines", "startswith", "strip",
            "swapcase", "title", "translate", "upper", "zfill");
    private static final Set<String> DICT = Set.of("clear", "copy", "fromkeys", "get", "items", "keys", "pop",
            "popitem", "setdefault", "update", "values");
    private static final Set<String> LIST = Set.of("append", "clear", "copy", "count", "extend", "index", "insert",
            "pop", "remove", "reverse", "sort");
    private static final Set<String> TUPLE = Set.of("count", "index");
    private static final Set<String> UNSAFE = Set.of("append", "clear", "extend", "insert", "pop", "remove",
            "reverse", "sort", "popitem", "setdefault", "update");

    private static final Object ABSENT = new Object();

    static boolean has(Object obj, String name) {
        return switch (obj) {
            case null -> false;
            case String s -> STR.contains(name);
            case Map<?, ?> m -> DICT.contains(name);
            case List<?> l -> LIST.contains(name);
            case Tuple t -> TUPLE.contains(name);
            default -> false;
        };
    }

    /** ImmutableSandboxedEnvironment: mutating methods of list and dict are unsafe. */
    static void checkSafe(Object obj, String name) {
        if ((obj instanceof List || obj instanceof Map) && UNSAFE.contains(name)) {
            throw new PyError("access to attribute '" + name + "' of '" + Py.typeName(obj) + "' object is unsafe.");
        }
    }

    static Object call(Object self, String name, List<Object> args, Map<String, Object> kwargs) {
        return switch (self) {
            case null -> throw new PyError("'NoneType' object has no attribute '" + name + "'");
            case String s -> str(s, name, args, kwargs);
            case Map<?, ?> m -> dict(m, name, args, kwargs);
            case List<?> l -> seq(l, "list", name, args, kwargs);
            case Tuple t -> seq(t.items(), "tuple", name, args, kwargs);
            default -> throw new PyError("'" + Py.typeName(self) + "' object has no attribute '" + name + "'");
        };
    }

    /**
     * Binds arguments as CPython does: {@code names} in order, the first {@code required} mandatory, keywords only
     * for the names in {@code keywords} (most str methods are positional-only). Missing optional ones are ABSENT.
     */
    private static Object[] bind(String method, List<Object> args, Map<String, Object> kwargs, int required,
                                 Set<String> keywords, String... names) {
        if (args.size() > names.length) {
            throw new PyError(method + "() takes at most " + names.length + " argument" + (names.length == 1 ? "" : "s")
                    + " (" + args.size() + " given)");
        }
        Object[] out = new Object[names.length];
        Arrays.fill(out, ABSENT);
        for (int i = 0; i < args.size(); i++) out[i] = args.get(i);
        for (Map.Entry<String, Object> e : kwargs.entrySet()) {
            int at = Arrays.asList(names).indexOf(e.getKey());
            if (at < 0 || !keywords.contains(e.getKey())) {
                throw new PyError(method + "() got an unexpected keyword argument '" + e.getKey() + "'");
            }
            if (out[at] != ABSENT) throw new PyError(method + "() got multiple values for argument '" + e.getKey() + "'");
            out[at] = e.getValue();
        }
        for (int i = 0; i < required; i++) {
            if (out[i] == ABSENT) {
                throw new PyError(method + "() missing required argument '" + names[i] + "'");
            }
        }
        return out;
    }

    private static Object[] positional(String method, List<Object> args, Map<String, Object> kwargs, int required,
                                       String... names) {
        if (!kwargs.isEmpty()) throw new PyError(method + "() takes no keyword arguments");
        return bind(method, args, kwargs, required, Set.of(), names);
    }

    private static String string(Object v, String method) {
        if (v instanceof String s) return s;
        if (v instanceof Py.Undefined u) throw u.error();
        throw new PyError(method + "() argument must be str, not " + Py.typeName(v));
    }

    private static String optString(Object v, String method) {
        return v == ABSENT || v == null ? null : string(v, method);
    }

    private static long optIndex(Object v, long dflt, String what) {
        return v == ABSENT || v == null ? dflt : Py.index(v, what);
    }

    private static Object str(String s, String name, List<Object> args, Map<String, Object> kw) {
        String m = "str." + name;
        switch (name) {
            case "strip", "lstrip", "rstrip" -> {
                Object[] a = positional(m, args, kw, 0, "chars");
                return Py.strip(s, optString(a[0], m), !name.equals("rstrip"), !name.equals("lstrip"));
            }
            case "split", "rsplit" -> {
                Object[] a = bind(m, args, kw, 0, Set.of("sep", "maxsplit"), "sep", "maxsplit");
                return Py.split(s, optString(a[0], m), optIndex(a[1], -1, "maxsplit"), name.equals("rsplit"));
            }
            case "splitlines" -> {
                Object[] a = bind(m, args, kw, 0, Set.of("keepends"), "keepends");
                return Py.splitlines(s, a[0] != ABSENT && Py.truthy(a[0]));
            }
            case "startswith", "endswith" -> {
                Object[] a = positional(m, args, kw, 1, "prefix", "start", "end");
                String sub = window(s, a[1], a[2]);
                List<Object> options = a[0] instanceof Tuple t ? t.items() : List.of(a[0]);
                for (Object o : options) {
                    if (!(o instanceof String p)) {
                        throw new PyError(name + " first arg must be str or a tuple of str, not " + Py.typeName(o));
                    }
                    if (name.equals("startswith") ? sub.startsWith(p) : sub.endsWith(p)) return true;
                }
                return false;
            }
            case "upper" -> {
                positional(m, args, kw, 0);
                return Py.upper(s);
            }
            case "lower", "casefold" -> {
                positional(m, args, kw, 0);
                return Py.lower(s);
            }
            case "title" -> {
                positional(m, args, kw, 0);
                return Py.title(s);
            }
            case "capitalize" -> {
                positional(m, args, kw, 0);
                return Py.capitalize(s);
            }
            case "swapcase" -> {
                positional(m, args, kw, 0);
                StringBuilder b = new StringBuilder();
                s.codePoints().forEach(cp -> b.append(Character.isUpperCase(cp) ? Py.lower(Character.toString(cp))
                        : Character.isLowerCase(cp) ? Py.upper(Character.toString(cp)) : Character.toString(cp)));
                return b.toString();
            }
            case "replace" -> {
                Object[] a = positional(m, args, kw, 2, "old", "new", "count");
                return replace(s, string(a[0], m), string(a[1], m), optIndex(a[2], -1, "count"));
            }
            case "find", "rfind", "index", "rindex" -> {
                Object[] a = positional(m, args, kw, 1, "sub", "start", "end");
                String sub = string(a[0], m);
                int[] cps = s.codePoints().toArray();
                int lo = (int) bound(a[1], 0, cps.length);
                int hi = (int) bound(a[2], cps.length, cps.length);
                int found = -1;
                if (lo <= hi) {
                    String win = new String(cps, lo, hi - lo);
                    int at = name.startsWith("r") ? win.lastIndexOf(sub) : win.indexOf(sub);
                    if (at >= 0) found = lo + win.codePointCount(0, at);
                }
                if (found < 0 && name.endsWith("index")) throw new PyError("substring not found");
                return (long) found;
            }
            case "count" -> {
                Object[] a = positional(m, args, kw, 1, "sub", "start", "end");
                String sub = string(a[0], m);
                String win = window(s, a[1], a[2]);
                if (sub.isEmpty()) return (long) win.codePointCount(0, win.length()) + 1;
                long c = 0;
                for (int at = win.indexOf(sub); at >= 0; at = win.indexOf(sub, at + sub.length())) c++;
                return c;
            }
            case "join" -> {
                Object[] a = positional(m, args, kw, 1, "iterable");
                StringBuilder b = new StringBuilder();
                List<Object> items = Py.iterate(a[0]);
                for (int i = 0; i < items.size(); i++) {
                    if (!(items.get(i) instanceof String part)) {
                        throw new PyError("sequence item " + i + ": expected str instance, " + Py.typeName(items.get(i))
                                + " found");
                    }
                    if (i > 0) b.append(s);
                    b.append(part);
                }
                return b.toString();
            }
            case "removeprefix", "removesuffix" -> {
                Object[] a = positional(m, args, kw, 1, "affix");
                String p = string(a[0], m);
                if (name.equals("removeprefix")) return s.startsWith(p) ? s.substring(p.length()) : s;
                return s.endsWith(p) && !p.isEmpty() ? s.substring(0, s.length() - p.length()) : s;
            }
            case "partition", "rpartition" -> {
                Object[] a = positional(m, args, kw, 1, "sep");
                String sep = string(a[0], m);
                if (sep.isEmpty()) throw new PyError("empty separator");
                int at = name.equals("partition") ? s.indexOf(sep) : s.lastIndexOf(sep);
                if (at < 0) {
                    return name.equals("partition") ? new Tuple(List.of(s, "", "")) : new Tuple(List.of("", "", s));
                }
                return new Tuple(List.of(s.substring(0, at), sep, s.substring(at + sep.length())));
            }
            case "center", "ljust", "rjust" -> {
                Object[] a = positional(m, args, kw, 1, "width", "fillchar");
                long width = Py.index(a[0], "width");
                String fill = a[1] == ABSENT ? " " : string(a[1], m);
                if (fill.codePointCount(0, fill.length()) != 1) {
                    throw new PyError("The fill character must be exactly one character long");
                }
                return pad(s, width, fill, name);
            }
            case "zfill" -> {
                Object[] a = positional(m, args, kw, 1, "width");
                long width = Py.index(a[0], "width");
                long len = Py.len(s);
                if (len >= width) return s;
                String zeros = "0".repeat((int) (width - len));
                if (!s.isEmpty() && (s.charAt(0) == '+' || s.charAt(0) == '-')) {
                    return s.charAt(0) + zeros + s.substring(1);
                }
                return zeros + s;
            }
            case "isspace", "isalpha", "isalnum", "isdigit", "isdecimal", "isnumeric", "isupper", "islower",
                 "isascii", "isprintable", "istitle", "isidentifier" -> {
                positional(m, args, kw, 0);
                return classify(s, name);
            }
            default -> throw new PyError("str." + name + "() is not supported by moescope's template engine");
        }
    }

    private static String window(String s, Object start, Object end) {
        int[] cps = s.codePoints().toArray();
        int lo = (int) bound(start, 0, cps.length);
        int hi = (int) bound(end, cps.length, cps.length);
        return lo >= hi ? "" : new String(cps, lo, hi - lo);
    }

    /** A start/end argument of find/startswith...: None = default, negative counts from the end, clamped. */
    private static long bound(Object v, long dflt, int n) {
        if (v == ABSENT || v == null) return dflt;
        long i = Py.index(v, "slice indices");
        if (i < 0) i = Math.max(0, i + n);
        return Math.min(i, n);
    }

    private static String replace(String s, String old, String rep, long count) {
        if (count < 0) count = Long.MAX_VALUE;
        if (old.isEmpty()) {
            StringBuilder b = new StringBuilder();
            long done = 0;
            int i = 0;
            while (i <= s.length()) {
                if (done < count) {
                    b.append(rep);
                    done++;
                }
                if (i == s.length()) break;
                int cp = s.codePointAt(i);
                b.appendCodePoint(cp);
                i += Character.charCount(cp);
            }
            return b.toString();
        }
        StringBuilder b = new StringBuilder();
        int from = 0;
        long done = 0;
        while (done < count) {
            int at = s.indexOf(old, from);
            if (at < 0) break;
            b.append(s, from, at).append(rep);
            from = at + old.length();
            done++;
        }
        return b.append(s.substring(from)).toString();
    }

    static String pad(String s, long width, String fill, String how) {
        long len = Py.len(s);
        if (width <= len) return s;
        long total = width - len;
        long left = switch (how) {
            case "ljust" -> 0;
            case "rjust" -> total;
            // CPython's center: left = marg/2 + (marg & width & 1)
            default -> total / 2 + (total & width & 1);
        };
        return fill.repeat((int) left) + s + fill.repeat((int) (total - left));
    }

    private static boolean classify(String s, String name) {
        int[] cps = s.codePoints().toArray();
        switch (name) {
            case "isascii" -> {
                return Arrays.stream(cps).allMatch(c -> c < 0x80);
            }
            case "isprintable" -> {
                return Arrays.stream(cps).allMatch(Py::isPrintable);
            }
            case "isupper", "islower" -> {
                boolean cased = false;
                for (int c : cps) {
                    if (name.equals("isupper") ? Character.isLowerCase(c) || Character.isTitleCase(c)
                            : Character.isUpperCase(c) || Character.isTitleCase(c)) return false;
                    cased |= Py.isCased(c);
                }
                return cased;
            }
            case "istitle" -> {
                return !s.isEmpty() && Py.title(s).equals(s) && Arrays.stream(cps).anyMatch(Py::isCased);
            }
            case "isidentifier" -> {
                return cps.length > 0 && (Character.isLetter(cps[0]) || cps[0] == '_')
                        && Arrays.stream(cps).allMatch(c -> Character.isLetterOrDigit(c) || c == '_');
            }
            default -> {
                if (cps.length == 0) return false;
                for (int c : cps) {
                    boolean ok = switch (name) {
                        case "isspace" -> Py.isSpace(c);
                        case "isalpha" -> Character.isLetter(c);
                        case "isalnum" -> Character.isLetterOrDigit(c) || isNumeric(c);
                        case "isdecimal" -> Character.getType(c) == Character.DECIMAL_DIGIT_NUMBER;
                        case "isdigit" -> Character.isDigit(c) || Character.getType(c) == Character.OTHER_NUMBER
                                && Character.getNumericValue(c) >= 0 && Character.getNumericValue(c) <= 9;
                        default -> isNumeric(c);
                    };
                    if (!ok) return false;
                }
                return true;
            }
        }
    }

    private static boolean isNumeric(int c) {
        int t = Character.getType(c);
        return t == Character.DECIMAL_DIGIT_NUMBER || t == Character.LETTER_NUMBER || t == Character.OTHER_NUMBER;
    }

    private static Object dict(Map<?, ?> d, String name, List<Object> args, Map<String, Object> kw) {
        String m = "dict." + name;
        switch (name) {
            case "get" -> {
                Object[] a = positional(m, args, kw, 1, "key", "default");
                Object key = Py.findKey(d, a[0]);
                return key != Py.NO_KEY ? d.get(key) : a[1] == ABSENT ? null : a[1];
            }
            case "items" -> {
                positional(m, args, kw, 0);
                List<Object> out = new ArrayList<>();
                for (Map.Entry<?, ?> e : d.entrySet()) out.add(new Tuple(Arrays.asList(e.getKey(), e.getValue())));
                return new Py.View("dict_items", out);
            }
            case "keys" -> {
                positional(m, args, kw, 0);
                return new Py.View("dict_keys", new ArrayList<Object>(d.keySet()));
            }
            case "values" -> {
                positional(m, args, kw, 0);
                return new Py.View("dict_values", new ArrayList<Object>(d.values()));
            }
            case "copy" -> {
                positional(m, args, kw, 0);
                return new LinkedHashMap<Object, Object>(d);
            }
            default -> throw new PyError("dict." + name + "() is not supported by moescope's template engine");
        }
    }

    private static Object seq(List<?> l, String type, String name, List<Object> args, Map<String, Object> kw) {
        String m = type + "." + name;
        switch (name) {
            case "count" -> {
                Object[] a = positional(m, args, kw, 1, "value");
                return l.stream().filter(x -> Py.eq(x, a[0])).count();
            }
            case "index" -> {
                Object[] a = positional(m, args, kw, 1, "value");
                for (int i = 0; i < l.size(); i++) if (Py.eq(l.get(i), a[0])) return (long) i;
                throw new PyError(Py.repr(a[0]) + " is not in " + type);
            }
            case "copy" -> {
                positional(m, args, kw, 0);
                return new ArrayList<Object>(l);
            }
            default -> throw new PyError(m + "() is not supported by moescope's template engine");
        }
    }
}
