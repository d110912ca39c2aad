# cython: language_level=3, boundscheck=True, wraparound=False
"""Series accumulators to metric points, compiled.

The twin of ``number_points`` and ``histogram_points`` in
``collector.connectors.logs_to_metrics.aggregate``, with the same results.
A flush makes a point and an attribute map per series (100,000 series: a
quarter of a CPU second in Python); here each point is allocated and its
slots set directly, without a call to the dataclass's ``__init__``. The
scanner's held series (``_scan.JsonScanner.emit``) use the same constructors.

The points and their lists are left to reference counting, untracked by the
cyclic collector: they hold numbers, strings and flat maps, so no cycle can
run through them, and the collector's first pass over 200,000 new objects
after a flush cost as much as building the maps.
"""

cdef extern from "Python.h":
    void PyObject_GC_UnTrack(void* op)

from collector.connectors.logs_to_metrics.plan import BUCKETS, COUNT, FIRST_NS, LAST_NS, MAX, MIN, OVERFLOW_KEY, TOTAL
from collector.pdata.metrics import HistogramPoint, NumberPoint

cdef object _new = object.__new__
cdef tuple _OVERFLOW = OVERFLOW_KEY
cdef Py_ssize_t _BUCKETS = BUCKETS, _COUNT = COUNT, _FIRST_NS = FIRST_NS, _LAST_NS = LAST_NS
cdef Py_ssize_t _MAX = MAX, _MIN = MIN, _TOTAL = TOTAL


cdef object number_point(dict attributes, object time_ns, object value, object start_time_ns):
    point = _new(NumberPoint)
    point.attributes = attributes
    point.time_ns = time_ns
    point.value = value
    point.start_time_ns = start_time_ns
    point.exemplars = _untracked([])
    point.flags = 0
    PyObject_GC_UnTrack(<void*>point)
    return point


cdef object histogram_point(dict attributes, object time_ns, object count, object total, tuple bounds,
                            list bucket_counts, object start_time_ns, object vmin, object vmax):
    point = _new(HistogramPoint)
    point.attributes = attributes
    point.time_ns = time_ns
    point.count = count
    point.sum = total
    point.bounds = bounds
    point.bucket_counts = _untracked(bucket_counts)
    point.start_time_ns = start_time_ns
    point.min = vmin
    point.max = vmax
    point.exemplars = _untracked([])
    point.flags = 0
    PyObject_GC_UnTrack(<void*>point)
    return point


cdef inline list _untracked(list items):
    PyObject_GC_UnTrack(<void*>items)
    return items


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
