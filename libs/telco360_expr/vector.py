"""Column-wise evaluation of a checked expression over many accounts at once (numpy).

Values are columns of one type with a null mask. Logic is three-valued (Kleene), like SQL:
a comparison with null is unknown, `false and unknown` is false, `true or unknown` is true,
`not unknown` is unknown; an account matches only where the result is true. Division by
zero and pct_change against zero give null.

Evaluation recurses over the tree; the parser bounds its height and size (parser.MAX_DEPTH,
parser.MAX_NODES), so no expression reaches the recursion limit here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from telco360_expr import ast
from telco360_expr.checker import BOOL, NULL, NUMBER, STRING


@dataclass
class Column:
    """One typed column: data (float64, bool or object array) and its null mask."""

    kind: str
    data: np.ndarray
    null: np.ndarray


def column_from_values(kind: str, values: list) -> Column:
    """Build a column from Python values (None = null)."""
    n = len(values)
    null = np.fromiter((v is None for v in values), dtype=bool, count=n)
    if kind == NUMBER:
        data = np.fromiter((np.nan if v is None else float(v) for v in values), dtype=np.float64, count=n)
        null |= np.isnan(data)
    elif kind == BOOL:
        data = np.fromiter((bool(v) if v is not None else False for v in values), dtype=bool, count=n)
    else:
        data = np.empty(n, dtype=object)
        data[:] = ["" if v is None else str(v) for v in values]
    return Column(kind, data, null)


Resolver = Callable[[str], Column]
TagResolver = Callable[[str], np.ndarray]


class _Evaluator:
    def __init__(self, n: int, names: Resolver, tags: TagResolver | None) -> None:
        self.n = n
        self.names = names
        self.tags = tags
        self.cache: dict[str, Column] = {}

    def const(self, value: object) -> Column:
        n = self.n
        if value is None:
            return Column(NULL, np.zeros(n, dtype=np.float64), np.ones(n, dtype=bool))
        if isinstance(value, bool):
            return Column(BOOL, np.full(n, value, dtype=bool), np.zeros(n, dtype=bool))
        if isinstance(value, float):
            return Column(NUMBER, np.full(n, value, dtype=np.float64), np.zeros(n, dtype=bool))
        data = np.empty(n, dtype=object)
        data[:] = value
        return Column(STRING, data, np.zeros(n, dtype=bool))

    def eval(self, node: ast.Node) -> Column:
        if isinstance(node, ast.Literal):
            return self.const(node.value)
        if isinstance(node, ast.Name):
            if node.name not in self.cache:
                self.cache[node.name] = self.names(node.name)
            return self.cache[node.name]
        if isinstance(node, ast.TagRef):
            held = self.tags(node.tag_id) if self.tags else np.zeros(self.n, dtype=bool)
            return Column(BOOL, held, np.zeros(self.n, dtype=bool))
        if isinstance(node, ast.Unary):
            col = self.eval(node.operand)
            if node.op == "not":
                return _not(col)
            return Column(NUMBER, -col.data, col.null.copy())
        if isinstance(node, ast.Binary):
            if node.op == "and":
                return _and(self.eval(node.left), self.eval(node.right))
            if node.op == "or":
                return _or(self.eval(node.left), self.eval(node.right))
            left, right = self.eval(node.left), self.eval(node.right)
            if node.op in ast.ARITHMETIC:
                return _arith(node.op, left, right)
            return _compare(node.op, left, right)
        if isinstance(node, ast.InList):
            operand = self.eval(node.operand)
            result = Column(BOOL, np.zeros(self.n, dtype=bool), np.zeros(self.n, dtype=bool))
            for item in node.items:
                result = _or(result, _compare("=", operand, self.eval(item)))
            return _not(result) if node.negated else result
        if isinstance(node, ast.Between):
            operand = self.eval(node.operand)
            inside = _and(_compare(">=", operand, self.eval(node.low)), _compare("<=", operand, self.eval(node.high)))
            return _not(inside) if node.negated else inside
        if isinstance(node, ast.Call):
            return self.call(node)
        raise TypeError(f"unsupported node {node!r}")

    def call(self, node: ast.Call) -> Column:
        args = [self.eval(arg) for arg in node.args]
        if node.name == "is_null":
            return Column(BOOL, args[0].null.copy(), np.zeros(self.n, dtype=bool))
        if node.name == "coalesce":
            # Start from the first typed argument's array: a null literal's placeholder data
            # (float zeros) cannot hold strings or flags.
            typed = [col for col in args if col.kind != NULL]
            if not typed:
                return self.const(None)
            out = Column(typed[0].kind, typed[0].data.copy(), np.ones(self.n, dtype=bool))
            for col in typed:
                fill = out.null & ~col.null
                out.data[fill] = col.data[fill]
                out.null &= col.null
            return out
        data = [np.where(a.null, np.nan, a.data.astype(np.float64)) for a in args]
        with np.errstate(all="ignore"):
            if node.name == "abs":
                values = np.abs(data[0])
            elif node.name == "min":
                values = _reduce(np.fmin, data)
            elif node.name == "max":
                values = _reduce(np.fmax, data)
            else:
                new, old = data
                values = np.where(old != 0, (new - old) / np.abs(old) * 100.0, np.nan)
        return _number(values)


def _reduce(fn: Callable, arrays: list[np.ndarray]) -> np.ndarray:
    out = arrays[0]
    for arr in arrays[1:]:
        out = fn(out, arr)
    return out


def _number(values: np.ndarray) -> Column:
    null = ~np.isfinite(values)
    return Column(NUMBER, np.where(null, 0.0, values), null)


def _flags(a: Column) -> np.ndarray:
    """The boolean data of a logic operand (a null literal carries float placeholders)."""
    return a.data if a.data.dtype == bool else np.zeros(len(a.null), dtype=bool)


def _and(a: Column, b: Column) -> Column:
    x, y = _flags(a), _flags(b)
    true = x & ~a.null & y & ~b.null
    false = (~x & ~a.null) | (~y & ~b.null)
    return Column(BOOL, true, ~true & ~false)


def _or(a: Column, b: Column) -> Column:
    x, y = _flags(a), _flags(b)
    true = (x & ~a.null) | (y & ~b.null)
    false = (~x & ~a.null) & (~y & ~b.null)
    return Column(BOOL, true, ~true & ~false)


def _not(a: Column) -> Column:
    return Column(BOOL, ~_flags(a) & ~a.null, a.null.copy())


def _arith(op: str, a: Column, b: Column) -> Column:
    x = np.where(a.null, np.nan, a.data.astype(np.float64))
    y = np.where(b.null, np.nan, b.data.astype(np.float64))
    with np.errstate(all="ignore"):
        if op == "+":
            values = x + y
        elif op == "-":
            values = x - y
        elif op == "*":
            values = x * y
        else:
            values = np.where(y != 0, x / y, np.nan)
    return _number(values)


_COMPARE = {
    "=": np.equal,
    "!=": np.not_equal,
    "<": np.less,
    "<=": np.less_equal,
    ">": np.greater,
    ">=": np.greater_equal,
}


def _compare(op: str, a: Column, b: Column) -> Column:
    null = a.null | b.null
    if a.kind == NULL or b.kind == NULL:
        return Column(BOOL, np.zeros(len(null), dtype=bool), np.ones(len(null), dtype=bool))
    if a.kind == NUMBER and b.kind == NUMBER:
        # Compare rounded values so 0.1 + 0.2 = 0.3 and thresholds hit exactly.
        result = _COMPARE[op](np.round(a.data, 9), np.round(b.data, 9))
    else:
        result = _COMPARE[op](a.data, b.data).astype(bool)
    return Column(BOOL, result & ~null, null)


def evaluate(tree: ast.Node, n: int, names: Resolver, tags: TagResolver | None = None) -> np.ndarray:
    """Evaluate a boolean expression over n accounts; returns the mask of accounts where it is true."""
    if n == 0:
        return np.zeros(0, dtype=bool)
    col = _Evaluator(n, names, tags).eval(tree)
    if col.kind == NULL:
        return np.zeros(n, dtype=bool)
    return col.data & ~col.null


def frame_resolver(rows: list[Mapping[str, object]], schema: Mapping[str, str]) -> Resolver:
    """A name resolver over a list of feature dicts (one per account)."""

    def resolve(name: str) -> Column:
        return column_from_values(schema.get(name, NUMBER), [row.get(name) for row in rows])

    return resolve
