package org.moescope.chat;

import java.util.List;

/** The parsed template: statements (template body) and expressions, as jinja2's parser builds them. */
final class Ast {
    private Ast() {
    }

    /** A statement of a template body. */
    sealed interface Node permits Text, Output, If, For, Assign, AssignBlock, Macro, With, Break, Continue, Generation,
            CallBlock {
    }

    record Text(String text) implements Node {
    }

    record Output(Expr expr) implements Node {
    }

    record Branch(Expr test, List<Node> body) {
    }

    /** if / elif... / else. */
    record If(List<Branch> branches, List<Node> orElse) implements Node {
    }

    /** for target in iter [if filter] ... [else ...] endfor. */
    record For(Expr target, Expr iter, Expr filter, List<Node> body, List<Node> orElse, int line) implements Node {
    }

    /** set target = value; target is a Name, a Tuple of Names, or an NsRef (namespace attribute). */
    record Assign(Expr target, Expr value, int line) implements Node {
    }

    /** set target [| filters] ... endset: the rendered body, filtered, is assigned. */
    record AssignBlock(Expr target, List<FilterCall> filters, List<Node> body, int line) implements Node {
    }

    record Macro(String name, List<String> params, List<Expr> defaults, List<Node> body, int line) implements Node {
    }

    /** call(params) macro(args) ... endcall: the body is passed to the macro as {@code caller}. */
    record CallBlock(List<String> params, List<Expr> defaults, Expr call, List<Node> body, int line)
            implements Node {
    }

    record With(List<Expr> targets, List<Expr> values, List<Node> body) implements Node {
    }

    record Break() implements Node {
    }

    record Continue() implements Node {
    }

    /** transformers' {% generation %} block (marks assistant text for masks); renders its body. */
    record Generation(List<Node> body) implements Node {
    }

    /** An expression. */
    sealed interface Expr permits Const, Name, NsRef, ListLit, TupleLit, DictLit, GetAttr, GetItem, Slice, Call,
            Filter, Test, Not, Neg, Pos, BinOp, Concat, And, Or, Compare, CondExpr {
    }

    record Const(Object value) implements Expr {
    }

    record Name(String name, int line) implements Expr {
    }

    /** ns.attr as an assignment target. */
    record NsRef(String name, String attr, int line) implements Expr {
    }

    record ListLit(List<Expr> items) implements Expr {
    }

    record TupleLit(List<Expr> items) implements Expr {
    }

    record DictLit(List<Expr> keys, List<Expr> values) implements Expr {
    }

    record GetAttr(Expr obj, String attr, int line) implements Expr {
    }

    record GetItem(Expr obj, Expr key, int line) implements Expr {
    }

    /** start:stop:step inside [], each part may be null. */
    record Slice(Expr start, Expr stop, Expr step) implements Expr {
    }

    /** Arguments of a call, a filter or a test. */
    record Args(List<Expr> positional, List<String> names, List<Expr> named, Expr starArgs, Expr starKwargs) {
        static final Args NONE = new Args(List.of(), List.of(), List.of(), null, null);
    }

    record Call(Expr fn, Args args, int line) implements Expr {
    }

    record FilterCall(String name, Args args, int line) {
    }

    /** value | name(args); value is null only in a set block or filter block (the body is the value). */
    record Filter(Expr value, FilterCall filter) implements Expr {
    }

    record Test(Expr value, String name, Args args, int line) implements Expr {
    }

    record Not(Expr expr) implements Expr {
    }

    record Neg(Expr expr, int line) implements Expr {
    }

    record Pos(Expr expr, int line) implements Expr {
    }

    /** + - * / // % ** */
    record BinOp(String op, Expr left, Expr right, int line) implements Expr {
    }

    /** a ~ b ~ c: str() of each, joined. */
    record Concat(List<Expr> items) implements Expr {
    }

    record And(Expr left, Expr right) implements Expr {
    }

    record Or(Expr left, Expr right) implements Expr {
    }

    /** a op1 b op2 c ...: chained as in Python; ops are ==, !=, <, <=, >, >=, in, notin. */
    record Compare(Expr first, List<String> ops, List<Expr> operands, int line) implements Expr {
    }

    /** then if test else orElse; orElse null means undefined. */
    record CondExpr(Expr test, Expr then, Expr orElse) implements Expr {
    }
}
