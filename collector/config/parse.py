"""One YAML text to plain Python data plus the source position of every key path.

PyYAML's ``SafeLoader`` builds values but forgets where they came from, so we
let it compose the node tree (nodes carry their marks) and build the values
ourselves, recording a :class:`Position` for every mapping key and every
sequence item. Scalars keep YAML 1.1 typing by reusing the ``SafeLoader``'s
resolver and constructors; timestamps stay text, as the collector's Go
configs expect. Mapping keys are taken as their raw text, never typed, so
``on:`` stays the key ``"on"``. Merge keys (``<<``) work as in PyYAML.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from collector.config.issues import ConfigIssue, Path, Position

#: Called for every string scalar value (never keys) with its text, whether it
#: was written plain (unquoted), its path and position; returns the final
#: value. A ``ValueError`` it raises becomes a :class:`ConfigIssue`.
StringHook = Callable[[str, bool, Path, Position], Any]

_TAG = "tag:yaml.org,2002:"
_PLAIN_TAGS = {_TAG + name for name in ("null", "bool", "int", "float", "str")}
_TEXT_TAGS = {_TAG + "timestamp"}


@dataclass
class ParsedYaml:
    """``data`` is None when the text holds no document or could not be parsed."""

    data: Any
    positions: dict[Path, Position] = field(default_factory=dict)
    issues: list[ConfigIssue] = field(default_factory=list)


def parse_yaml(text: str, name: str, on_string: StringHook | None = None) -> ParsedYaml:
    """Parse ``text`` (named ``name`` in positions); problems land in ``issues``, never raised."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        return ParsedYaml(None, issues=[_syntax_issue(exc, name)])
    except yaml.YAMLError as exc:  # unmarked errors, such as a bad character encoding
        return ParsedYaml(None, issues=[ConfigIssue((), f"invalid YAML in {name}: {exc}")])
    except RecursionError:  # PyYAML composes recursively: [[[[... a few hundred deep
        return ParsedYaml(None, issues=[ConfigIssue((), f"invalid YAML in {name}: collections nested too deeply")])
    if root is None:
        return ParsedYaml(None)
    builder = _Builder(name, on_string)
    data = builder.build(root, ())
    return ParsedYaml(data, builder.positions, builder.issues)


def yaml_scalar(text: str) -> Any:
    """The value ``text`` would have as a plain YAML scalar: ``4317`` -> 4317, ``true`` -> True."""
    tag = _RESOLVER.resolve(ScalarNode, text, (True, False))
    return _scalar(ScalarNode(tag, text))


_RESOLVER = yaml.resolver.Resolver()
_CONSTRUCTOR = yaml.constructor.SafeConstructor()


def _scalar(node: ScalarNode) -> Any:
    if node.tag in _TEXT_TAGS:
        return node.value
    if node.tag not in _PLAIN_TAGS:
        raise _Unsupported(node)
    try:
        return _CONSTRUCTOR.construct_object(node)
    except (ValueError, KeyError):  # an explicit tag on text that does not fit it: !!int abc
        raise _Unsupported(node, f'"{node.value}" is not a valid {_tag_name(node)}') from None


def _tag_name(node: Node) -> str:
    return node.tag.replace(_TAG, "!!")


def _position(mark: yaml.Mark, name: str) -> Position:
    return Position(name, mark.line + 1, mark.column + 1)


def _position_of(node: Node, name: str) -> Position:
    return _position(node.start_mark, name)


def _syntax_issue(exc: yaml.MarkedYAMLError, name: str) -> ConfigIssue:
    mark = exc.problem_mark or exc.context_mark
    problem, context = exc.problem or exc.context, exc.context if exc.problem else None
    if context and problem.startswith("but "):  # PyYAML splits "expected X, but found Y" in two
        message = f"invalid YAML: {context}, {problem}"
    elif context and exc.context_mark is not None:
        where = f"line {exc.context_mark.line + 1}, column {exc.context_mark.column + 1}"
        message = f"invalid YAML: {problem} ({context} at {where})"
    else:
        message = f"invalid YAML: {problem}"
    return ConfigIssue((), message, _position(mark, name) if mark is not None else None)


