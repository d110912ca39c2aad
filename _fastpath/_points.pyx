# cython: language_level=3, boundscheck=True, wraparound=False
"""Series accumulators to metric points, compiled.

The twin of ``number_points`` and ``histogram_points`` in
``collector.connectors.logs_to_metrics.aggregate``, with the same results.
A flush makes a point and an attribute map per series (100,000 series: a
quarter of a CPU second in Python); here each point is made slot by slot
(``_model.Shape``), left to reference counting like the maps and lists it
holds. The scanner's held series (``_scan.JsonScanner.emit``) use the same
constructors.
"""

from _fastpath._model cimport Shape, untracked

from collector.connectors.logs_to_metrics.plan import BUCKETS, COUNT, FIRST_NS, LAST_NS, MAX, MIN, OVERFLOW_KEY, TOTAL
from collector.pdata.metrics import HistogramPoint, NumberPoint

cdef Shape _NUMBER_POINT = Shape(NumberPoint)
cdef Shape _HISTOGRAM_POINT = Shape(HistogramPoint)
cdef tuple _OVERFLOW = OVERFLOW_KEY
cdef Py_ssize_t _BUCKETS = BUCKETS, _COUNT = COUNT, _FIRST_NS = FIRST_NS, _LAST_NS = LAST_NS
cdef Py_ssize_t _MAX = MAX, _MIN = MIN, _TOTAL = TOTAL


cdef object number_point(dict attributes, object time_ns, object value, object start_time_ns):
    return _NUMBER_POINT.make((attributes, time_ns, value, start_time_ns, untracked([]), 0))


cdef object histogram_point(dict attributes, object time_ns, object count, object total, tuple bounds,
                            list bucket_counts, object start_time_ns, object vmin, object vmax):
    return _HISTOGRAM_POINT.make((attributes, time_ns, count, total, bounds, untracked(bucket_counts),
                                  start_time_ns, vmin, vmax, untracked([]), 0))


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
        out.append(number_point(_attributes(names, <tuple>key), acc[_LAST_NS], acc[value],
                                acc[_FIRST_NS] if start else 0))
    return out


def histogram_points(dict state, tuple names, tuple bounds):
    cdef list out = []
    cdef list acc
    for key, entry in state.items():
        acc = entry[0]
        out.append(histogram_point(_attributes(names, <tuple>key), acc[_LAST_NS], acc[_COUNT], acc[_TOTAL], bounds,
                                   acc[_BUCKETS:], acc[_FIRST_NS], acc[_MIN], acc[_MAX]))
    return out
