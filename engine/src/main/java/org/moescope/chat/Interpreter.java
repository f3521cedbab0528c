package org.moescope.chat;

import org.moescope.chat.Ast.*;
import org.moescope.chat.Py.Callable;
import org.moescope.chat.Py.Namespace;
import org.moescope.chat.Py.PyError;
import org.moescope.chat.Py.Tuple;
import org.moescope.chat.Py.Undefined;

import java.math.BigInteger;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Renders a parsed template with jinja2's runtime semantics as transformers configures it (ImmutableSandboxedEnvironment,
 * default Undefined, no autoescape). Scoping is jinja2's: a for loop's body runs in a fresh scope per iteration, so
 * {@code set} inside a loop neither leaks out nor survives to the next iteration (hence {@code namespace()}); if
 * blocks share their enclosing scope; macros see the scope they were defined in.
 */
final class Interpreter {
    private static final int MAX_DEPTH = 200;
    private static final long MAX_RANGE = 100_000; // jinja2's sandbox limit on range()
    private static final Object MISSING = new Object();

    private final String name;
    private final Clock clock;
    private int line;
    private int depth;

    /** A variable scope; lookups walk outwards. */
    static final class Scope {
        final Map<String, Object> vars = new HashMap<>();
        final Scope parent;

        Scope(Scope parent) {
            this.parent = parent;
        }

        Object lookup(String n) {
            for (Scope s = this; s != null; s = s.parent) {
                Object v = s.vars.getOrDefault(n, MISSING);
                if (v != MISSING) return v;
            }
            return MISSING;
        }
    }

    /** jinja2's LoopContext. */
    static final class Loop {
        private final List<Object> items;
        private final int index0;
        private final Object[] lastChanged;

        Loop(List<Object> items, int index0, Object[] lastChanged) {
            this.items = items;
            this.index0 = index0;
            this.lastChanged = lastChanged;
        }

        int index0() {
            return index0;
        }

        int length() {
            return items.size();
        }

        Object attribute(String a) {
            int n = items.size();
            return switch (a) {
                case "index" -> (long) index0 + 1;
                case "index0" -> (long) index0;
                case "revindex" -> (long) (n - index0);
                case "revindex0" -> (long) (n - index0 - 1);
                case "first" -> index0 == 0;
                case "last" -> index0 == n - 1;
                case "length" -> (long) n;
                case "depth" -> 1L;
                case "depth0" -> 0L;
                case "previtem" -> index0 > 0 ? items.get(index0 - 1) : new Undefined("there is no previous item");
                case "nextitem" -> index0 < n - 1 ? items.get(index0 + 1) : new Undefined("there is no next item");
                case "cycle" -> (Callable) (args, kw) -> {
                    if (args.isEmpty()) throw new PyError("no items for cycling given");
                    return args.get(index0 % args.size());
                };
                case "changed" -> (Callable) (args, kw) -> {
                    Object now = new Tuple(nullSafe(args));
                    if (lastChanged[0] != null && Py.eq(lastChanged[0], now)) return false;
                    lastChanged[0] = now;
                    return true;
                };
                default -> new Undefined("'LoopContext object' has no attribute '" + a + "'");
            };
        }
    }

    /** What a statement list ended with: normally, or a break / continue for the innermost loop. */
    private enum Flow { NORMAL, BREAK, CONTINUE }

    /** raise_exception(): the template refused its input. */
    static final class Raised extends PyError {
        Raised(String message) {
            super(message);
        }
    }

    Interpreter(String name, Clock clock) {
        this.name = name;
        this.clock = clock;
    }

    String render(List<Node> body, Map<String, Object> variables) {
        Scope globals = new Scope(null);
        globals.vars.putAll(globalFunctions());
        Scope root = new Scope(globals);
        root.vars.putAll(variables);
        StringBuilder out = new StringBuilder();
        try {
            exec(body, root, out);
        } catch (Raised r) {
            throw new TemplateException("chat template " + name + " raised an exception: " + r.getMessage(), true);
        } catch (PyError e) {
            throw new TemplateException("chat template " + name + ", line " + line + ": " + e.getMessage(), false);
        } catch (StackOverflowError e) {
            throw new TemplateException("chat template " + name + ", line " + line + ": recursion too deep", false);
        }
        return out.toString();
    }

