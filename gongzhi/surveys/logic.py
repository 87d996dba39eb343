"""The survey rule language: skip logic (`relevant`), validation (`constraint`), calculated values (`calculation`)
and choice filters (`choice_filter`), one grammar on both sides.

The server (this module) and the browser (``static/surveys/logic.js``, a line-for-line port) parse and evaluate
the same expressions the same way, and walk a question list the same way (`walk`); ``tests/test_logic.py`` runs
a shared table of cases, and generated ones, through both and compares. The server re-checks every rule on
submit whatever the channel.

Grammar::

    expr    := or
    or      := and ("or" and)*
    and     := not ("and" not)*
    not     := "not" not | compare
    compare := sum (("=" | "!=" | "<" | "<=" | ">" | ">=") sum)?
    sum     := product (("+" | "-") product)*
    product := unary (("*" | "/") unary)*
    unary   := "-" unary | value
    value   := NUMBER | STRING | "true" | "false" | "null" | "." | "@code" | "@tag" | "${" KEY ("." ROW)? "}"
             | NAME "(" [expr ("," expr)*] ")" | "(" expr ")"
    NAME    := selected | count | answered | if | coalesce | number

Values are null, booleans, numbers, strings (single choice codes, text, ISO dates), lists of strings (multiple
choice) and objects (matrix: row code → column code). ``.`` is the question's own answer (in a constraint).
``@code`` and ``@tag`` are the code and tag of the option being filtered (in a choice filter; null elsewhere).

- ``a = b`` is true when both are null, or both numbers and equal, or both strings and equal, or both booleans
  and equal; ``!=`` is its negation. ``<``, ``<=``, ``>``, ``>=`` hold only between two numbers or two strings
  (so ISO dates compare as dates), never with null.
- ``+ - * /`` and unary ``-`` work on numbers only (as IEEE doubles, like JavaScript); anything else, a division
  by zero or a result that is not finite gives null — so a score sum over an unanswered question is null unless
  written with ``coalesce``.
- ``selected(x, 'c')``: x is a list holding 'c', or x is the string 'c'. ``count(x)``: the length of a list,
  0 for null or an empty string, 1 for any other value. ``answered(x)``: not null, not '' and not [].
  ``if(c, a, b)``: a when c is truthy, else b. ``coalesce(a, b)``: a when answered, else b. ``number(x)``: x if
  a number, a string of digits (with an optional sign and decimals) as a number, else null.
- ``and``, ``or``, ``not`` and a rule's result use truthiness: true, a non-zero number, a non-empty string, a
  non-empty list or object.
- A calculated value that is a whole number is kept as an integer.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

__all__ = ["RuleError", "choice_codes", "compute", "evaluate", "parse", "references", "tokenize", "truthy", "walk"]

FUNCTIONS = {"selected": 2, "count": 1, "answered": 1, "if": 3, "coalesce": 2, "number": 1}
CHOICE_ATTRS = ("code", "tag")
NUMBER_TEXT = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")
MAX_LENGTH = 500
MAX_DEPTH = 20
_TOKEN = re.compile(
    r"[ \t\r\n]*(?:(?P<num>[0-9]+(?:\.[0-9]+)?)|(?P<str>'[^']*')|(?P<ref>\$\{[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)?\})"
    r"|(?P<attr>@[A-Za-z_]+)|(?P<op><=|>=|!=|=|<|>|\(|\)|,|\.|\+|-|\*|/)|(?P<name>[A-Za-z_]+))"
)


class RuleError(ValueError):
    """A rule that does not parse, or refers to something it may not."""


@dataclass(frozen=True)
class Node:
    kind: str  # lit, ref, self, attr, call, cmp, arith, neg, and, or, not
    value: object = None
    args: tuple = ()


def tokenize(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    if len(text) > MAX_LENGTH:
        raise RuleError(f"the rule is longer than {MAX_LENGTH} characters")
    text = text.rstrip(" \t\r\n")
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise RuleError(f"unexpected character at {pos + 1}: {text[pos : pos + 10]!r}")
        kind = m.lastgroup
        assert kind is not None  # every alternative of _TOKEN is a named group
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, text: str):
        self.tokens = tokenize(text)
        self.i = 0
        self.depth = 0

    def nest(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise RuleError(f"the rule nests deeper than {MAX_DEPTH} levels")

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        tok = self.peek()
        if tok is None:
            raise RuleError("the rule ends too early")
        self.i += 1
        return tok

    def expect(self, value: str) -> None:
        tok = self.take()
        if tok[1] != value:
            raise RuleError(f"expected {value!r}, found {tok[1]!r}")

    def word(self, w: str) -> bool:
        tok = self.peek()
        return tok is not None and tok[0] == "name" and tok[1] == w

    def parse(self) -> Node:
        if not self.tokens:
            raise RuleError("the rule is empty")
        node = self.or_()
        tok = self.peek()
        if tok is not None:
            raise RuleError(f"unexpected {tok[1]!r}")
        return node

    def or_(self) -> Node:
        node = self.and_()
        while self.word("or"):
            self.i += 1
            node = Node("or", args=(node, self.and_()))
        return node

    def and_(self) -> Node:
        node = self.not_()
        while self.word("and"):
            self.i += 1
            node = Node("and", args=(node, self.not_()))
        return node

    def not_(self) -> Node:
        if self.word("not"):
            self.i += 1
            self.nest()
            return Node("not", args=(self.not_(),))
        return self.compare()

    def op(self, *ops: str) -> str | None:
        tok = self.peek()
        if tok is not None and tok[0] == "op" and tok[1] in ops:
            self.i += 1
            return tok[1]
        return None

    def compare(self) -> Node:
        left = self.sum()
        op = self.op("=", "!=", "<", "<=", ">", ">=")
        if op is not None:
            return Node("cmp", op, (left, self.sum()))
        return left

    def sum(self) -> Node:
        node = self.product()
        op = self.op("+", "-")
        while op is not None:
            node = Node("arith", op, (node, self.product()))
            op = self.op("+", "-")
        return node

    def product(self) -> Node:
        node = self.unary()
        op = self.op("*", "/")
        while op is not None:
            node = Node("arith", op, (node, self.unary()))
            op = self.op("*", "/")
        return node

    def unary(self) -> Node:
        if self.op("-") is not None:
            self.nest()
            return Node("neg", args=(self.unary(),))
        return self.value()

    def value(self) -> Node:
        kind, text = self.take()
        if kind == "num":
            return Node("lit", float(text))  # as JavaScript reads it
        if kind == "str":
            return Node("lit", text[1:-1])
        if kind == "ref":
            return Node("ref", text[2:-1])
        if kind == "attr":
            if text[1:] not in CHOICE_ATTRS:
                raise RuleError(f"unknown option attribute {text!r}")
            return Node("attr", text[1:])
        if kind == "op" and text == ".":
            return Node("self")
        if kind == "op" and text == "(":
            self.nest()
            node = self.or_()
            self.expect(")")
            return node
        if kind == "name":
            if text in ("true", "false"):
                return Node("lit", text == "true")
            if text == "null":
                return Node("lit", None)
            if text in FUNCTIONS:
                self.nest()
                self.expect("(")
                args = [self.or_()]
                while (tok := self.peek()) is not None and tok[1] == ",":
                    self.i += 1
                    args.append(self.or_())
                self.expect(")")
                if len(args) != FUNCTIONS[text]:
                    raise RuleError(f"{text}() takes {FUNCTIONS[text]} argument(s), got {len(args)}")
                return Node("call", text, tuple(args))
            raise RuleError(f"unknown name {text!r}")
        raise RuleError(f"unexpected {text!r}")


def parse(text: str) -> Node:
    """Parse a rule (RuleError with the reason if it does not)."""
    return _Parser(text).parse()


def references(node: Node) -> set[str]:
    """The question keys a rule refers to (``${q}`` and ``${q.row}`` both give ``q``); "." gives ".", and
    ``@code`` / ``@tag`` give "@"."""
    if node.kind == "ref":
        return {str(node.value).split(".")[0]}
    if node.kind == "self":
        return {"."}
    if node.kind == "attr":
        return {"@"}
    out: set[str] = set()
    for a in node.args:
        out |= references(a)
    return out


def truthy(v: object) -> bool:
    if v is True:
        return True
    if v is None or v is False:
        return False
    if isinstance(v, int | float):
        return v != 0
    if isinstance(v, str | list | dict):
        return len(v) > 0
    return False


def _is_num(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _equal(a: object, b: object) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if _is_num(a) and _is_num(b):
        return a == b
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    if isinstance(a, bool) and isinstance(b, bool):
        return a == b
    return False


def _order(op: str, a: Any, b: Any) -> bool:  # Any: the first line checks both are numbers or both strings
    if not ((_is_num(a) and _is_num(b)) or (isinstance(a, str) and isinstance(b, str))):
        return False
    if op == "<":
        return a < b
    if op == "<=":
        return a <= b
    if op == ">":
        return a > b
    return a >= b


def _lookup(answers: dict, key: str) -> object:
    if "." in key:
        q, row = key.split(".", 1)
        v = answers.get(q)
        return v.get(row) if isinstance(v, dict) else None
    return answers.get(key)


def _float(v: object) -> float:
    try:
        return float(v)  # type: ignore[arg-type]
    except OverflowError:  # an integer beyond a double, as JavaScript reads it
        return math.inf if v > 0 else -math.inf  # type: ignore[operator]


def _arith(op: str, a: object, b: object) -> object:
    if not (_is_num(a) and _is_num(b)):
        return None
    x, y = _float(a), _float(b)
    if op == "+":
        r = x + y
    elif op == "-":
        r = x - y
    elif op == "*":
        r = x * y
    elif y == 0:
        return None
    else:
        r = x / y
    return r if math.isfinite(r) else None


def _number(x: object) -> object:
    if _is_num(x):
        return x
    if isinstance(x, str) and NUMBER_TEXT.match(x):
        return float(x)
    return None


def _eval(node: Node, answers: dict, own: object, choice: dict | None) -> object:
    k = node.kind
    if k == "lit":
        return node.value
    if k == "ref":
        return _lookup(answers, str(node.value))
    if k == "self":
        return own
    if k == "attr":
        v = choice.get(str(node.value)) if choice is not None else None
        return v if isinstance(v, str) else None
    if k == "not":
        return not truthy(_eval(node.args[0], answers, own, choice))
    if k == "and":
        return truthy(_eval(node.args[0], answers, own, choice)) and truthy(_eval(node.args[1], answers, own, choice))
    if k == "or":
        return truthy(_eval(node.args[0], answers, own, choice)) or truthy(_eval(node.args[1], answers, own, choice))
    if k == "neg":
        x = _eval(node.args[0], answers, own, choice)
        return -_float(x) if _is_num(x) else None
    if k == "arith":
        a, b = _eval(node.args[0], answers, own, choice), _eval(node.args[1], answers, own, choice)
        return _arith(str(node.value), a, b)
    if k == "cmp":
        a, b = _eval(node.args[0], answers, own, choice), _eval(node.args[1], answers, own, choice)
        if node.value == "=":
            return _equal(a, b)
        if node.value == "!=":
            return not _equal(a, b)
        return _order(str(node.value), a, b)
    # call
    if node.value == "if":  # only the branch taken is evaluated
        cond = truthy(_eval(node.args[0], answers, own, choice))
        return _eval(node.args[1 if cond else 2], answers, own, choice)
    args = [_eval(a, answers, own, choice) for a in node.args]
    x = args[0]
    if node.value == "selected":
        if isinstance(x, list):
            return args[1] in x if isinstance(args[1], str) else False
        return isinstance(x, str) and isinstance(args[1], str) and x == args[1]
    if node.value == "count":
        if isinstance(x, list):
            return len(x)
        return 0 if x is None or x == "" else 1
    if node.value == "coalesce":
        return args[1] if x is None or x == "" or x == [] else x
    if node.value == "number":
        return _number(x)
    return not (x is None or x == "" or x == [])  # answered


def evaluate(rule: str | Node, answers: dict, own: object = None, choice: dict | None = None) -> bool:
    """Does the rule hold for these answers (``own`` = the question's own answer, for "."; ``choice`` = the
    option being filtered, for ``@code`` / ``@tag``)?"""
    node = parse(rule) if isinstance(rule, str) else rule
    return truthy(_eval(node, answers, own, choice))


def compute(rule: str | Node, answers: dict, own: object = None, choice: dict | None = None) -> object:
    """The rule's value (for a calculated question): a whole-number result is an integer."""
    node = parse(rule) if isinstance(rule, str) else rule
    value = _eval(node, answers, own, choice)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def choice_codes(question: dict, seen: dict) -> list[str]:
    """The codes of a question's options that its choice filter keeps for the answers so far (all without one)."""
    rule = question.get("choice_filter") or ""
    if not rule:
        return [c["code"] for c in question.get("choices", [])]
    node = parse(rule)
    return [c["code"] for c in question.get("choices", []) if evaluate(node, seen, None, c)]


def walk(questions: list[dict], answers: dict) -> dict:
    """Go through the questions in order as a form does, for these answers.

    A question whose skip rule fails is hidden; a calculated question is never shown, its value (when not null)
    joins the answers later questions see; a choice question whose filter keeps no option is hidden. Returns
    ``{"shown": [keys], "values": {calculated key: value}, "options": {filtered key: [codes]}, "seen": {...}}``
    where "seen" is what the later rules saw (answers of shown questions and calculated values).
    """
    seen: dict = {}
    shown: list[str] = []
    values: dict = {}
    options: dict = {}
    for q in questions:
        key = q["key"]
        if q.get("relevant") and not evaluate(q["relevant"], seen):
            continue
        if q["type"] == "calculate":
            v = compute(q["calculation"], seen)
            if v is not None:
                seen[key] = values[key] = v
            continue
        if q.get("choice_filter"):
            codes = choice_codes(q, seen)
            if not codes:
                continue
            options[key] = codes
        shown.append(key)
        if key in answers and answers[key] is not None:
            seen[key] = answers[key]
    return {"shown": shown, "values": values, "options": options, "seen": seen}
