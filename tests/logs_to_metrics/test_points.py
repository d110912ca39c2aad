"""Accumulators to points: the compiled builder (``_fastpath._points``) and its twin give equal points."""

import os

import pytest
from hypothesis import given, strategies as st

import _fastpath
from collector.connectors.logs_to_metrics import aggregate
from collector.connectors.logs_to_metrics.plan import COUNT, LAST, OVERFLOW_KEY, TOTAL

try:
    from _fastpath import _points
except ImportError:
    _points = None

def test_the_compiled_builder_is_in_use_where_it_was_built():
    if os.environ.get("FATHOM_REQUIRE_EXTENSIONS") or (_points is not None and not _fastpath.NO_EXTENSIONS):
        assert aggregate.build_number_points is _points.number_points
        assert aggregate.build_histogram_points is _points.histogram_points


compiled = pytest.mark.skipif(_points is None and not os.environ.get("FATHOM_REQUIRE_EXTENSIONS"),
                              reason="compiled point builder not built")

values = st.one_of(st.integers(-2**63, 2**63 - 1), st.floats(allow_nan=False))
# keys shorter and longer than the names too: both twins pair them as zip() does
keys = st.one_of(st.just(OVERFLOW_KEY), st.lists(st.one_of(st.none(), st.text(max_size=5)), max_size=3).map(tuple))


def accumulator(nb):
    return st.tuples(st.integers(0, 10**9), values, values, values, values, st.integers(0, 2**62),
                     st.integers(0, 2**62), *[st.integers(0, 10**6)] * nb).map(list)


def states(nb):
    return st.dictionaries(keys, st.tuples(accumulator(nb), st.integers(0, 2**62)).map(list), max_size=8)


@compiled
@given(state=states(0), value=st.sampled_from([COUNT, TOTAL, LAST]), start=st.booleans())
def test_number_points_equal_the_twins(state, value, start):
    names = ("a", "b")
    assert _points.number_points(state, names, value, start) == aggregate.number_points(state, names, value, start)


@compiled
@given(state=states(3))
def test_histogram_points_equal_the_twins(state):
    names, bounds = ("a", "b"), (1.0, 5.0)
    got = _points.histogram_points(state, names, bounds)
    assert got == aggregate.histogram_points(state, names, bounds)
    for point, (acc, _) in zip(got, state.values()):
        assert point.bucket_counts is not acc  # a point owns its counts: the series keeps counting