    private Map<String, Object> globalFunctions() {
        Map<String, Object> g = new HashMap<>();
        g.put("raise_exception", (Callable) (args, kw) -> {
            throw new Raised(args.isEmpty() ? "" : Py.str(args.get(0)));
        });
        g.put("namespace", (Callable) (args, kw) -> {
            Namespace ns = new Namespace();
            if (args.size() > 1) throw new PyError("namespace expected at most 1 argument, got " + args.size());
            if (!args.isEmpty()) {
                if (!(args.get(0) instanceof Map<?, ?> m)) {
                    throw new PyError("namespace() argument must be a mapping, not " + Py.typeName(args.get(0)));
                }
                m.forEach((k, v) -> ns.attrs.put(Py.str(k), v));
            }
            ns.attrs.putAll(kw);
            return ns;
        });
        g.put("dict", (Callable) (args, kw) -> {
            Map<Object, Object> d = new LinkedHashMap<>();
            if (!args.isEmpty()) {
                if (!(args.get(0) instanceof Map<?, ?> m)) throw new PyError("dict() argument must be a mapping");
                d.putAll(m);
            }
            d.putAll(kw);
            return d;
        });
        g.put("range", (Callable) (args, kw) -> {
            if (!kw.isEmpty()) throw new PyError("range() takes no keyword arguments");
            if (args.isEmpty() || args.size() > 3) throw new PyError("range expected 1 to 3 arguments");
            long start = args.size() == 1 ? 0 : Py.index(args.get(0), "range() argument");
            long stop = Py.index(args.get(args.size() == 1 ? 0 : 1), "range() argument");
            long step = args.size() == 3 ? Py.index(args.get(2), "range() argument") : 1;
            if (step == 0) throw new PyError("range() arg 3 must not be zero");
            List<Object> r = new ArrayList<>();
            for (long i = start; step > 0 ? i < stop : i > stop; i += step) {
                if (r.size() >= MAX_RANGE) {
                    throw new PyError("Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).");
                }
                r.add(i);
            }
            return r;
        });
        g.put("strftime_now", (Callable) (args, kw) -> {
            if (args.size() != 1 || !(args.get(0) instanceof String fmt)) {
                throw new PyError("strftime_now() takes one format string");
            }
            return Strftime.format(fmt, java.time.LocalDateTime.now(clock));
        });
        for (String unsupported : List.of("lipsum", "cycler", "joiner")) {
            g.put(unsupported, (Callable) (args, kw) -> {
                throw new PyError(unsupported + "() is not supported by moescope's template engine");
            });
        }
        return g;
    }

    // ---- statements

    private Flow exec(List<Node> nodes, Scope scope, StringBuilder out) {
        for (Node n : nodes) {
            Flow f = exec(n, scope, out);
            if (f != Flow.NORMAL) return f;
        }
        return Flow.NORMAL;
    }

    private Flow exec(Node node, Scope scope, StringBuilder out) {
        switch (node) {
            case Text t -> out.append(t.text());
            case Output o -> out.append(Py.str(eval(o.expr(), scope)));
            case If f -> {
                for (Branch b : f.branches()) {
                    if (Py.truthy(eval(b.test(), scope))) return exec(b.body(), scope, out);
                }
                return exec(f.orElse(), scope, out);
            }
            case For f -> {
                return execFor(f, scope, out);
            }
            case Assign a -> {
                line = a.line();
                assign(a.target(), eval(a.value(), scope), scope);
            }
            case AssignBlock a -> {
                StringBuilder body = new StringBuilder();
                exec(a.body(), new Scope(scope), body);
                Object value = body.toString();
                for (FilterCall fc : a.filters()) value = applyFilter(fc, value, scope);
                line = a.line();
                assign(a.target(), value, scope);
            }
            case Macro m -> scope.vars.put(m.name(), macro(m.name(), m.params(), m.defaults(), m.body(), scope));
            case CallBlock c -> {
                Callable caller = macro("caller", c.params(), c.defaults(), c.body(), scope);
                Call call = (Call) c.call();
                line = c.line();
                Object fn = eval(call.fn(), scope);
                List<Object> args = new ArrayList<>();
                Map<String, Object> kwargs = new LinkedHashMap<>();
                evalArgs(call.args(), scope, args, kwargs);
                kwargs.put("caller", caller);
                out.append(Py.str(invoke(fn, args, kwargs)));
            }
            case With w -> {
                Scope inner = new Scope(scope);
                List<Object> values = new ArrayList<>();
                for (Expr v : w.values()) values.add(eval(v, scope));
                for (int i = 0; i < values.size(); i++) assign(w.targets().get(i), values.get(i), inner);
                return exec(w.body(), inner, out);
            }
            case Generation g -> {
                return exec(g.body(), scope, out);
            }
            case Break b -> {
                return Flow.BREAK;
            }
            case Continue c -> {
                return Flow.CONTINUE;
            }
        }
        return Flow.NORMAL;
    }

