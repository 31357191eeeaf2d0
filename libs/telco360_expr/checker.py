"""Name and type checking of a parsed expression against the feature schema.

Types are "number", "string", "bool" and "null" (the null literal, compatible with any
type). A rule must be boolean; names must exist in the schema; operators and functions
must get operands of the right types. Errors carry the position of the offending node.

The checker recurses over the tree; that is safe because the parser bounds every tree's
height (parser.MAX_DEPTH, a few frames per level) and size (parser.MAX_NODES).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from telco360_expr import ast
from telco360_expr.errors import EXPRESSION_TYPE, EXPRESSION_UNKNOWN_NAME, ExpressionError
from telco360_expr.parser import parse

NUMBER, STRING, BOOL, NULL = "number", "string", "bool", "null"

# name -> (min args, max args or None, result type or None when it is the argument type)
FUNCTIONS: dict[str, tuple[int, int | None, str | None]] = {
    "pct_change": (2, 2, NUMBER),
    "abs": (1, 1, NUMBER),
    "min": (1, None, NUMBER),
    "max": (1, None, NUMBER),
    "coalesce": (1, None, None),
    "is_null": (1, 1, BOOL),
}


@dataclass(frozen=True)
class CheckedExpression:
    """A parsed, type-checked boolean expression and what it reads."""

    text: str
    tree: ast.Node
    names: tuple[str, ...]
    tags: tuple[str, ...]


def _fail(node: ast.Node, message: str, reason: str = EXPRESSION_TYPE) -> ExpressionError:
    return ExpressionError(node.pos, message, reason)


class _Checker:
    def __init__(self, schema: Mapping[str, str], allow_tags: bool, known_tags: set[str] | None) -> None:
        self.schema = schema
        self.allow_tags = allow_tags
        self.known_tags = known_tags
        self.names: list[str] = []
        self.tags: list[str] = []

    def type_of(self, node: ast.Node) -> str:
        if isinstance(node, ast.Literal):
            if node.value is None:
                return NULL
            if isinstance(node.value, bool):
                return BOOL
            return NUMBER if isinstance(node.value, float) else STRING
        if isinstance(node, ast.Name):
            if node.name not in self.schema:
                raise _fail(node, f"unknown name '{node.name}'", EXPRESSION_UNKNOWN_NAME)
            if node.name not in self.names:
                self.names.append(node.name)
            return self.schema[node.name]
        if isinstance(node, ast.TagRef):
            if not self.allow_tags:
                raise _fail(node, "tag(...) may only be used in segment expressions", EXPRESSION_UNKNOWN_NAME)
            if self.known_tags is not None and node.tag_id not in self.known_tags:
                raise _fail(node, f"unknown tag '{node.tag_id}'", EXPRESSION_UNKNOWN_NAME)
            if node.tag_id not in self.tags:
                self.tags.append(node.tag_id)
            return BOOL
        if isinstance(node, ast.Unary):
            operand = self.type_of(node.operand)
            wanted = BOOL if node.op == "not" else NUMBER
            self._want(node.operand, operand, wanted, f"'{node.op}'")
            return wanted
        if isinstance(node, ast.Binary):
            return self._binary(node)
        if isinstance(node, ast.InList):
            left = self.type_of(node.operand)
            for item in node.items:
                self._same(item, left, self.type_of(item), "'in'")
            return BOOL
        if isinstance(node, ast.Between):
            for part in (node.operand, node.low, node.high):
                self._want(part, self.type_of(part), NUMBER, "'between'")
            return BOOL
        if isinstance(node, ast.Call):
            return self._call(node)
        raise _fail(node, "unsupported construct")

    def _want(self, node: ast.Node, actual: str, wanted: str, where: str) -> None:
        if actual not in (wanted, NULL):
            raise _fail(node, f"{where} needs a {wanted}, got a {actual}")

    def _same(self, node: ast.Node, left: str, right: str, where: str) -> None:
        if NULL not in (left, right) and left != right:
            raise _fail(node, f"{where} compares a {left} with a {right}")

    def _binary(self, node: ast.Binary) -> str:
        left, right = self.type_of(node.left), self.type_of(node.right)
        if node.op in ast.LOGIC:
            self._want(node.left, left, BOOL, f"'{node.op}'")
            self._want(node.right, right, BOOL, f"'{node.op}'")
            return BOOL
        if node.op in ast.ARITHMETIC:
            self._want(node.left, left, NUMBER, f"'{node.op}'")
            self._want(node.right, right, NUMBER, f"'{node.op}'")
            return NUMBER
        self._same(node, left, right, f"'{node.op}'")
        if node.op not in ("=", "!=") and BOOL in (left, right):
            raise _fail(node, f"'{node.op}' cannot order booleans")
        return BOOL

    def _call(self, node: ast.Call) -> str:
        spec = FUNCTIONS.get(node.name)
        if spec is None:
            known = ", ".join(sorted(FUNCTIONS))
            raise _fail(node, f"unknown function '{node.name}' (known: {known}, tag)", EXPRESSION_UNKNOWN_NAME)
        low, high, result = spec
        if len(node.args) < low or (high is not None and len(node.args) > high):
            count = f"{low}" if low == high else f"at least {low}"
            raise _fail(node, f"{node.name}() takes {count} argument(s), got {len(node.args)}")
        types = [self.type_of(arg) for arg in node.args]
        if result is None:
            concrete = {t for t in types if t != NULL}
            if len(concrete) > 1:
                raise _fail(node, f"{node.name}() arguments must have one type")
            return concrete.pop() if concrete else NULL
        if node.name != "is_null":
            for arg, kind in zip(node.args, types, strict=False):
                self._want(arg, kind, NUMBER, f"{node.name}()")
        return result


def check(
    text: str, schema: Mapping[str, str], *, allow_tags: bool = False, known_tags: set[str] | None = None
) -> CheckedExpression:
    """Parse and check a boolean expression; raises ExpressionError with the position."""
    tree = parse(text)
    checker = _Checker(schema, allow_tags, known_tags)
    result = checker.type_of(tree)
    if result not in (BOOL, NULL):
        raise _fail(tree, f"the expression must be true or false, but it is a {result}")
    return CheckedExpression(text, tree, tuple(checker.names), tuple(checker.tags))
