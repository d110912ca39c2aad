"""The condition language: parsing, errors that point into the text, semantics."""

import pytest

from collector.expr import MISSING, Expression, ExpressionError, Path, parse_path


@pytest.mark.parametrize(
    "text, record, expected",
    [
        ('level == "error" and status >= 500', {"level": "error", "status": 503}, True),
        ('level == "error" and status >= 500', {"level": "error", "status": 404}, False),
        ("status >= 500", {"status": "503"}, False),  # no coercion between types
        ("status == 200", {"status": 200.0}, True),
        ("status != 200", {}, True),
        ("status < 200", {}, False),
        ("flag", {"flag": True}, True),
        ("flag", {"flag": 1}, False),
        ("not flag", {}, True),
        ("x == null", {"x": None}, True),
        ("x == null", {}, False),
        ("exists(x)", {"x": None}, True),
        ("exists(a.b)", {"a": {"b": 1}}, True),
        ("exists(a.b)", {"a": 1}, False),
        ('method in ["GET", "HEAD"]', {"method": "HEAD"}, True),
        ('method not in ["GET", "HEAD"]', {"method": "POST"}, True),
        ('route matches "^/api/"', {"route": "/api/x"}, True),
        ("route =~ 'v[0-9]'", {"route": "/api/v2"}, True),
        ('route matches "x"', {"route": 1}, False),
        ('body["http.status"] == 500', {"http.status": 500}, True),
        ("http.status == 500", {"http": {"status": 500}}, True),
        ("a or b and c", {"a": True}, True),
        ("(a or b) and c", {"a": True}, False),
        ("true == true", {}, True),
        ("x == -1.5e0", {"x": -1.5}, True),
        ("flag == true", {"flag": 1}, False),
        ('s > "a"', {"s": "b"}, True),
        ('s == "\\u00e9\\n"', {"s": "é\n"}, True),
        ("obj == obj", {"obj": {}}, False),
    ],
)
def test_semantics(text, record, expected):
    assert Expression(text).evaluate(record) is expected


@pytest.mark.parametrize(
    "text, column, words",
    [
        ('level == "error" and', 21, "end of the expression"),
        ("status >= ", 11, "expected a field or a value"),
        ('level = "x"', 7, "unexpected character '='"),
        ('route matches "("', 16, "bad regular expression"),
        ("a == 1 b", 8, "unexpected 'b'"),
        ('x == "abc', 6, "unterminated string"),
        ("x in [y]", 7, "only literals"),
        ("exists(1)", 8, "expected a field name"),
        ("(a == 1", 8, "expected ')'"),
        ("resource == 1", 1, "needs an attribute name"),
    ],
)
def test_errors_point_into_the_expression(text, column, words):
    with pytest.raises(ExpressionError) as info:
        Expression(text)
    assert info.value.column == column
    assert words in str(info.value)
    assert str(info.value).splitlines()[-1].index("^") - 4 == column - 1


def test_paths_and_roots():
    e = Expression('resource.service.name == "api" and attributes["log.file"].x == 1 and body.resource == 2 and a.b')
    assert e.paths == (
        Path("resource", ("service.name",)),
        Path("attributes", ("log.file", "x")),
        Path("body", ("resource",)),
        Path("body", ("a", "b")),
    )
    assert parse_path('a["b.c"].d') == Path("body", ("a", "b.c", "d"))
    for text in ["a.b", 'a["b.c"].d', "resource.service.name", 'body["resource"]', 'body["x y"]']:
        assert str(parse_path(text)) == text
    assert Path("body", ("a",)).lookup({}) is MISSING


def test_bind_with_a_row_getter():
    e = Expression("a > 1 and b == 'x'")
    slots = {p: i for i, p in enumerate(e.paths)}
    pred = e.bind(lambda p: (lambda row, i=slots[p]: row[i]))
    assert pred([2, "x"]) and not pred([1, "x"])


def test_extra_roots_are_roots_only_for_the_caller_that_names_them():
    text = 'record.severity_text == "ERROR" and body.record == 1 and record["a.b"].c'
    e = Expression(text, roots=("record",))
    assert e.paths == (Path("record", ("severity_text",)), Path("body", ("record",)), Path("record", ("a.b", "c")))
    assert Expression(text).paths[0] == Path("body", ("record", "severity_text"))  # not named: a body path
    assert parse_path("record.trace_id", roots=("record",)) == Path("record", ("trace_id",))
    assert str(Path("record", ("severity_text",))) == "record.severity_text"
    with pytest.raises(ExpressionError, match="'record' needs a field name") as info:
        Expression("x == 1 or record", roots=("record",))
    assert info.value.column == 11


def test_path_columns_say_where_each_path_is_first_written():
    e = Expression('a == 1 and resource.service.name == "x" or a == 3 and exists(body["k"])')
    assert e.path_columns == {Path("body", ("a",)): 1, Path("resource", ("service.name",)): 12,
                              Path("body", ("k",)): 62}
    assert tuple(e.path_columns) == e.paths


def test_an_error_keeps_its_bare_message_beside_the_caret_display():
    with pytest.raises(ExpressionError) as info:
        Expression("status >= ")
    assert info.value.message == "expected a field or a value, found the end of the expression"
    assert str(info.value).startswith(info.value.message + " at column 11\n")
