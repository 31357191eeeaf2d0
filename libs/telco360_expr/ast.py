"""AST nodes of the expression language. Every node keeps its source position."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class Literal:
    """A number, string, boolean or null constant."""

    value: float | str | bool | None
    pos: int


@dataclass(frozen=True)
class Name:
    """A feature, attribute or score name."""

    name: str
    pos: int


@dataclass(frozen=True)
class TagRef:
    """tag(tag_id): whether the account holds the tag now (segments only)."""

    tag_id: str
    pos: int


@dataclass(frozen=True)
class Unary:
    """Unary minus or logical not."""

    op: str
    operand: Node
    pos: int


@dataclass(frozen=True)
class Binary:
    """Arithmetic (+ - * /), comparison (= != < <= > >=) or logic (and, or)."""

    op: str
    left: Node
    right: Node
    pos: int


@dataclass(frozen=True)
class InList:
    """x in (a, b, ...) or x not in (...)."""

    operand: Node
    items: tuple[Node, ...]
    negated: bool
    pos: int


@dataclass(frozen=True)
class Between:
    """x between low and high (inclusive), or x not between ..."""

    operand: Node
    low: Node
    high: Node
    negated: bool
    pos: int


@dataclass(frozen=True)
class Call:
    """A function call such as pct_change(a, b)."""

    name: str
    args: tuple[Node, ...]
    pos: int


Node = Literal | Name | TagRef | Unary | Binary | InList | Between | Call

COMPARISONS = frozenset({"=", "!=", "<", "<=", ">", ">="})
ARITHMETIC = frozenset({"+", "-", "*", "/"})
LOGIC = frozenset({"and", "or"})


def children(node: Node) -> tuple[Node, ...]:
    """The direct sub-expressions of a node, left to right."""
    if isinstance(node, Unary):
        return (node.operand,)
    if isinstance(node, Binary):
        return (node.left, node.right)
    if isinstance(node, InList):
        return (node.operand, *node.items)
    if isinstance(node, Between):
        return (node.operand, node.low, node.high)
    if isinstance(node, Call):
        return node.args
    return ()


def walk(node: Node) -> Iterator[Node]:
    """Yield every node of the tree, parents before children (depth-first, left to right).

    Iterative (an explicit stack), so no tree shape can reach the recursion limit.
    """
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(children(current)))
