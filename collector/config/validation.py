"""Pydantic validation errors as config issues: key path, position, the bad value, a suggestion.

Pydantic's ``loc`` mixes config keys with union member tags (``int``,
``function-after[...]``); the config path is recovered by following ``loc``
through the data that was validated, keeping only the steps that exist there
(plus a final missing or unknown key). Suggestions for a misspelt key come
from the field names of the model at that depth, found by walking the model's
annotations along the same path.
"""

from __future__ import annotations

import json
import re
import types
import typing
from collections.abc import Mapping, Sequence, Set
from typing import Any, Iterator

import pydantic
from pydantic import BaseModel

from collector.config.issues import ConfigIssue, Path, suggest
from collector.config.loader import LoadedConfig
from collector.config.redact import REDACTED, is_secret_key

_MAX_VALUE_CHARS = 60
_QUOTED = re.compile(r"'([^']*)'")
#: errors about a key absent from the data (the last ``loc`` step)
_KEY_ERRORS = ("missing", "extra_forbidden")
#: errors whose pydantic wording names Python types or classes, said in config terms
_EXPECTED = {"model_type": "a mapping", "model_attributes_type": "a mapping", "dict_type": "a mapping", "list_type": "a list"}


def issues_from_validation(
    exc: pydantic.ValidationError,
    base: Path,
    loaded: LoadedConfig,
    model: type[BaseModel] | None = None,
) -> list[ConfigIssue]:
    """One issue per error in ``exc``, raised validating the data at ``base`` in ``loaded.data``.

    ``model`` (the class validated) lets an unknown key get a suggestion.
    """
    data = _at(loaded.data, base)
    issues = []
    for error in exc.errors(include_url=False):
        relative = _config_path(data, error["loc"], error["type"] in _KEY_ERRORS)
        path = base + relative
        message, suggestion = _describe(error, path, loaded)
        if error["type"] == "extra_forbidden" and model is not None and relative:
            suggestion = suggest(str(relative[-1]), _field_keys(model, relative[:-1]))
        issues.append(ConfigIssue(path, message, loaded.position(path), suggestion))
    return issues


def _at(data: Any, path: Path) -> Any:
    for key in path:
        try:
            data = data[key]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _config_path(data: Any, loc: tuple[int | str, ...], ends_in_key: bool) -> Path:
    path: list[str | int] = []
    for index, step in enumerate(loc):
        if isinstance(data, dict) and step in data:
            data = data[step]
        elif isinstance(data, list) and isinstance(step, int) and 0 <= step < len(data):
            data = data[step]
        elif ends_in_key and index == len(loc) - 1:
            data = None  # a missing or unknown key: the last step, absent from the data
        else:
            continue  # a union member tag or a dict-key marker, not part of the config
        path.append(step)
    return tuple(path)


def _describe(error: Mapping[str, Any], path: Path, loaded: LoadedConfig) -> tuple[str, str | None]:
    kind, value = error["type"], error.get("input")
    key = path[-1] if path else ""
    if kind == "extra_forbidden":
        return f'unknown key "{key}"', None
    if kind == "missing":
        return f'missing required key "{key}"', None
    shown = _show(value, path, loaded)
    if kind in ("value_error", "assertion_error") and "error" in error.get("ctx", {}):
        message = str(error["ctx"]["error"])
        if not _is_scalar(value) or repr(value) in message or str(value) in message:
            return message, None  # already names the value, or the value is a whole mapping
        return f"invalid value {shown}: {message}", None
    if kind in _EXPECTED:
        return f"invalid value {shown}: expected {_EXPECTED[kind]}", None
    message = f"invalid value {shown}: {error['msg'][:1].lower()}{error['msg'][1:]}"
    expected = str(error.get("ctx", {}).get("expected", ""))
    if kind in ("literal_error", "enum") and isinstance(value, str):
        return message, suggest(value, _QUOTED.findall(expected))
    return message, None


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def _show(value: Any, path: Path, loaded: LoadedConfig) -> str:
    """The bad value as the operator would write it, never a secret, with the reference it came from."""
    if any(is_secret_key(step) for step in path if isinstance(step, str)):
        text = REDACTED
    else:
        text = json.dumps(value, ensure_ascii=False, default=str)
        if len(text) > _MAX_VALUE_CHARS:
            text = text[: _MAX_VALUE_CHARS - 3] + "..."
    written = loaded.references.get(path)
    return f'{text} (from "{written}")' if written is not None else text


def _field_keys(model: type[BaseModel], path: Path) -> set[str]:
    """The keys the model accepts at ``path`` (field aliases where set)."""
    annotations: list[Any] = [model]
    for step in path:
        annotations = [child for annotation in annotations for child in _children(annotation, step)]
    return {
        field.alias or name
        for annotation in annotations
        for member in _members(annotation)
        if isinstance(member, type) and issubclass(member, BaseModel)
        for name, field in member.model_fields.items()
    }


def _members(annotation: Any) -> Iterator[Any]:
    """The concrete types behind ``Annotated``, ``Optional`` and unions."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        yield from _members(typing.get_args(annotation)[0])
    elif origin is typing.Union or origin is types.UnionType:
        for arg in typing.get_args(annotation):
            yield from _members(arg)
    else:
        yield annotation


def _children(annotation: Any, step: str | int) -> Iterator[Any]:
    """The annotations of what lies one step below a value of type ``annotation``."""
    for member in _members(annotation):
        if isinstance(member, type) and issubclass(member, BaseModel):
            for name, field in member.model_fields.items():
                if step in (name, field.alias):
                    yield field.annotation
            continue
        origin, args = typing.get_origin(member), typing.get_args(member)
        if not isinstance(origin, type) or not args:
            continue
        if issubclass(origin, Mapping):
            yield args[-1]
        elif isinstance(step, int) and issubclass(origin, (Sequence, Set)):
            yield args[0]