class _Unsupported(Exception):
    """A node this loader does not turn into plain data."""

    def __init__(self, node: Node, message: str | None = None) -> None:
        super().__init__(message or f'unsupported YAML tag "{_tag_name(node)}"')


class _Builder:
    """Walks the node tree once, building values and recording positions and issues."""

    def __init__(self, name: str, on_string: StringHook | None) -> None:
        self.name = name
        self.on_string = on_string
        self.positions: dict[Path, Position] = {}
        self.issues: list[ConfigIssue] = []
        self._open: set[int] = set()  # nodes being built: an alias back to one is a cycle

    def build(self, node: Node, path: Path) -> Any:
        self.positions.setdefault(path, _position_of(node, self.name))
        if id(node) in self._open:  # the alias's own position is lost: name where it is used
            self.issues.append(ConfigIssue(path, "recursive alias: a node cannot contain itself", self.positions[path]))
            return None
        self._open.add(id(node))
        try:
            if isinstance(node, MappingNode):
                return self._mapping(node, path)
            if isinstance(node, SequenceNode):
                return self._sequence(node, path)
            return self._string_or_scalar(node, path)
        except _Unsupported as exc:
            self._issue(path, node, str(exc))
            return None
        finally:
            self._open.discard(id(node))

    def _issue(self, path: Path, node: Node, message: str) -> None:
        self.issues.append(ConfigIssue(path, message, _position_of(node, self.name)))

    def _string_or_scalar(self, node: ScalarNode, path: Path) -> Any:
        value = _scalar(node)
        if self.on_string is None or not isinstance(value, str) or node.tag in _TEXT_TAGS:
            return value
        try:
            return self.on_string(value, node.style is None, path, _position_of(node, self.name))
        except ValueError as exc:
            self._issue(path, node, str(exc))
            return value

    def _sequence(self, node: SequenceNode, path: Path) -> list[Any]:
        if node.tag != _TAG + "seq":
            raise _Unsupported(node)
        return [self.build(item, path + (index,)) for index, item in enumerate(node.value)]

    def _mapping(self, node: MappingNode, path: Path) -> dict[str, Any]:
        if node.tag != _TAG + "map":
            raise _Unsupported(node)
        own = sum(1 for key, _ in node.value if key.tag != _TAG + "merge")
        try:
            _CONSTRUCTOR.flatten_mapping(node)  # merge keys first, then the node's own pairs
        except yaml.MarkedYAMLError as exc:
            self.issues.append(_syntax_issue(exc, self.name))
            return {}
        inherited, pairs = node.value[: len(node.value) - own], node.value[len(node.value) - own :]
        own_keys = {key.value for key, _ in pairs if isinstance(key, ScalarNode)}
        result: dict[str, Any] = {}
        for key_node, value_node in inherited:
            if isinstance(key_node, ScalarNode) and key_node.value not in own_keys:
                self._entry(result, key_node, value_node, path)
        first_seen: dict[str, Node] = {}
        for key_node, value_node in pairs:
            if not isinstance(key_node, ScalarNode):
                self._issue(path, key_node, "a mapping key must be a plain value, not a mapping or sequence")
            elif key_node.value in first_seen:
                first = _position_of(first_seen[key_node.value], self.name)
                message = f'duplicate key "{key_node.value}"; first defined at {first}'
                self._issue(path + (key_node.value,), key_node, message)
            else:
                first_seen[key_node.value] = key_node
                self._entry(result, key_node, value_node, path)
        return result

    def _entry(self, result: dict[str, Any], key_node: ScalarNode, value_node: Node, path: Path) -> None:
        key_path = path + (key_node.value,)
        self.positions[key_path] = _position_of(key_node, self.name)
        result[key_node.value] = self.build(value_node, key_path)
