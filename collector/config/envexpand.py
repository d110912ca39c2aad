"""Environment references in config strings, read as the OpenTelemetry Collector reads them.

Forms, in any string value (mapping keys are never expanded):

* ``${env:VAR}`` and ``${VAR}``: the variable's value;
* ``${env:VAR:-default}``: ``default`` when VAR is unset (an empty VAR stays empty);
* ``$$``: a literal ``$``; a ``$`` followed by anything else is kept as is.

An unset variable without a default expands to the empty string, as in the
Collector; the caller is told its name so it can warn. ``${env:}``, an
unclosed ``${``, a ``$`` inside a reference, or another provider such as
``${file:x}`` are errors.

Typing rule: when a *plain (unquoted)* scalar is exactly one reference, the
expanded text is typed as a plain YAML scalar would be, so ``port:
${env:PORT}`` with PORT=4317 gives the int 4317 and ``true`` gives a bool
(an empty expansion stays the string ``""``). A reference inside a longer
string, or in a quoted scalar (``"${env:PORT}"``), always gives a string.
Unlike the Collector, an expansion never becomes a mapping or a list. Inside
a flow collection (``{a: ...}``, ``[...]``) YAML reads ``{`` and ``}`` as
structure, so a reference there must be quoted, and is then a string.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from collector.config.parse import yaml_scalar

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]+\Z")


@dataclass
class Expansion:
    """The expanded value, and what the caller may want to report about it."""

    value: Any
    #: the text held at least one ``${...}`` reference (not only ``$$``)
    referenced: bool = False
    #: variables that were unset and had no default
    unset: list[str] = field(default_factory=list)


def expand(text: str, env: Mapping[str, str], plain: bool) -> Expansion:
    """Expand every reference in ``text``; ``plain`` says it was an unquoted scalar.

    Raises ``ValueError`` naming the malformed reference.
    """
    if "$" not in text:
        return Expansion(text)
    parts: list[str] = []
    result = Expansion(text)
    whole_reference = False
    pos = 0
    while (dollar := text.find("$", pos)) >= 0:
        parts.append(text[pos:dollar])
        following = text[dollar + 1 : dollar + 2]
        if following != "{":
            parts.append("$")
            pos = dollar + (2 if following == "$" else 1)
            continue
        close = text.find("}", dollar + 2)
        if close < 0:
            raise ValueError(f'malformed reference "{text[dollar:]}": missing closing "}}"')
        reference = text[dollar : close + 1]
        value, unset = _lookup(reference, env)
        parts.append(value)
        if unset:
            result.unset.append(unset)
        result.referenced = True
        whole_reference = reference == text
        pos = close + 1
    parts.append(text[pos:])
    expanded = "".join(parts)
    result.value = yaml_scalar(expanded) if plain and whole_reference and expanded else expanded
    return result


def _lookup(reference: str, env: Mapping[str, str]) -> tuple[str, str | None]:
    """The value of one ``${...}`` reference, and the variable's name if it was unset."""
    body = reference[2:-1]
    if "$" in body:
        raise ValueError(f'malformed reference "{reference}": a reference cannot contain "$"')
    if ":" in body:
        scheme, _, rest = body.partition(":")
        if scheme != "env" and rest.startswith("-") and _NAME.match(scheme):
            raise ValueError(f'malformed reference "{reference}": a default needs the env provider: ${{env:{body}}}')
        if _SCHEME.match(scheme) is None:
            raise ValueError(
                f'malformed reference "{reference}": expected ${{env:NAME}}, ${{NAME}} or ${{env:NAME:-default}}'
            )
        if scheme != "env":
            raise ValueError(f'unsupported reference "{reference}": unknown provider "{scheme}"; only "env" is supported')
        body = rest
    name, has_default, default = body.partition(":-")
    if not _NAME.match(name):
        raise ValueError(
            f'malformed reference "{reference}": environment variable name "{name}" must match [A-Za-z_][A-Za-z0-9_]*'
        )
    if name in env:
        return env[name], None
    if has_default:
        return default, None
    return "", name
