"""A small, safe condition language for `where` clauses, parsed once at config load.

Shared by ``logs_to_metrics`` and the filter/transform processors, so that
every component reads conditions the same way. There is no arithmetic, no
function call besides ``exists`` and no attribute access on Python objects:
a condition can only read record fields and compare them with literals.

Grammar (keywords are lower case)::

    expr    := and ("or" and)*
    and     := not ("and" not)*
    not     := "not" not | cmp
    cmp     := operand [ op operand | ["not"] "in" "[" literal ("," literal)* "]"
                       | ("matches" | "=~") string ]
    op      := "==" | "!=" | "<" | "<=" | ">" | ">="
    operand := literal | path | "exists" "(" path ")" | "(" expr ")"
    literal := string | number | "true" | "false" | "null"
    path    := ident ("." ident | "[" string "]")*

A bare path is true when its value is the boolean ``true``. Strings take
single or double quotes with JSON escapes.

Field paths: ``http.status`` walks nested objects; a key that itself holds a
dot is written ``body["http.status"]`` (brackets take any string). Paths
start in the record body; ``body.x`` says so explicitly (needed to reach a
body key named ``body``, ``resource`` or ``attributes``). ``resource.x`` and
``attributes.x`` read the OTLP resource and log attributes, whose names are
flat dotted strings: ``resource.service.name`` is the key ``service.name``,
and a bracket after them walks into a map value.

Extra roots: a caller whose items have fields beside the body (a log
record's ``severity_text``, ``trace_id``...) names them as roots, as in
``Expression(text, roots=("record",))``; ``record.severity_text`` is then
``Path("record", ("severity_text",))``, read like ``attributes`` (a flat
dotted name, brackets walk into the value). Only the roots a caller passes
are roots, so every other first name still starts a body path, and a body
key that shares a root's name stays reachable as ``body.record``: no
expression means two things. What fields a root has is the caller's to
check, with ``path_columns`` to point at the offending path.

Semantics: a missing field equals nothing, so ``==``, ``<`` and friends are
false and ``!=`` (defined as ``not ==``) is true. Numbers compare as numbers
(ints and floats alike, booleans are not numbers); strings compare by code
point; values of different types are unequal and unordered. ``matches``
searches (unanchored) and is false for non-strings.
"""

from __future__ import annotations

import json
import operator
import re
from dataclasses import dataclass
from typing import Any, Callable, Generic, Iterable, TypeVar

R = TypeVar("R")

#: What a getter returns for a field the record does not have.
MISSING: Any = type("Missing", (), {"__repr__": lambda self: "MISSING", "__bool__": lambda self: False})()

ROOTS = ("body", "resource", "attributes")


class ExpressionError(ValueError):
    """A condition or path that does not parse.

    ``message`` says what is wrong, ``column`` (1-based) where in ``text``;
    ``str()`` shows all three with a caret under the column. A caller that
    embeds the expression in a larger text re-raises with ``message`` and
    its own column.
    """

    def __init__(self, message: str, text: str, column: int) -> None:
        self.message = message
        self.column = column
        self.text = text
        super().__init__(f"{message} at column {column}\n    {text}\n    {' ' * (column - 1)}^")


@dataclass(frozen=True)
class Path:
    """A field reference: where to start (``body``, ``resource``, ``attributes`` or a caller's extra root)
    and the keys to walk."""

    root: str
    keys: tuple[str, ...]

    def __str__(self) -> str:
        keys = self.keys
        if self.root != "body":
            head = [self.root, keys[0]] if keys else [self.root]
            keys = keys[1:]
        else:
            head = []
        parts = ".".join(head)
        for k in keys:
            if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_\-]*", k) and not (not parts and k in ROOTS):
                parts += ("." if parts else "") + k
            else:
                parts += ("body" if not parts else "") + "[" + json.dumps(k) + "]"
        return parts

    def lookup(self, value: Any) -> Any:
        """Walk ``keys`` through nested mappings; ``MISSING`` where one is absent."""
        for key in self.keys:
            if not isinstance(value, dict):
                return MISSING
            value = value.get(key, MISSING)
            if value is MISSING:
                return MISSING
        return value


_TOKEN = re.compile(
    r"""\s*(?:
      (?P<num>-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)(?![A-Za-z0-9_])
    | (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
    | (?P<op>==|!=|<=|>=|=~|<|>|\(|\)|\[|\]|,|\.)
    | (?P<ident>[A-Za-z_][A-Za-z0-9_\-]*)
    )""",
    re.VERBOSE,
)
_KEYWORDS = {"and", "or", "not", "in", "matches", "exists", "true", "false", "null"}
_LITERAL_WORDS = {"true": True, "false": False, "null": None}


@dataclass
class _Tok:
    kind: str  # num, str, op, ident, end
    text: str
    col: int


