package org.moescope.chat;

import org.moescope.chat.Py.PyError;
import org.moescope.chat.Py.Undefined;

import java.util.List;
import java.util.Map;
import java.util.Set;

/** jinja2 3.1's built-in tests ({@code x is defined}, {@code is string}, {@code is none}...), with Python's types. */
final class Tests {
    private Tests() {
    }

    private static final Set<String> NAMES = Set.of("boolean", "callable", "defined", "divisibleby", "eq",
            "equalto", "==", "escaped", "even", "false", "filter", "float", "ge", ">=", "gt", "greaterthan", ">", "in",
            "integer", "iterable", "le", "<=", "lower", "lt", "lessthan", "<", "mapping", "ne", "!=", "none",
            "number", "odd", "sameas", "sequence", "string", "test", "true", "undefined", "upper");

    static boolean exists(String name) {
        return NAMES.contains(name);
    }

    private static Object arg(String test, List<Object> args, Map<String, Object> kw) {
        if (args.size() + kw.size() != 1) {
            throw new PyError("test '" + test + "' takes exactly one argument (" + (args.size() + kw.size()) + " given)");
        }
        return args.isEmpty() ? kw.values().iterator().next() : args.get(0);
    }

    private static void none(String test, List<Object> args, Map<String, Object> kw) {
        if (!args.isEmpty() || !kw.isEmpty()) throw new PyError("test '" + test + "' takes no arguments");
    }

    static boolean apply(String name, Object value, List<Object> args, Map<String, Object> kw) {
        switch (name) {
            case "defined" -> {
                none(name, args, kw);
                return !(value instanceof Undefined);
            }
            case "undefined" -> {
                none(name, args, kw);
                return value instanceof Undefined;
            }
            case "none" -> {
                none(name, args, kw);
                return value == null;
            }
            case "boolean" -> {
                none(name, args, kw);
                return value instanceof Boolean;
            }
            case "true" -> {
                none(name, args, kw);
                return Boolean.TRUE.equals(value);
            }
            case "false" -> {
                none(name, args, kw);
                return Boolean.FALSE.equals(value);
            }
            case "integer" -> {
                none(name, args, kw);
                return value instanceof Long;
            }
            case "float" -> {
                none(name, args, kw);
                return value instanceof Double;
            }
            case "number" -> {
                none(name, args, kw);
                return Py.isNumber(value);
            }
            case "string" -> {
                none(name, args, kw);
                return value instanceof String;
            }
            case "mapping" -> {
                none(name, args, kw);
                return value instanceof Map;
            }
            case "sequence" -> {
                none(name, args, kw);
                // jinja2: has __len__ and __getitem__ (Undefined defines both)
                return value instanceof String || value instanceof List || value instanceof Py.Tuple
                        || value instanceof Map || value instanceof Undefined;
            }
            case "iterable" -> {
                none(name, args, kw);
                return value instanceof String || value instanceof List || value instanceof Py.Tuple
                        || value instanceof Map || value instanceof Undefined || value instanceof Py.Generator
                        || value instanceof Py.View;
            }
            case "callable" -> {
                none(name, args, kw);
                // Undefined defines __call__ (to raise), so Python's callable() says true
                return value instanceof Py.Callable || value instanceof Undefined;
            }
            case "escaped" -> {
                none(name, args, kw);
                return false;
            }
            case "odd", "even" -> {
                none(name, args, kw);
                if (value instanceof Undefined u) throw u.error();
                Object m = Py.binop("%", value, 2L);
                return name.equals("odd") == Py.eq(m, 1L);
            }
            case "divisibleby" -> {
                Object n = arg(name, args, kw);
                return Py.eq(Py.binop("%", value, n), 0L);
            }
            case "lower", "upper" -> {
                none(name, args, kw);
                return (Boolean) Methods.call(Py.str(value), "is" + name, List.of(), Map.of());
            }
            case "eq", "equalto", "==" -> {
                return Py.eq(value, arg(name, args, kw));
            }
            case "ne", "!=" -> {
                return !Py.eq(value, arg(name, args, kw));
            }
            case "lt", "lessthan", "<" -> {
                return Py.compare(value, arg(name, args, kw), "<") < 0;
            }
            case "le", "<=" -> {
                return Py.compare(value, arg(name, args, kw), "<=") <= 0;
            }
            case "gt", "greaterthan", ">" -> {
                return Py.compare(value, arg(name, args, kw), ">") > 0;
            }
            case "ge", ">=" -> {
                return Py.compare(value, arg(name, args, kw), ">=") >= 0;
            }
            case "in" -> {
                return Py.contains(arg(name, args, kw), value);
            }
            case "sameas" -> {
                Object other = arg(name, args, kw);
                return value == other || (value instanceof Boolean && value.equals(other));
            }
            case "filter" -> {
                none(name, args, kw);
                return value instanceof String s && (Filters.exists(s) || Filters.knownToJinja(s));
            }
            case "test" -> {
                none(name, args, kw);
                return value instanceof String s && exists(s);
            }
            default -> throw new PyError("no test named '" + name + "'");
        }
    }
}