    private Flow execFor(For f, Scope scope, StringBuilder out) {
        line = f.line();
        Object iterable = eval(f.iter(), scope);
        List<Object> items = Py.iterate(iterable);
        if (f.filter() != null) {
            List<Object> kept = new ArrayList<>();
            for (Object item : items) {
                Scope s = new Scope(scope);
                assign(f.target(), item, s);
                if (Py.truthy(eval(f.filter(), s))) kept.add(item);
            }
            items = kept;
        }
        Object[] changed = new Object[1];
        for (int i = 0; i < items.size(); i++) {
            Scope s = new Scope(scope);
            line = f.line();
            assign(f.target(), items.get(i), s);
            s.vars.put("loop", new Loop(items, i, changed));
            if (exec(f.body(), s, out) == Flow.BREAK) break;
        }
        if (items.isEmpty()) exec(f.orElse(), new Scope(scope), out);
        return Flow.NORMAL;
    }

    private void assign(Expr target, Object value, Scope scope) {
        switch (target) {
            case Name n -> scope.vars.put(n.name(), value);
            case NsRef r -> {
                Object ns = scope.lookup(r.name());
                if (!(ns instanceof Namespace namespace)) {
                    throw new PyError("cannot assign attribute on non-namespace object");
                }
                namespace.attrs.put(r.attr(), value);
            }
            case TupleLit t -> {
                List<Object> values = Py.iterate(value);
                if (values.size() != t.items().size()) {
                    throw new PyError(values.size() > t.items().size()
                            ? "too many values to unpack (expected " + t.items().size() + ")"
                            : "not enough values to unpack (expected " + t.items().size() + ", got " + values.size() + ")");
                }
                for (int i = 0; i < values.size(); i++) assign(t.items().get(i), values.get(i), scope);
            }
            default -> throw new PyError("cannot assign to " + target);
        }
    }

    private Callable macro(String macroName, List<String> params, List<Expr> defaults, List<Node> body, Scope defining) {
        return (args, kwargs) -> {
            if (args.size() > params.size()) {
                throw new PyError("macro '" + macroName + "' takes not more than " + params.size() + " argument(s)");
            }
            if (++depth > MAX_DEPTH) throw new PyError("macro recursion deeper than " + MAX_DEPTH);
            try {
                Scope s = new Scope(defining);
                int firstDefault = params.size() - defaults.size();
                for (int i = 0; i < params.size(); i++) {
                    String p = params.get(i);
                    if (i < args.size()) {
                        if (kwargs.containsKey(p)) throw new PyError("macro '" + macroName
                                + "' got multiple values for argument '" + p + "'");
                        s.vars.put(p, args.get(i));
                    } else if (kwargs.containsKey(p)) {
                        s.vars.put(p, kwargs.get(p));
                    } else if (i >= firstDefault) {
                        s.vars.put(p, eval(defaults.get(i - firstDefault), s));
                    } else {
                        s.vars.put(p, new Undefined("parameter '" + p + "' was not provided"));
                    }
                }
                for (String k : kwargs.keySet()) {
                    if (k.equals("caller")) {
                        s.vars.put("caller", kwargs.get(k));
                    } else if (!params.contains(k)) {
                        throw new PyError("macro '" + macroName + "' takes no keyword argument '" + k + "'");
                    }
                }
                StringBuilder out = new StringBuilder();
                exec(body, s, out);
                return out.toString();
            } finally {
                depth--;
            }
        };
    }

    // ---- expressions

