package org.moescope.chat;

import org.moescope.chat.Ast.*;
import org.moescope.chat.Lexer.Token;
import org.moescope.chat.Lexer.Type;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * jinja2 3.1's parser, function for function (parse_expression ... parse_test), for the statements a chat template
 * can use under transformers: if/elif/else, for (with else, a filter condition and tuple targets), set (names,
 * tuples, namespace attributes, blocks), macro, call, with, print, break/continue (transformers enables the
 * loopcontrols extension) and {% generation %}. Operator precedence is jinja2's, which is not Python's: a filter or
 * an {@code is} test binds tighter than any operator ({@code a + b | trim} trims b; {@code not x is defined} is
 * {@code not (x is defined)}). Template inheritance and includes are refused: transformers renders a single string
 * without a loader.
 */
final class Parser {
    private static final Set<String> COMPARE = Set.of("==", "!=", ">", ">=", "<", "<=");
    private static final Set<String> UNSUPPORTED_TAGS = Set.of("block", "extends", "include", "import", "from",
            "autoescape", "filter");

    private final List<Token> tokens;
    private final String name;
    private int i;
    private int loopDepth;

    private Parser(List<Token> tokens, String name) {
        this.tokens = tokens;
        this.name = name;
    }

    static List<Node> parse(String source, String name) {
        Parser p = new Parser(Lexer.tokenize(source, name), name);
        List<Node> body = p.subparse(null);
        if (p.cur().type() != Type.EOF) {
            throw p.fail("unexpected " + p.cur().describe(), p.cur().line());
        }
        return body;
    }

    // ---- token stream

    private Token cur() {
        return tokens.get(i);
    }

    private Token look() {
        return tokens.get(Math.min(i + 1, tokens.size() - 1));
    }

    private Token next() {
        Token t = tokens.get(i);
        if (t.type() != Type.EOF) i++;
        return t;
    }

    private boolean skipOp(String op) {
        if (cur().isOp(op)) {
            i++;
            return true;
        }
        return false;
    }

    private boolean skipName(String n) {
        if (cur().isName(n)) {
            i++;
            return true;
        }
        return false;
    }

    private Token expect(Type type) {
        Token t = cur();
        if (t.type() != type) {
            if (t.type() == Type.EOF) throw fail("unexpected end of template, expected " + describe(type), t.line());
            throw fail("expected " + describe(type) + ", got " + t.describe(), t.line());
        }
        return next();
    }

    private void expectOp(String op) {
        Token t = cur();
        if (!t.isOp(op)) {
            if (t.type() == Type.EOF) throw fail("unexpected end of template, expected '" + op + "'", t.line());
            throw fail("expected '" + op + "', got " + t.describe(), t.line());
        }
        next();
    }

    private void expectName(String n) {
        Token t = cur();
        if (!t.isName(n)) throw fail("expected '" + n + "', got " + t.describe(), t.line());
        next();
    }

    private static String describe(Type t) {
        return switch (t) {
            case BLOCK_END -> "end of statement block";
            case VAR_END -> "end of print statement";
            case NAME -> "name";
            default -> t.name().toLowerCase();
        };
    }

    private TemplateException fail(String what, int line) {
        return new TemplateException("chat template " + name + ", line " + line + ": " + what, false);
    }

    // ---- statements

    /** Template data, prints and statements until one of endTokens (a tag name) opens a block; null = to the end. */
    private List<Node> subparse(Set<String> endTokens) {
        List<Node> body = new ArrayList<>();
        while (true) {
            Token t = cur();
            switch (t.type()) {
                case DATA -> {
                    next();
                    body.add(new Text((String) t.value()));
                }
                case VAR_BEGIN -> {
                    next();
                    body.add(new Output(parseTuple(false, true, null, false, false)));
                    expect(Type.VAR_END);
                }
                case BLOCK_BEGIN -> {
                    next();
                    if (endTokens != null && cur().type() == Type.NAME && endTokens.contains((String) cur().value())) {
                        return body;
                    }
                    body.addAll(parseStatement());
                    expect(Type.BLOCK_END);
                }
                case EOF -> {
                    return body;
                }
                default -> throw fail("unexpected " + t.describe(), t.line());
            }
        }
    }

