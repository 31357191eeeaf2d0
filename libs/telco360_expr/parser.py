"""Recursive-descent parser from tokens to the AST.

Grammar (lowest precedence first):
    expr       := or_expr END
    or_expr    := and_expr ("or" and_expr)*
    and_expr   := not_expr ("and" not_expr)*
    not_expr   := "not" not_expr | predicate
    predicate  := additive [ cmp_op additive
                           | ["not"] "in" "(" additive ("," additive)* ")"
                           | ["not"] "between" additive "and" additive ]
    additive   := term (("+" | "-") term)*
    term       := unary (("*" | "/") unary)*
    unary      := "-" unary | primary
    primary    := NUMBER | STRING | "true" | "false" | "null" | "(" or_expr ")"
                | NAME [ "(" [or_expr ("," or_expr)*] ")" ]
"""

from __future__ import annotations

from telco360_expr import ast
from telco360_expr.errors import ExpressionError
from telco360_expr.lexer import Token, tokenize

MAX_DEPTH = 64


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.i = 0
        self.depth = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def _describe(self, tok: Token) -> str:
        return "end of expression" if tok.kind == "END" else repr(tok.value if tok.kind != "NUMBER" else tok.value)

    def error(self, expected: str) -> ExpressionError:
        return ExpressionError(self.tok.pos, f"expected {expected}, found {self._describe(self.tok)}")

    def is_kw(self, word: str) -> bool:
        return self.tok.kind == "KEYWORD" and self.tok.value == word

    def is_op(self, op: str) -> bool:
        return self.tok.kind == "OP" and self.tok.value == op

    def advance(self) -> Token:
        tok = self.tok
        self.i += 1
        return tok

    def expect_op(self, op: str) -> Token:
        if not self.is_op(op):
            raise self.error(f"'{op}'")
        return self.advance()

    def parse(self) -> ast.Node:
        if self.tok.kind == "END":
            raise ExpressionError(0, "empty expression")
        node = self.or_expr()
        if self.tok.kind != "END":
            raise self.error("an operator ('and', 'or', a comparison) or end of expression")
        return node

    def _enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionError(self.tok.pos, f"expression nested deeper than {MAX_DEPTH} levels")

    def or_expr(self) -> ast.Node:
        self._enter()
        node = self.and_expr()
        while self.is_kw("or"):
            pos = self.advance().pos
            node = ast.Binary("or", node, self.and_expr(), pos)
        self.depth -= 1
        return node

    def and_expr(self) -> ast.Node:
        node = self.not_expr()
        while self.is_kw("and"):
            pos = self.advance().pos
            node = ast.Binary("and", node, self.not_expr(), pos)
        return node

    def not_expr(self) -> ast.Node:
        if self.is_kw("not"):
            pos = self.advance().pos
            self._enter()
            operand = self.not_expr()
            self.depth -= 1
            return ast.Unary("not", operand, pos)
        return self.predicate()

    def predicate(self) -> ast.Node:
        left = self.additive()
        tok = self.tok
        if tok.kind == "OP" and tok.value in ast.COMPARISONS:
            self.advance()
            return ast.Binary(str(tok.value), left, self.additive(), tok.pos)
        negated = False
        if self.is_kw("not"):
            negated = True
            self.advance()
            if not (self.is_kw("in") or self.is_kw("between")):
                raise self.error("'in' or 'between' after 'not'")
        if self.is_kw("in"):
            pos = self.advance().pos
            self.expect_op("(")
            items = [self.additive()]
            while self.is_op(","):
                self.advance()
                items.append(self.additive())
            self.expect_op(")")
            return ast.InList(left, tuple(items), negated, pos)
        if self.is_kw("between"):
            pos = self.advance().pos
            low = self.additive()
            if not self.is_kw("and"):
                raise self.error("'and' in 'between ... and ...'")
            self.advance()
            high = self.additive()
            return ast.Between(left, low, high, negated, pos)
        return left

    def additive(self) -> ast.Node:
        node = self.term()
        while self.tok.kind == "OP" and self.tok.value in ("+", "-"):
            tok = self.advance()
            node = ast.Binary(str(tok.value), node, self.term(), tok.pos)
        return node

    def term(self) -> ast.Node:
        node = self.unary()
        while self.tok.kind == "OP" and self.tok.value in ("*", "/"):
            tok = self.advance()
            node = ast.Binary(str(tok.value), node, self.unary(), tok.pos)
        return node

    def unary(self) -> ast.Node:
        if self.is_op("-"):
            pos = self.advance().pos
            self._enter()
            operand = self.unary()
            self.depth -= 1
            if isinstance(operand, ast.Literal) and isinstance(operand.value, float):
                return ast.Literal(-operand.value, pos)
            return ast.Unary("-", operand, pos)
        return self.primary()

    def primary(self) -> ast.Node:
        tok = self.tok
        if tok.kind == "NUMBER":
            self.advance()
            return ast.Literal(float(tok.value), tok.pos)
        if tok.kind == "STRING":
            self.advance()
            return ast.Literal(str(tok.value), tok.pos)
        if tok.kind == "KEYWORD" and tok.value in ("true", "false", "null"):
            self.advance()
            return ast.Literal({"true": True, "false": False, "null": None}[str(tok.value)], tok.pos)
        if self.is_op("("):
            self.advance()
            node = self.or_expr()
            self.expect_op(")")
            return node
        if tok.kind == "NAME":
            self.advance()
            if self.is_op("("):
                return self.call(str(tok.value), tok.pos)
            return ast.Name(str(tok.value), tok.pos)
        raise self.error("a value, a name or '('")

    def call(self, name: str, pos: int) -> ast.Node:
        self.expect_op("(")
        if name == "tag":
            arg = self.tok
            if arg.kind not in ("NAME", "STRING"):
                raise self.error("a tag id")
            self.advance()
            self.expect_op(")")
            return ast.TagRef(str(arg.value), pos)
        args: list[ast.Node] = []
        if not self.is_op(")"):
            args.append(self.or_expr())
            while self.is_op(","):
                self.advance()
                args.append(self.or_expr())
        self.expect_op(")")
        return ast.Call(name, tuple(args), pos)


def parse(text: str) -> ast.Node:
    """Parse an expression into its AST; raises ExpressionError with the position."""
    return _Parser(tokenize(text)).parse()
