"""Inputs the fuzz runs found that broke a parser, kept as regression tests (each fix names its commit)."""

from __future__ import annotations

import pytest

from collector.config import ConfigErrors, load_config_text
from fuzz.targets import JsonScanner, json_scanner


@pytest.mark.skipif(JsonScanner is None, reason="compiled scanner not built")
@pytest.mark.parametrize("line", [b'{"k":-1}', b'{"k":-9}', b'{"k":-0}', b'{"k":-10}'])
def test_compiled_twin_keeps_one_digit_negative_dimensions(line):
    """The compiled twin read every two-character negative integer as the -0 special case."""
    json_scanner(line)  # raises when the twins disagree


def test_deeply_nested_yaml_is_a_config_error_not_a_crash():
    """PyYAML composes recursively: a few thousand '[' raised RecursionError out of the loader."""
    with pytest.raises(ConfigErrors, match="nested too deeply"):
        load_config_text("a: " + "[" * 5000)


@pytest.mark.skipif(JsonScanner is None, reason="compiled scanner not built")
@pytest.mark.parametrize("line", [b'{"k":"a","n":{"v":-0}}', b'{"k":"a","n":{"v":-0.0}}', b'{"k":"a","n":{"v":-0e0}}'])
def test_negative_zero_reads_as_orjson_reads_it(line):
    """A gauge of the JSON integer -0 was -0.0 in the compiled twin and 0.0 in the Python one."""
    json_scanner(line)
