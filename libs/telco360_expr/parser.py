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

Size is bounded explicitly, so that neither this parser nor any code that walks the tree
recursively (checker, evaluator) can reach Python's recursion limit, whatever the text:
- the parser's own nesting (parentheses, `not`, unary minus, call arguments) is at most
  MAX_DEPTH levels;
- the tree is at most MAX_DEPTH nodes high: a flat chain `1+1+...+1` is a tree as high as
  it is long, so it is refused at the operator where it passes the limit;
- chains of `and` / `or` (associative, also in three-valued logic) are built as balanced
  trees, so a long list of conditions stays shallow;
- the tree has at most MAX_NODES nodes.
Every such refusal is an ExpressionError with reason EXPRESSION_TOO_COMPLEX and the
position where the limit was passed.
"""

from __future__ import annotations

from telco360_expr import ast
from telco360_expr.errors import EXPRESSION_TOO_COMPLEX, ExpressionError
from telco360_expr.lexer import Token, tokenize

MAX_DEPTH = 64
"""Most levels of nesting in the text and of height in the tree."""
MAX_NODES = 2000
"""Most nodes in one expression's tree (every node costs a column operation per evaluation)."""


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.i = 0
        self.depth = 0
        self.nodes = 0
        # Height of every node built so far, by identity (the tree keeps them alive).
        self.heights: dict[int, int] = {}

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
            raise ExpressionError(
                self.tok.pos, f"expression nested deeper than {MAX_DEPTH} levels", EXPRESSION_TOO_COMPLEX
            )

    def node(self, node: ast.Node, *children: ast.Node) -> ast.Node:
        """Register a new node: refuse it when the tree gets too high or too big."""
        height = 1 + max((self.heights[id(c)] for c in children), default=0)
        if height > MAX_DEPTH:
            raise ExpressionError(
                node.pos,
                f"expression nested deeper than {MAX_DEPTH} levels (split long chains of operators)",
                EXPRESSION_TOO_COMPLEX,
            )
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise ExpressionError(node.pos, f"expression has more than {MAX_NODES} parts", EXPRESSION_TOO_COMPLEX)
        self.heights[id(node)] = height
        return node

    def _balanced(self, op: str, operands: list[ast.Node], positions: list[int]) -> ast.Node:
        """a op b op c ... as a balanced tree (op is associative): height grows with log n.

        Operands keep their left-to-right order, so the checker still reports the first
        fault in reading order. Built bottom-up, pairwise, without recursion.
        """
        level = list(zip(operands, [-1] + positions, strict=False))
        while len(level) > 1:
            paired: list[tuple[ast.Node, int]] = []
            for k in range(0, len(level) - 1, 2):
                (left, left_pos), (right, right_pos) = level[k], level[k + 1]
                paired.append((self.node(ast.Binary(op, left, right, right_pos), left, right), left_pos))
            if len(level) % 2:
                paired.append(level[-1])
            level = paired
        return level[0][0]

    def or_expr(self) -> ast.Node:
        self._enter()
        operands, positions = [self.and_expr()], []
        while self.is_kw("or"):
            positions.append(self.advance().pos)
            operands.append(self.and_expr())
        self.depth -= 1
        return self._balanced("or", operands, positions)

    def and_expr(self) -> ast.Node:
        operands, positions = [self.not_expr()], []
        while self.is_kw("and"):
            positions.append(self.advance().pos)
            operands.append(self.not_expr())
        return self._balanced("and", operands, positions)

    def not_expr(self) -> ast.Node:
        if self.is_kw("not"):
            pos = self.advance().pos
            self._enter()
            operand = self.not_expr()
            self.depth -= 1
            return self.node(ast.Unary("not", operand, pos), operand)
        return self.predicate()

    def predicate(self) -> ast.Node:
        left = self.additive()
        tok = self.tok
        if tok.kind == "OP" and tok.value in ast.COMPARISONS:
            self.advance()
            right = self.additive()
            return self.node(ast.Binary(str(tok.value), left, right, tok.pos), left, right)
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
            return self.node(ast.InList(left, tuple(items), negated, pos), left, *items)
        if self.is_kw("between"):
            pos = self.advance().pos
            low = self.additive()
            if not self.is_kw("and"):
                raise self.error("'and' in 'between ... and ...'")
            self.advance()
            high = self.additive()
            return self.node(ast.Between(left, low, high, negated, pos), left, low, high)
        return left

    def additive(self) -> ast.Node:
        node = self.term()
        while self.tok.kind == "OP" and self.tok.value in ("+", "-"):
            tok = self.advance()
            right = self.term()
            node = self.node(ast.Binary(str(tok.value), node, right, tok.pos), node, right)
        return node

    def term(self) -> ast.Node:
        node = self.unary()
        while self.tok.kind == "OP" and self.tok.value in ("*", "/"):
            tok = self.advance()
            right = self.unary()
            node = self.node(ast.Binary(str(tok.value), node, right, tok.pos), node, right)
        return node

    def unary(self) -> ast.Node:
        if self.is_op("-"):
            pos = self.advance().pos
            self._enter()
            operand = self.unary()
            self.depth -= 1
            if isinstance(operand, ast.Literal) and isinstance(operand.value, float):
                return self.node(ast.Literal(-operand.value, pos))
            return self.node(ast.Unary("-", operand, pos), operand)
        return self.primary()

    def primary(self) -> ast.Node:
        tok = self.tok
        if tok.kind == "NUMBER":
            self.advance()
            return self.node(ast.Literal(float(tok.value), tok.pos))
        if tok.kind == "STRING":
            self.advance()
            return self.node(ast.Literal(str(tok.value), tok.pos))
        if tok.kind == "KEYWORD" and tok.value in ("true", "false", "null"):
            self.advance()
            return self.node(ast.Literal({"true": True, "false": False, "null": None}[str(tok.value)], tok.pos))
        if self.is_op("("):
            self.advance()
            node = self.or_expr()
            self.expect_op(")")
            return node
        if tok.kind == "NAME":
            self.advance()
            if self.is_op("("):
                return self.call(str(tok.value), tok.pos)
            return self.node(ast.Name(str(tok.value), tok.pos))
        raise self.error("a value, a name or '('")

    def call(self, name: str, pos: int) -> ast.Node:
        self.expect_op("(")
        if name == "tag":
            arg = self.tok
            if arg.kind not in ("NAME", "STRING"):
                raise self.error("a tag id")
            self.advance()
            self.expect_op(")")
            return self.node(ast.TagRef(str(arg.value), pos))
        args: list[ast.Node] = []
        if not self.is_op(")"):
            args.append(self.or_expr())
            while self.is_op(","):
                self.advance()
                args.append(self.or_expr())
        self.expect_op(")")
        return self.node(ast.Call(name, tuple(args), pos), *args)


def parse(text: str) -> ast.Node:
    """Parse an expression into its AST; raises ExpressionError with the position."""
    return _Parser(tokenize(text)).parse()