    /** parse_statements: the body up to an end tag (left current unless dropNeedle). */
    private List<Node> parseStatements(Set<String> endTokens, boolean dropNeedle) {
        skipOp(":");
        expect(Type.BLOCK_END);
        List<Node> body = subparse(endTokens);
        if (cur().type() == Type.EOF) {
            throw fail("unexpected end of template: expected " + String.join(" or ", endTokens.stream()
                    .map(s -> "'" + s + "'").sorted().toList()), cur().line());
        }
        if (dropNeedle) next();
        return body;
    }

    private List<Node> parseStatement() {
        Token t = cur();
        if (t.type() != Type.NAME) throw fail("tag name expected", t.line());
        String tag = (String) t.value();
        return switch (tag) {
            case "if" -> List.of(parseIf());
            case "for" -> List.of(parseFor());
            case "set" -> List.of(parseSet());
            case "macro" -> List.of(parseMacro());
            case "call" -> List.of(parseCallBlock());
            case "with" -> List.of(parseWith());
            case "print" -> parsePrint();
            case "break", "continue" -> {
                next();
                if (loopDepth == 0) throw fail("'" + tag + "' outside of a loop", t.line());
                yield List.of(tag.equals("break") ? new Break() : new Continue());
            }
            case "generation" -> {
                next();
                yield List.of(new Generation(parseStatements(Set.of("endgeneration"), true)));
            }
            default -> {
                if (UNSUPPORTED_TAGS.contains(tag)) {
                    throw fail("tag '" + tag + "' is not supported in chat templates", t.line());
                }
                throw fail("encountered unknown tag '" + tag + "'", t.line());
            }
        };
    }

    private If parseIf() {
        expectName("if");
        List<Branch> branches = new ArrayList<>();
        List<Node> orElse = List.of();
        while (true) {
            Expr test = parseTuple(false, false, null, false, false);
            List<Node> body = parseStatements(Set.of("elif", "else", "endif"), false);
            branches.add(new Branch(test, body));
            Token t = next();
            if (t.isName("elif")) continue;
            if (t.isName("else")) orElse = parseStatements(Set.of("endif"), true);
            break;
        }
        return new If(branches, orElse);
    }

    private For parseFor() {
        int line = cur().line();
        expectName("for");
        Expr target = parseAssignTarget(true, false, Set.of("in"), false);
        expectName("in");
        Expr iter = parseTuple(false, false, Set.of("recursive"), false, false);
        Expr filter = null;
        if (skipName("if")) filter = parseExpression(true);
        if (cur().isName("recursive")) throw fail("recursive for loops are not supported", cur().line());
        loopDepth++;
        List<Node> body = parseStatements(Set.of("endfor", "else"), false);
        loopDepth--;
        List<Node> orElse = List.of();
        if (next().isName("else")) orElse = parseStatements(Set.of("endfor"), true);
        return new For(target, iter, filter, body, orElse, line);
    }

    private Node parseSet() {
        int line = next().line();
        Expr target = parseAssignTarget(true, false, null, true);
        if (skipOp("=")) {
            return new Assign(target, parseTuple(false, true, null, false, false), line);
        }
        List<FilterCall> filters = new ArrayList<>();
        while (cur().isOp("|")) {
            next();
            filters.add(parseFilterCall());
        }
        return new AssignBlock(target, filters, parseStatements(Set.of("endset"), true), line);
    }

    private Macro parseMacro() {
        int line = next().line();
        String macroName = (String) expect(Type.NAME).value();
        List<String> params = new ArrayList<>();
        List<Expr> defaults = new ArrayList<>();
        parseSignature(params, defaults);
        int saved = loopDepth;
        loopDepth = 0;
        List<Node> body = parseStatements(Set.of("endmacro"), true);
        loopDepth = saved;
        return new Macro(macroName, params, defaults, body, line);
    }

    private void parseSignature(List<String> params, List<Expr> defaults) {
        expectOp("(");
        while (!cur().isOp(")")) {
            if (!params.isEmpty()) expectOp(",");
            String p = (String) expect(Type.NAME).value();
            if (skipOp("=")) {
                defaults.add(parseExpression(true));
            } else if (!defaults.isEmpty()) {
                throw fail("non-default argument follows default argument", cur().line());
            }
            params.add(p);
        }
        expectOp(")");
    }

    private CallBlock parseCallBlock() {
        int line = next().line();
        List<String> params = new ArrayList<>();
        List<Expr> defaults = new ArrayList<>();
        if (cur().isOp("(")) parseSignature(params, defaults);
        Expr call = parseExpression(true);
        if (!(call instanceof Call)) throw fail("expected call", line);
        int saved = loopDepth;
        loopDepth = 0;
        List<Node> body = parseStatements(Set.of("endcall"), true);
        loopDepth = saved;
        return new CallBlock(params, defaults, call, body, line);
    }