    Object eval(Expr e, Scope scope) {
        return switch (e) {
            case Const c -> {
                if (c.value() instanceof BigInteger) throw new PyError("integer literal too large (moescope's ints are 64-bit)");
                yield c.value();
            }
            case Name n -> {
                line = n.line();
                Object v = scope.lookup(n.name());
                yield v == MISSING ? new Undefined("'" + n.name() + "' is undefined") : v;
            }
            case NsRef r -> throw new PyError("namespace reference outside an assignment");
            case ListLit l -> {
                List<Object> out = new ArrayList<>();
                for (Expr x : l.items()) out.add(eval(x, scope));
                yield out;
            }
            case TupleLit t -> {
                List<Object> out = new ArrayList<>();
                for (Expr x : t.items()) out.add(eval(x, scope));
                yield new Tuple(nullSafe(out));
            }
            case DictLit d -> {
                Map<Object, Object> out = new LinkedHashMap<>();
                for (int i = 0; i < d.keys().size(); i++) {
                    Object k = eval(d.keys().get(i), scope);
                    if (k instanceof List || k instanceof Map) throw new PyError("unhashable type: '" + Py.typeName(k) + "'");
                    Object existing = Py.findKey(out, k);
                    out.put(existing == Py.NO_KEY ? k : existing, eval(d.values().get(i), scope));
                }
                yield out;
            }
            case GetAttr g -> {
                Object obj = eval(g.obj(), scope);
                line = g.line();
                yield Py.getattr(obj, g.attr());
            }
            case GetItem g -> {
                Object obj = eval(g.obj(), scope);
                line = g.line();
                if (g.key() instanceof Slice s) {
                    yield Py.slice(obj, s.start() == null ? null : eval(s.start(), scope),
                            s.stop() == null ? null : eval(s.stop(), scope), s.step() == null ? null : eval(s.step(), scope));
                }
                yield Py.getitem(obj, eval(g.key(), scope));
            }
            case Slice s -> throw new PyError("slice outside a subscript");
            case Call c -> {
                Object fn = eval(c.fn(), scope);
                List<Object> args = new ArrayList<>();
                Map<String, Object> kwargs = new LinkedHashMap<>();
                evalArgs(c.args(), scope, args, kwargs);
                line = c.line();
                yield invoke(fn, args, kwargs);
            }
            case Filter f -> applyFilter(f.filter(), eval(f.value(), scope), scope);
            case Test t -> {
                Object value = eval(t.value(), scope);
                List<Object> args = new ArrayList<>();
                Map<String, Object> kwargs = new LinkedHashMap<>();
                evalArgs(t.args(), scope, args, kwargs);
                line = t.line();
                yield Tests.apply(t.name(), value, args, kwargs);
            }
            case Not n -> !Py.truthy(eval(n.expr(), scope));
            case Neg n -> {
                Object v = eval(n.expr(), scope);
                line = n.line();
                yield Py.negate(v);
            }
            case Pos p -> {
                Object v = eval(p.expr(), scope);
                line = p.line();
                yield Py.plus(v);
            }
            case BinOp b -> {
                Object l = eval(b.left(), scope);
                Object r = eval(b.right(), scope);
                line = b.line();
                yield Py.binop(b.op(), l, r);
            }
            case Concat c -> {
                StringBuilder sb = new StringBuilder();
                for (Expr x : c.items()) sb.append(Py.str(eval(x, scope)));
                yield sb.toString();
            }
            case And a -> {
                Object l = eval(a.left(), scope);
                yield Py.truthy(l) ? eval(a.right(), scope) : l;
            }
            case Or o -> {
                Object l = eval(o.left(), scope);
                yield Py.truthy(l) ? l : eval(o.right(), scope);
            }
            case Compare c -> {
                Object left = eval(c.first(), scope);
                boolean result = true;
                for (int i = 0; i < c.ops().size() && result; i++) {
                    Object right = eval(c.operands().get(i), scope);
                    line = c.line();
                    result = compare(c.ops().get(i), left, right);
                    left = right;
                }
                yield result;
            }
            case CondExpr c -> Py.truthy(eval(c.test(), scope)) ? eval(c.then(), scope)
                    : c.orElse() == null ? new Undefined("the inline if-expression evaluated to false and no else "
                    + "section was defined") : eval(c.orElse(), scope);
        };
    }

    private static List<Object> nullSafe(List<Object> l) {
        // List.copyOf refuses nulls (Python None); keep them.
        return java.util.Collections.unmodifiableList(new ArrayList<>(l));
    }

    private static boolean compare(String op, Object a, Object b) {
        return switch (op) {
            case "==" -> Py.eq(a, b);
            case "!=" -> !Py.eq(a, b);
            case "<" -> Py.compare(a, b, op) < 0;
            case "<=" -> Py.compare(a, b, op) <= 0;
            case ">" -> Py.compare(a, b, op) > 0;
            case ">=" -> Py.compare(a, b, op) >= 0;
            case "in" -> Py.contains(b, a);
            case "notin" -> !Py.contains(b, a);
            default -> throw new IllegalStateException(op);
        };
    }

    private void evalArgs(Args a, Scope scope, List<Object> args, Map<String, Object> kwargs) {
        for (Expr x : a.positional()) args.add(eval(x, scope));
        for (int i = 0; i < a.names().size(); i++) kwargs.put(a.names().get(i), eval(a.named().get(i), scope));
        if (a.starArgs() != null) args.addAll(Py.iterate(eval(a.starArgs(), scope)));
        if (a.starKwargs() != null) {
            Object m = eval(a.starKwargs(), scope);
            if (!(m instanceof Map<?, ?> map)) throw new PyError("argument after ** must be a mapping");
            map.forEach((k, v) -> kwargs.put(Py.str(k), v));
        }
    }

    private static Object invoke(Object fn, List<Object> args, Map<String, Object> kwargs) {
        if (fn instanceof Undefined u) throw u.error();
        if (fn instanceof Callable c) return c.call(args, kwargs);
        throw new PyError("'" + Py.typeName(fn) + "' object is not callable");
    }

    private Object applyFilter(FilterCall fc, Object value, Scope scope) {
        List<Object> args = new ArrayList<>();
        Map<String, Object> kwargs = new LinkedHashMap<>();
        evalArgs(fc.args(), scope, args, kwargs);
        line = fc.line();
        return Filters.apply(fc.name(), value, args, kwargs);
    }
}