def _tokenize(text: str) -> list[_Tok]:
    toks, pos = [], 0
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos == len(text):
            toks.append(_Tok("end", "", pos + 1))
            return toks
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            bad = text[pos]
            hint = "unterminated string" if bad in "\"'" else f"unexpected character {bad!r}"
            raise ExpressionError(hint, text, pos + 1)
        kind = m.lastgroup or ""
        toks.append(_Tok(kind, m.group(kind), m.start(kind) + 1))
        pos = m.end()


def _string_value(tok: _Tok, text: str) -> str:
    body = tok.text[1:-1]
    if tok.text[0] == "'":
        body = body.replace("\\'", "'").replace('"', '\\"')
    try:
        return json.loads('"' + body + '"')
    except ValueError as exc:
        raise ExpressionError(f"bad string escape ({exc.args[0].split(':')[0]})", text, tok.col) from None


# AST nodes are tuples: ("lit", value) ("path", Path) ("exists", Path) ("cmp", op, a, b)
# ("in", a, values) ("match", a, regex) ("and", a, b) ("or", a, b) ("not", a) ("truthy", a)
class _Parser:
    def __init__(self, text: str, roots: Iterable[str] = ()) -> None:
        self.text = text
        self.toks = _tokenize(text)
        self.i = 0
        self.roots = frozenset(("resource", "attributes", *roots))
        #: every path parsed, in text order, with the column where it is first written
        self.columns: dict[Path, int] = {}

    def peek(self) -> _Tok:
        return self.toks[self.i]

    def next(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def error(self, message: str, tok: _Tok | None = None) -> ExpressionError:
        return ExpressionError(message, self.text, (tok or self.peek()).col)

    def is_word(self, word: str) -> bool:
        tok = self.peek()
        return tok.kind == "ident" and tok.text == word

    def expect_op(self, op: str) -> _Tok:
        tok = self.peek()
        if tok.kind != "op" or tok.text != op:
            raise self.error(f"expected {op!r}, found {_describe(tok)}")
        return self.next()

    def parse_expr(self) -> tuple:
        node = self.parse_and()
        while self.is_word("or"):
            self.next()
            node = ("or", node, self.parse_and())
        return node

    def parse_and(self) -> tuple:
        node = self.parse_not()
        while self.is_word("and"):
            self.next()
            node = ("and", node, self.parse_not())
        return node

    def parse_not(self) -> tuple:
        if self.is_word("not"):
            self.next()
            return ("not", self.parse_not())
        return self.parse_cmp()

    def parse_cmp(self) -> tuple:
        left = self.parse_operand()
        tok = self.peek()
        if tok.kind == "op" and tok.text in _COMPARE:
            self.next()
            return ("cmp", tok.text, left, self.parse_operand())
        if tok.kind == "op" and tok.text == "=~" or self.is_word("matches"):
            self.next()
            pattern = self.peek()
            if pattern.kind != "str":
                raise self.error("expected a quoted regular expression")
            self.next()
            try:
                regex = re.compile(_string_value(pattern, self.text))
            except re.error as exc:
                raise ExpressionError(f"bad regular expression: {exc.msg}", self.text,
                                      pattern.col + 1 + (exc.pos or 0)) from None
            return ("match", left, regex)
        negate = False
        if self.is_word("not") and self.toks[self.i + 1].kind == "ident" and self.toks[self.i + 1].text == "in":
            self.next()
            negate = True
        if self.is_word("in"):
            self.next()
            node = ("in", left, self.parse_list())
            return ("not", node) if negate else node
        if left[0] in ("lit", "path"):
            return ("truthy", left)
        return left

    def parse_list(self) -> tuple:
        self.expect_op("[")
        values = []
        while True:
            tok = self.peek()
            node = self.parse_operand()
            if node[0] != "lit":
                raise self.error("a list after 'in' holds only literals", tok)
            values.append(node[1])
            if self.peek().kind == "op" and self.peek().text == ",":
                self.next()
                continue
            self.expect_op("]")
            return tuple(values)

    def parse_operand(self) -> tuple:
        tok = self.peek()
        if tok.kind == "num":
            self.next()
            is_float = any(c in tok.text for c in ".eE")
            return ("lit", float(tok.text) if is_float else int(tok.text))
        if tok.kind == "str":
            self.next()
            return ("lit", _string_value(tok, self.text))
        if tok.kind == "op" and tok.text == "(":
            self.next()
            node = self.parse_expr()
            self.expect_op(")")
            return node
        if tok.kind == "ident":
            if tok.text in _LITERAL_WORDS:
                self.next()
                return ("lit", _LITERAL_WORDS[tok.text])
            if tok.text == "exists":
                self.next()
                self.expect_op("(")
                path = self.parse_path()
                self.expect_op(")")
                return ("exists", path)
            if tok.text in _KEYWORDS:
                raise self.error(f"expected a field or a value, found keyword {tok.text!r}")
            return ("path", self.parse_path())
        raise self.error(f"expected a field or a value, found {_describe(tok)}")

    def parse_path(self) -> Path:
        tok = self.peek()
        if tok.kind != "ident" or tok.text in _KEYWORDS:
            raise self.error(f"expected a field name, found {_describe(tok)}")
        self.next()
        root, keys, flat = "body", [], []
        if tok.text in self.roots:
            root = tok.text
        elif tok.text != "body":
            keys.append(tok.text)
        while self.peek().kind == "op" and self.peek().text in (".", "["):
            if self.next().text == ".":
                name = self.peek()
                if name.kind != "ident":
                    raise self.error(f"expected a field name after '.', found {_describe(name)}")
                self.next()
                (flat if root != "body" and not keys else keys).append(name.text)
            else:
                key = self.peek()
                if key.kind != "str":
                    raise self.error("expected a quoted key inside [ ]")
                self.next()
                self.expect_op("]")
                if flat:
                    keys.append(".".join(flat))
                    flat = []
                keys.append(_string_value(key, self.text))
        if flat:
            keys.insert(0, ".".join(flat))
        if root != "body" and not keys:
            what = "an attribute" if root in ("resource", "attributes") else "a field"
            raise self.error(f"'{root}' needs {what} name, as in {root}.name", tok)
        path = Path(root, tuple(keys))
        self.columns.setdefault(path, tok.col)
        return path


def _describe(tok: _Tok) -> str:
    return "the end of the expression" if tok.kind == "end" else repr(tok.text)


def _is_number(v: Any) -> bool:
    return (type(v) is int or type(v) is float)


def _equal(a: Any, b: Any) -> bool:
    if _is_number(a):
        return _is_number(b) and a == b
    if type(a) in (str, bool) or a is None:
        return type(a) is type(b) and a == b
    return False


def _ordered(op: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def compare(a: Any, b: Any) -> bool:
        if _is_number(a) and _is_number(b) or type(a) is str and type(b) is str:
            return op(a, b)
        return False

    return compare


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "==": _equal,
    "!=": lambda a, b: not _equal(a, b),
    "<": _ordered(operator.lt),
    "<=": _ordered(operator.le),
    ">": _ordered(operator.gt),
    ">=": _ordered(operator.ge),
}


class Expression(Generic[R]):
    """A parsed condition: ``paths`` lists the fields it reads, ``bind`` makes it callable.

    Binding takes a getter factory, so the same expression runs over a dict,
    an OTLP record or a row of pre-extracted values (the fast path's case).
    ``roots`` names the caller's extra roots (see the module docstring);
    ``path_columns`` maps each path to the 1-based column where the text
    first writes it, for errors about a path that parsed but means nothing
    to the caller.
    """

    def __init__(self, text: str, roots: Iterable[str] = ()) -> None:
        self.text = text
        parser = _Parser(text, roots)
        self._ast = parser.parse_expr()
        if parser.peek().kind != "end":
            raise parser.error(f"unexpected {_describe(parser.peek())}; expected 'and', 'or' or the end")
        self.path_columns: dict[Path, int] = parser.columns
        self.paths: tuple[Path, ...] = tuple(parser.columns)

    def bind(self, getter: Callable[[Path], Callable[[R], Any]]) -> Callable[[R], bool]:
        return _compile(self._ast, getter)

    def evaluate(self, record: dict) -> bool:
        """Convenience for tests and slow paths: body fields only, read from a dict."""
        return self.bind(lambda p: p.lookup)(record)

    def __repr__(self) -> str:
        return f"Expression({self.text!r})"


def parse_path(text: str, roots: Iterable[str] = ()) -> Path:
    """A field path as written in config (``dimensions``, ``value``); ``roots`` as for :class:`Expression`."""
    parser = _Parser(text, roots)
    path = parser.parse_path()
    if parser.peek().kind != "end":
        raise parser.error(f"unexpected {_describe(parser.peek())} after the field path")
    return path


def _compile(node: tuple, getter: Callable[[Path], Callable[[Any], Any]]) -> Callable[[Any], Any]:
    kind = node[0]
    if kind == "lit":
        value = node[1]
        return lambda r: value
    if kind == "path":
        return getter(node[1])
    if kind == "exists":
        get = getter(node[1])
        return lambda r: get(r) is not MISSING
    if kind == "cmp":
        op, a, b = _COMPARE[node[1]], _compile(node[2], getter), _compile(node[3], getter)
        return lambda r: op(a(r), b(r))
    if kind == "in":
        a, values = _compile(node[1], getter), node[2]
        return lambda r: any(_equal(a(r), v) for v in values)
    if kind == "match":
        a, search = _compile(node[1], getter), node[2].search
        return lambda r: (type(v := a(r)) is str) and search(v) is not None
    if kind == "and":
        a, b = _compile(node[1], getter), _compile(node[2], getter)
        return lambda r: bool(a(r)) and bool(b(r))
    if kind == "or":
        a, b = _compile(node[1], getter), _compile(node[2], getter)
        return lambda r: bool(a(r)) or bool(b(r))
    if kind == "not":
        a = _compile(node[1], getter)
        return lambda r: not a(r)
    if kind == "truthy":
        a = _compile(node[1], getter)
        return lambda r: a(r) is True
    raise AssertionError(kind)