    private With parseWith() {
        next();
        List<Expr> targets = new ArrayList<>();
        List<Expr> values = new ArrayList<>();
        while (cur().type() != Type.BLOCK_END) {
            if (!targets.isEmpty()) expectOp(",");
            targets.add(parseAssignTarget(true, false, null, false));
            expectOp("=");
            values.add(parseExpression(true));
        }
        return new With(targets, values, parseStatements(Set.of("endwith"), true));
    }

    private List<Node> parsePrint() {
        next();
        List<Node> out = new ArrayList<>();
        while (cur().type() != Type.BLOCK_END) {
            if (!out.isEmpty()) expectOp(",");
            out.add(new Output(parseExpression(true)));
        }
        return out;
    }

    private Expr parseAssignTarget(boolean withTuple, boolean nameOnly, Set<String> extraEnd, boolean withNamespace) {
        int line = cur().line();
        Expr target;
        if (nameOnly) {
            target = new Name((String) expect(Type.NAME).value(), line);
        } else if (withTuple) {
            target = parseTuple(true, true, extraEnd, false, withNamespace);
        } else {
            target = parsePrimary(withNamespace);
        }
        if (!canAssign(target)) {
            throw fail("can't assign to " + kind(target), line);
        }
        return target;
    }

    private static boolean canAssign(Expr e) {
        return switch (e) {
            case Name n -> true;
            case NsRef r -> true;
            case TupleLit t -> t.items().stream().allMatch(Parser::canAssign);
            default -> false;
        };
    }

    private static String kind(Expr e) {
        return e.getClass().getSimpleName().toLowerCase().replace("lit", "");
    }

    // ---- expressions (jinja2's precedence)

    private Expr parseExpression(boolean withCondexpr) {
        return withCondexpr ? parseCondexpr() : parseOr();
    }

    private Expr parseCondexpr() {
        Expr expr1 = parseOr();
        while (skipName("if")) {
            Expr expr2 = parseOr();
            Expr expr3 = skipName("else") ? parseCondexpr() : null;
            expr1 = new CondExpr(expr2, expr1, expr3);
        }
        return expr1;
    }

    private Expr parseOr() {
        Expr left = parseAnd();
        while (skipName("or")) left = new Or(left, parseAnd());
        return left;
    }

    private Expr parseAnd() {
        Expr left = parseNot();
        while (skipName("and")) left = new And(left, parseNot());
        return left;
    }

    private Expr parseNot() {
        if (cur().isName("not")) {
            next();
            return new Not(parseNot());
        }
        return parseCompare();
    }

    private Expr parseCompare() {
        int line = cur().line();
        Expr expr = parseMath1();
        List<String> ops = new ArrayList<>();
        List<Expr> operands = new ArrayList<>();
        while (true) {
            Token t = cur();
            if (t.type() == Type.OPERATOR && COMPARE.contains((String) t.value())) {
                next();
                ops.add((String) t.value());
                operands.add(parseMath1());
            } else if (skipName("in")) {
                ops.add("in");
                operands.add(parseMath1());
            } else if (t.isName("not") && look().isName("in")) {
                i += 2;
                ops.add("notin");
                operands.add(parseMath1());
            } else {
                break;
            }
        }
        return ops.isEmpty() ? expr : new Compare(expr, ops, operands, line);
    }

    private Expr parseMath1() {
        Expr left = parseConcat();
        while (cur().isOp("+") || cur().isOp("-")) {
            Token op = next();
            left = new BinOp((String) op.value(), left, parseConcat(), op.line());
        }
        return left;
    }

    private Expr parseConcat() {
        List<Expr> args = new ArrayList<>();
        args.add(parseMath2());
        while (skipOp("~")) args.add(parseMath2());
        return args.size() == 1 ? args.get(0) : new Concat(args);
    }

    private Expr parseMath2() {
        Expr left = parsePow();
        while (cur().isOp("*") || cur().isOp("/") || cur().isOp("//") || cur().isOp("%")) {
            Token op = next();
            left = new BinOp((String) op.value(), left, parsePow(), op.line());
        }
        return left;
    }

    private Expr parsePow() {
        Expr left = parseUnary(true);
        while (cur().isOp("**")) {
            Token op = next();
            left = new BinOp("**", left, parseUnary(true), op.line());
        }
        return left;
    }

