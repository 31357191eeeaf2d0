"""AST nodes of the expression language. Every node keeps its source position."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union


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
    operand: "Node"
    pos: int


@dataclass(frozen=True)
class Binary:
    """Arithmetic (+ - * /), comparison (= != < <= > >=) or logic (and, or)."""

    op: str
    left: "Node"
    right: "Node"
    pos: int


@dataclass(frozen=True)
class InList:
    """x in (a, b, ...) or x not in (...)."""

    operand: "Node"
    items: tuple["Node", ...]
    negated: bool
    pos: int


@dataclass(frozen=True)
class Between:
    """x between low and high (inclusive), or x not between ..."""

    operand: "Node"
    low: "Node"
    high: "Node"
    negated: bool
    pos: int


@dataclass(frozen=True)
class Call:
    """A function call such as pct_change(a, b)."""

    name: str
    args: tuple["Node", ...]
    pos: int


Node = Union[Literal, Name, TagRef, Unary, Binary, InList, Between, Call]

COMPARISONS = frozenset({"=", "!=", "<", "<=", ">", ">="})
ARITHMETIC = frozenset({"+", "-", "*", "/"})
LOGIC = frozenset({"and", "or"})


def walk(node: Node):
    """Yield every node of the tree, parents before children."""
    yield node
    if isinstance(node, Unary):
        yield from walk(node.operand)
    elif isinstance(node, Binary):
        yield from walk(node.left)
        yield from walk(node.right)
    elif isinstance(node, InList):
        yield from walk(node.operand)
        for item in node.items:
            yield from walk(item)
    elif isinstance(node, Between):
        yield from walk(node.operand)
        yield from walk(node.low)
        yield from walk(node.high)
    elif isinstance(node, Call):
        for arg in node.args:
            yield from walk(arg)
