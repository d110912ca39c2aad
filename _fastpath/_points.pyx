# cython: language_level=3, boundscheck=True, wraparound=False
"""Series accumulators to metric points, compiled.

The twin of ``number_points`` and ``histogram_points`` in
``collector.connectors.logs_to_metrics.aggregate``, with the same results.
A flush makes a point and an attribute map per series (100,000 series: a
quarter of a CPU second in Python); here each point is allocated and its
slots set directly, without a call to the dataclass's ``__init__``.
"""

from collector.connectors.logs_to_metrics.plan import BUCKETS, COUNT, FIRST_NS, LAST_NS, MAX, MIN, OVERFLOW_KEY, TOTAL
from collector.pdata.metrics import HistogramPoint, NumberPoint

cdef object _new = object.__new__
cdef tuple _OVERFLOW = OVERFLOW_KEY
cdef Py_ssize_t _BUCKETS = BUCKETS, _COUNT = COUNT, _FIRST_NS = FIRST_NS, _LAST_NS = LAST_NS
cdef Py_ssize_t _MAX = MAX, _MIN = MIN, _TOTAL = TOTAL


cdef dict _attributes(tuple names, tuple key):
    cdef dict out = {}
    cdef Py_ssize_t i
    if key == _OVERFLOW:
        out["otel.metric.overflow"] = "true"
        return out
    for i in range(min(len(names), len(key))):  # as zip() pairs them
        value = key[i]
        if value is not None:
            out[names[i]] = value
    return out


def number_points(dict state, tuple names, Py_ssize_t value, bint start):
    """A point per series: accumulator slot ``value``, and the series' first record time when ``start``."""
    cdef list out = []
    cdef list acc
    for key, entry in state.items():
        acc = entry[0]
        point = _new(NumberPoint)
        point.attributes = _attributes(names, <tuple>key)
        point.time_ns = acc[_LAST_NS]
        point.value = acc[value]
        point.start_time_ns = acc[_FIRST_NS] if start else 0
        point.exemplars = []
        point.flags = 0
        out.append(point)
    return out


def histogram_points(dict state, tuple names, tuple bounds):
    cdef list out = []
    cdef list acc
    for key, entry in state.items():
        acc = entry[0]
        point = _new(HistogramPoint)
        point.attributes = _attributes(names, <tuple>key)
        point.time_ns = acc[_LAST_NS]
        point.count = acc[_COUNT]
        point.sum = acc[_TOTAL]
        point.bounds = bounds
        point.bucket_counts = acc[_BUCKETS:]
        point.start_time_ns = acc[_FIRST_NS]
        point.min = acc[_MIN]
        point.max = acc[_MAX]
        point.exemplars = []
        point.flags = 0
        out.append(point)
    return out