    private Expr parseUnary(boolean withFilter) {
        Token t = cur();
        Expr node;
        if (t.isOp("-")) {
            next();
            node = new Neg(parseUnary(false), t.line());
        } else if (t.isOp("+")) {
            next();
            node = new Pos(parseUnary(false), t.line());
        } else {
            node = parsePrimary(false);
        }
        node = parsePostfix(node);
        if (withFilter) node = parseFilterExpr(node);
        return node;
    }

    private Expr parsePrimary(boolean withNamespace) {
        Token t = cur();
        switch (t.type()) {
            case NAME -> {
                next();
                String v = (String) t.value();
                switch (v) {
                    case "true", "True" -> {
                        return new Const(Boolean.TRUE);
                    }
                    case "false", "False" -> {
                        return new Const(Boolean.FALSE);
                    }
                    case "none", "None" -> {
                        return new Const(null);
                    }
                    default -> {
                        if (withNamespace && cur().isOp(".")) {
                            next();
                            String attr = (String) expect(Type.NAME).value();
                            return new NsRef(v, attr, t.line());
                        }
                        return new Name(v, t.line());
                    }
                }
            }
            case STRING -> {
                StringBuilder b = new StringBuilder();
                while (cur().type() == Type.STRING) b.append((String) next().value());
                return new Const(b.toString());
            }
            case INTEGER, FLOAT -> {
                next();
                return new Const(t.value());
            }
            case OPERATOR -> {
                if (t.isOp("(")) {
                    next();
                    Expr e = parseTuple(false, true, null, true, false);
                    expectOp(")");
                    return e;
                }
                if (t.isOp("[")) return parseList();
                if (t.isOp("{")) return parseDict();
            }
            default -> { }
        }
        if (t.type() == Type.EOF) throw fail("unexpected end of template", t.line());
        throw fail("unexpected " + t.describe(), t.line());
    }

    private Expr parseTuple(boolean simplified, boolean withCondexpr, Set<String> extraEnd, boolean explicitParens,
                            boolean withNamespace) {
        List<Expr> args = new ArrayList<>();
        boolean isTuple = false;
        while (true) {
            if (!args.isEmpty()) expectOp(",");
            if (isTupleEnd(extraEnd)) break;
            args.add(simplified ? parsePrimary(withNamespace) : parseExpression(withCondexpr));
            if (cur().isOp(",")) {
                isTuple = true;
            } else {
                break;
            }
        }
        if (!isTuple) {
            if (!args.isEmpty()) return args.get(0);
            if (!explicitParens) throw fail("expected an expression, got " + cur().describe(), cur().line());
        }
        return new TupleLit(args);
    }

    private boolean isTupleEnd(Set<String> extraEnd) {
        Token t = cur();
        if (t.type() == Type.VAR_END || t.type() == Type.BLOCK_END || t.isOp(")")) return true;
        return extraEnd != null && t.type() == Type.NAME && extraEnd.contains((String) t.value());
    }

    private Expr parseList() {
        expectOp("[");
        List<Expr> items = new ArrayList<>();
        while (!cur().isOp("]")) {
            if (!items.isEmpty()) expectOp(",");
            if (cur().isOp("]")) break;
            items.add(parseExpression(true));
        }
        expectOp("]");
        return new ListLit(items);
    }

    private Expr parseDict() {
        expectOp("{");
        List<Expr> keys = new ArrayList<>();
        List<Expr> values = new ArrayList<>();
        while (!cur().isOp("}")) {
            if (!keys.isEmpty()) expectOp(",");
            if (cur().isOp("}")) break;
            keys.add(parseExpression(true));
            expectOp(":");
            values.add(parseExpression(true));
        }
        expectOp("}");
        return new DictLit(keys, values);
    }

    private Expr parsePostfix(Expr node) {
        while (true) {
            if (cur().isOp(".") || cur().isOp("[")) {
                node = parseSubscript(node);
            } else if (cur().isOp("(")) {
                node = parseCall(node);
            } else {
                return node;
            }
        }
    }

    private Expr parseFilterExpr(Expr node) {
        while (true) {
            if (cur().isOp("|")) {
                next();
                node = new Filter(node, parseFilterCall());
            } else if (cur().isName("is")) {
                node = parseTest(node);
            } else if (cur().isOp("(")) {
                node = parseCall(node);
            } else {
                return node;
            }
        }
    }

    private Expr parseSubscript(Expr node) {
        Token t = next();
        if (t.isOp(".")) {
            Token attr = next();
            if (attr.type() == Type.NAME) return new GetAttr(node, (String) attr.value(), t.line());
            if (attr.type() != Type.INTEGER) throw fail("expected name or number", attr.line());
            return new GetItem(node, new Const(attr.value()), t.line());
        }
        List<Expr> args = new ArrayList<>();
        while (!cur().isOp("]")) {
            if (!args.isEmpty()) expectOp(",");
            args.add(parseSubscribed());
        }
        expectOp("]");
        return new GetItem(node, args.size() == 1 ? args.get(0) : new TupleLit(args), t.line());
    }

    private Expr parseSubscribed() {
        Expr start = null;
        if (cur().isOp(":")) {
            next();
        } else {
            Expr e = parseExpression(true);
            if (!cur().isOp(":")) return e;
            next();
            start = e;
        }
        Expr stop = null;
        if (!cur().isOp(":") && !cur().isOp("]") && !cur().isOp(",")) stop = parseExpression(true);
        Expr step = null;
        if (cur().isOp(":")) {
            next();
            if (!cur().isOp("]") && !cur().isOp(",")) step = parseExpression(true);
        }
        return new Slice(start, stop, step);
    }

    private Args parseCallArgs() {
        int line = cur().line();
        expectOp("(");
        List<Expr> args = new ArrayList<>();
        List<String> names = new ArrayList<>();
        List<Expr> named = new ArrayList<>();
        Expr dynArgs = null;
        Expr dynKwargs = null;
        boolean requireComma = false;
        while (!cur().isOp(")")) {
            if (requireComma) {
                expectOp(",");
                if (cur().isOp(")")) break;
            }
            if (cur().isOp("*")) {
                if (dynArgs != null || dynKwargs != null) throw fail("invalid syntax for function call expression", line);
                next();
                dynArgs = parseExpression(true);
            } else if (cur().isOp("**")) {
                if (dynKwargs != null) throw fail("invalid syntax for function call expression", line);
                next();
                dynKwargs = parseExpression(true);
            } else if (cur().type() == Type.NAME && look().isOp("=")) {
                if (dynKwargs != null) throw fail("invalid syntax for function call expression", line);
                String key = (String) next().value();
                next();
                names.add(key);
                named.add(parseExpression(true));
            } else {
                if (dynArgs != null || dynKwargs != null || !names.isEmpty()) {
                    throw fail("invalid syntax for function call expression", line);
                }
                args.add(parseExpression(true));
            }
            requireComma = true;
        }
        expectOp(")");
        return new Args(args, names, named, dynArgs, dynKwargs);
    }

    private Expr parseCall(Expr node) {
        int line = cur().line();
        return new Call(node, parseCallArgs(), line);
    }

    private FilterCall parseFilterCall() {
        Token t = expect(Type.NAME);
        String filterName = (String) t.value();
        while (cur().isOp(".")) {
            next();
            filterName += "." + expect(Type.NAME).value();
        }
        if (!Filters.exists(filterName)) {
            throw fail("no filter named '" + filterName + "'" + (Filters.knownToJinja(filterName)
                    ? " (a jinja2 filter that moescope's template engine does not implement)" : ""), t.line());
        }
        Args args = cur().isOp("(") ? parseCallArgs() : Args.NONE;
        return new FilterCall(filterName, args, t.line());
    }

    private Expr parseTest(Expr node) {
        int line = next().line();
        boolean negated = skipName("not");
        Token t = expect(Type.NAME);
        String testName = (String) t.value();
        while (cur().isOp(".")) {
            next();
            testName += "." + expect(Type.NAME).value();
        }
        if (!Tests.exists(testName)) throw fail("no test named '" + testName + "'", t.line());
        Args args;
        Token c = cur();
        if (c.isOp("(")) {
            args = parseCallArgs();
        } else if ((c.type() == Type.NAME || c.type() == Type.STRING || c.type() == Type.INTEGER
                || c.type() == Type.FLOAT || c.isOp("(") || c.isOp("[") || c.isOp("{"))
                && !c.isName("else") && !c.isName("or") && !c.isName("and")) {
            if (c.isName("is")) throw fail("you cannot chain multiple tests with is", c.line());
            Expr arg = parsePostfix(parsePrimary(false));
            args = new Args(List.of(arg), List.of(), List.of(), null, null);
        } else {
            args = Args.NONE;
        }
        Expr test = new Test(node, testName, args, line);
        return negated ? new Not(test) : test;
    }
}
