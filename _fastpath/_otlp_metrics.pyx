# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Compiled twin of ``collector.pdata.otlp_metrics``: OTLP metrics wire format <-> the model.

A hand-written protobuf reader and writer for ``ExportMetricsServiceRequest``
that builds and reads the internal model (``collector.pdata.metrics``)
directly: no protobuf message is ever built, which was nine tenths of the
Python codec's cost. ``collector/pdata/otlp_metrics.py`` is the executable
spec; the two must agree on every input, bytes and errors alike.

Decoding follows protobuf's (upb's) parser where the spec's twin request
type leaves it to protobuf: unknown fields and fields of a wrong wire type
are skipped, groups included; a repeated scalar reads packed or not; a
message field seen twice merges; the last member of a oneof wins; varints
are at most ten bytes, tags at most five and 32 bits; strings are strict
UTF-8; nesting is limited to 100 levels, counted afresh from each number
point and each ``KeyValue``, which the spec parses as messages of their
own. A number point or a ``KeyValue`` inside a metric's data that a later
member of the ``data`` oneof replaced is never read, as in the spec.
Malformed bytes raise ``google.protobuf.message.DecodeError`` naming what
was wrong and its offset.

Encoding writes fields in field-number order, proto3 defaults left out
(doubles compared bit for bit, so -0.0 is written), as protobuf does; values
out of a field's range raise ``ValueError``, values of a wrong type
``TypeError``, as protobuf's setters do.

Model objects are built and read through their slots' offsets, found at
import from the dataclasses' fields (``_model.Shape``), without their generated
``__init__`` or attribute lookups. Attribute sets are memoized per request
in both directions, as the spec does: by their bytes when decoding (points
with the same set share its dict: maps are never edited in place, see
``collector.pdata.metrics``), by their keys and values when encoding.
"""

cimport cython
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from cpython.dict cimport PyDict_GetItem, PyDict_Next
from cpython.float cimport PyFloat_AS_DOUBLE, PyFloat_AsDouble
from cpython.long cimport PyLong_AsLongLong, PyLong_AsUnsignedLongLong
from cpython.mem cimport PyMem_Calloc, PyMem_Free, PyMem_Malloc, PyMem_Realloc
from cpython.object cimport PyObject, PyObject_Hash, PyTypeObject
from cpython.tuple cimport PyTuple_GET_ITEM, PyTuple_GET_SIZE, PyTuple_New, PyTuple_SET_ITEM
from cpython.ref cimport Py_INCREF, Py_XDECREF
from cpython.unicode cimport PyUnicode_DecodeUTF8
from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t, uint64_t
from libc.string cimport memcmp, memcpy, memmove

from _fastpath._model cimport Shape, untracked

import sys
from collections.abc import Mapping

from google.protobuf.message import DecodeError

from collector.pdata.metrics import (
    Buckets,
    Exemplar,
    ExponentialHistogramPoint,
    HistogramPoint,
    Metric,
    MetricType,
    NumberPoint,
    Resource,
    ResourceMetrics,
    Scope,
    ScopeMetrics,
    SummaryPoint,
    Temporality,
)

cdef extern from "Python.h":
    const char* PyUnicode_AsUTF8AndSize(object, Py_ssize_t*) except NULL
    object PyNumber_Index(object)
    int PyGC_Disable()
    int PyGC_Enable()
    int Py_EnterRecursiveCall(const char*) except -1
    void Py_LeaveRecursiveCall()

if sys.byteorder != "little":
    raise ImportError("the compiled OTLP metrics codec reads fixed-width fields as little-endian")

cdef enum:
    MAX_DEPTH = 100  # upb's default limit, and so the spec's, on nested messages and groups

cdef object _GAUGE = MetricType.GAUGE
cdef object _SUM = MetricType.SUM
cdef object _HISTOGRAM = MetricType.HISTOGRAM
cdef object _EXPONENTIAL = MetricType.EXPONENTIAL_HISTOGRAM
cdef object _SUMMARY = MetricType.SUMMARY
cdef tuple _TEMPORALITIES = (Temporality.UNSPECIFIED, Temporality.DELTA, Temporality.CUMULATIVE)
cdef object _MAPPING = Mapping
#: attribute value types a memoized set may hold: immutable, so points can share the set's dict.
cdef frozenset _IMMUTABLE = frozenset({str, int, bool, bytes, float, type(None)})


# --- model objects, built slot by slot (``_model``) -------------------------


cdef Shape _NUMBER_POINT = Shape(NumberPoint)
cdef Shape _HISTOGRAM_POINT = Shape(HistogramPoint)
cdef Shape _EXPONENTIAL_POINT = Shape(ExponentialHistogramPoint)
cdef Shape _SUMMARY_POINT = Shape(SummaryPoint)
cdef Shape _BUCKETS = Shape(Buckets)
cdef Shape _EXEMPLAR = Shape(Exemplar)
cdef Shape _METRIC = Shape(Metric)
cdef Shape _SCOPE = Shape(Scope)
cdef Shape _RESOURCE = Shape(Resource)
cdef Shape _SCOPE_METRICS = Shape(ScopeMetrics)
cdef Shape _RESOURCE_METRICS = Shape(ResourceMetrics)


# --- attribute memo ----------------------------------------------------------

cdef struct _Entry:
    uint64_t hash
    PyObject* key  # owned; NULL: a free slot
    PyObject* value  # owned

ctypedef bint (*_Same)(PyObject* key, const void* probe, Py_ssize_t size) except -1

cdef enum:
    MEMO_PROBES = 8  # a longer probe gives up: hashes an input chose cannot make a lookup slow


@cython.final
cdef class _Memo:
    """Attribute sets seen in one request, in an open-addressing table under the caller's 64-bit hash.

    The decoder looks sets up by their bytes in the request, the encoder by
    the dict itself, both compared in place: a hit builds no key object, as
    a Python dict would need. A lookup probes at most ``MEMO_PROBES`` slots
    and an insert that finds no free one among them is dropped: the memo
    only saves work, so colliding inputs cost a conversion, never a slowdown.
    """

    cdef _Entry* entries
    cdef size_t mask, used

    def __cinit__(self):
        self.entries = <_Entry*>PyMem_Calloc(64, sizeof(_Entry))
        if self.entries is NULL:
            raise MemoryError()
        self.mask = 63

    def __dealloc__(self):
        cdef size_t i
        if self.entries is not NULL:
            for i in range(self.mask + 1):
                Py_XDECREF(self.entries[i].key)
                Py_XDECREF(self.entries[i].value)
            PyMem_Free(self.entries)

    cdef PyObject* find(self, uint64_t hash, _Same same, const void* probe, Py_ssize_t size) except? NULL:
        """The value (borrowed) of the key ``same`` finds equal to ``probe``, or NULL."""
        cdef size_t i = hash & self.mask
        cdef int n
        cdef _Entry* e
        for n in range(MEMO_PROBES):
            e = &self.entries[(i + n) & self.mask]
            if e.key is NULL:
                return NULL
            if e.hash == hash and same(e.key, probe, size):
                return e.value
        return NULL

    cdef int add(self, uint64_t hash, object key, object value) except -1:
        cdef size_t i
        cdef int n
        cdef _Entry* e
        if (self.used + 1) * 2 > self.mask + 1:
            self.grow()
        i = hash & self.mask
        for n in range(MEMO_PROBES):
            e = &self.entries[(i + n) & self.mask]
            if e.key is NULL:
                Py_INCREF(key)
                Py_INCREF(value)
                e.hash, e.key, e.value = hash, <PyObject*>key, <PyObject*>value
                self.used += 1
                return 0
        return 0

    cdef int grow(self) except -1:
        cdef _Entry* old = self.entries
        cdef size_t size = self.mask + 1, i, j
        cdef int n
        cdef _Entry* entries = <_Entry*>PyMem_Calloc(size * 2, sizeof(_Entry))
        if entries is NULL:
            raise MemoryError()
        self.entries, self.mask, self.used = entries, size * 2 - 1, 0
        for i in range(size):
            if old[i].key is NULL:
                continue
            j = old[i].hash & self.mask
            for n in range(MEMO_PROBES):
                if entries[(j + n) & self.mask].key is NULL:
                    entries[(j + n) & self.mask] = old[i]
                    self.used += 1
                    break
            else:  # no room near its hash: let it go
                Py_XDECREF(old[i].key)
                Py_XDECREF(old[i].value)
        PyMem_Free(old)
        return 0


cdef inline uint64_t _mix(uint64_t h, uint64_t v) noexcept:
    h = (h ^ v) * 0x9E3779B97F4A7C15ULL
    return h ^ (h >> 29)


cdef uint64_t _hash_span(const uint8_t* p, Py_ssize_t n) noexcept:
    cdef uint64_t h = <uint64_t>n, word = 0
    while n >= 8:
        memcpy(&word, p, 8)
        h = _mix(h, word)
        p += 8
        n -= 8
    if n:
        word = 0
        memcpy(&word, p, n)
        h = _mix(h, word)
    return h


cdef bint _same_span(PyObject* key, const void* probe, Py_ssize_t size) except -1:
    return PyBytes_GET_SIZE(<object>key) == size and memcmp(PyBytes_AS_STRING(<object>key), probe, size) == 0


# --- wire-format reading -----------------------------------------------------

cdef int _fail(str what, Py_ssize_t offset) except -1:
    raise DecodeError(f"malformed OTLP metrics request: {what} at offset {offset}")


cdef inline Py_ssize_t _varint(const uint8_t* b, Py_ssize_t pos, Py_ssize_t end, uint64_t* out) except -1:
    """Reads a varint of at most ten bytes; bits past 64 are dropped, as upb does."""
    cdef uint64_t value = 0, byte
    cdef int shift = 0
    cdef Py_ssize_t start = pos
    while True:
        if pos >= end:
            _fail("truncated varint", start)
        byte = b[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            out[0] = value
            return pos
        shift += 7
        if shift == 70:
            _fail("varint longer than ten bytes", start)


cdef inline Py_ssize_t _tag(const uint8_t* b, Py_ssize_t pos, Py_ssize_t end, uint32_t* field, int* wire) except -1:
    cdef uint8_t tag = b[pos]
    if tag < 0x80 and tag >= 8 and (tag & 7) < 6:  # the common case: one byte, a field number, a wire type
        field[0] = tag >> 3
        wire[0] = tag & 7
        return pos + 1
    return _long_tag(b, pos, end, field, wire)


cdef Py_ssize_t _long_tag(const uint8_t* b, Py_ssize_t pos, Py_ssize_t end, uint32_t* field, int* wire) except -1:
    cdef uint64_t tag
    cdef Py_ssize_t start = pos
    pos = _varint(b, pos, end, &tag)
    if pos - start > 5 or tag > 0xFFFFFFFF:
        _fail("tag longer than 32 bits", start)
    field[0] = <uint32_t>(tag >> 3)
    wire[0] = <int>(tag & 7)
    if field[0] == 0:
        _fail("field number 0", start)
    if wire[0] > 5:
        _fail(f"wire type {wire[0]}", start)
    return pos


cdef Py_ssize_t _group_tag(const uint8_t* b, Py_ssize_t pos, Py_ssize_t end, uint32_t* field, int* wire) except -1:
    """``_tag`` inside a group being skipped, where upb lets field number 0 pass (as a message does not)."""
    cdef uint64_t tag
    cdef Py_ssize_t start = pos
    pos = _varint(b, pos, end, &tag)
    if pos - start > 5 or tag > 0xFFFFFFFF:
        _fail("tag longer than 32 bits", start)
    field[0] = <uint32_t>(tag >> 3)
    wire[0] = <int>(tag & 7)
    if wire[0] > 5:
        _fail(f"wire type {wire[0]}", start)
    return pos


cdef inline Py_ssize_t _length(const uint8_t* b, Py_ssize_t pos, Py_ssize_t end, Py_ssize_t* start) except -1:
    """Reads a length prefix; ``start`` gets where the bytes begin, the result where they end."""
    cdef uint64_t n
    if pos < end and b[pos] < 0x80 and b[pos] < end - pos:  # the common case: one byte, within bounds
        start[0] = pos + 1
        return pos + 1 + b[pos]
    pos = _varint(b, pos, end, &n)
    if n > <uint64_t>(end - pos):
        _fail(f"length {n} past the end of its message", pos)
    start[0] = pos
    return pos + <Py_ssize_t>n


cdef inline Py_ssize_t _fixed(Py_ssize_t pos, Py_ssize_t end, Py_ssize_t size) except -1:
    if end - pos < size:
        _fail(f"truncated {size * 8}-bit field", pos)
    return pos + size


cdef inline Py_ssize_t _packed64(const uint8_t* b, Py_ssize_t pos, Py_ssize_t end, Py_ssize_t* start) except -1:
    """``_length`` for a packed repeated fixed64 or double field."""
    pos = _length(b, pos, end, start)
    if (pos - start[0]) % 8:
        _fail(f"packed 64-bit field of {pos - start[0]} bytes", start[0])
    return pos


cdef inline uint64_t _u64(const uint8_t* p) noexcept:
    cdef uint64_t v
    memcpy(&v, p, 8)
    return v


cdef inline double _f64(const uint8_t* p) noexcept:
    cdef double v
    memcpy(&v, p, 8)
    return v


cdef Py_ssize_t _skip(const uint8_t* b, Py_ssize_t pos, Py_ssize_t end, uint32_t field, int wire, int depth) except -1:
    """Skips the value of an unknown field (or a known one of another wire type) at ``depth``."""
    cdef uint64_t ignored
    cdef Py_ssize_t start = pos, s
    cdef uint32_t inner
    cdef int inner_wire
    if wire == 0:
        return _varint(b, pos, end, &ignored)
    if wire == 1:
        return _fixed(pos, end, 8)
    if wire == 5:
        return _fixed(pos, end, 4)
    if wire == 2:
        return _length(b, pos, end, &s)
    if wire == 4:
        _fail("end-group tag outside a group", pos)
    if depth == 0:
        _fail(f"nesting deeper than {MAX_DEPTH}", pos)
    while pos < end:
        pos = _group_tag(b, pos, end, &inner, &inner_wire)
        if inner_wire == 4:
            if inner != field:
                _fail(f"group {field} ended by field {inner}", pos)
            return pos
        pos = _skip(b, pos, end, inner, inner_wire, depth - 1)
    _fail(f"group {field} not ended", start)


cdef inline str _text(const uint8_t* b, Py_ssize_t start, Py_ssize_t end):
    if start == end:
        return ""
    try:
        return PyUnicode_DecodeUTF8(<const char*>b + start, end - start, NULL)
    except UnicodeDecodeError:
        _fail("invalid UTF-8 in a string field", start)


cdef inline object _temporality(uint64_t value):
    # proto3 enums are open: an unknown number reads as "unspecified".
    cdef int32_t v = <int32_t><uint32_t>value
    return _TEMPORALITIES[v] if 0 <= v <= 2 else Temporality.UNSPECIFIED


cdef inline int32_t _zigzag32(uint64_t value) noexcept:
    cdef uint32_t v = <uint32_t>value
    return <int32_t>(v >> 1) ^ -<int32_t>(v & 1)


cdef inline bint _immutable_values(dict d):
    cdef Py_ssize_t i = 0
    cdef PyObject* k
    cdef PyObject* v
    while PyDict_Next(d, &i, &k, &v):
        if type(<object>v) not in _IMMUTABLE:
            return False
    return True


@cython.final
cdef class _Decoder:
    """One request's decoding; attribute sets memoized by their bytes for the request."""

    cdef bytes data
    cdef const uint8_t* b
    cdef _Memo memo  # attribute bytes -> their dict, each point given a copy
    cdef dict bounds  # packed explicit bounds -> their tuple, shared: immutable
    # The last start and end times read, shared: a batch's points mostly carry the same.
    cdef uint64_t start_raw, time_raw
    cdef object start_obj, time_obj

    def __init__(self, bytes data):
        self.data = data
        self.b = <const uint8_t*>PyBytes_AS_STRING(data)
        self.memo = _Memo()
        self.bounds = {}
        self.start_raw = self.time_raw = 0
        self.start_obj = self.time_obj = 0

    cdef inline object start(self, uint64_t raw):
        if raw != self.start_raw:
            self.start_raw, self.start_obj = raw, raw
        return self.start_obj

    cdef inline object time(self, uint64_t raw):
        if raw != self.time_raw:
            self.time_raw, self.time_obj = raw, raw
        return self.time_obj

    cdef tuple shared_bounds(self, Py_ssize_t start, Py_ssize_t end):
        """The explicit bounds packed at ``start:end``, one tuple per distinct bytes in the request."""
        cdef bytes key = PyBytes_FromStringAndSize(<const char*>self.b + start, end - start)
        cdef PyObject* hit = PyDict_GetItem(self.bounds, key)
        cdef list out
        if hit is not NULL:
            return <tuple>hit
        out = []
        while start < end:
            out.append(_f64(self.b + start))
            start += 8
        self.bounds[key] = result = untracked(tuple(out))  # floats only: its points can go untracked too
        return result

    # Attributes: a message records the run of its attribute fields; when
    # they all follow each other (as every encoder writes them), the run's
    # bytes key the memo, else the message is walked again for them.

    cdef dict attributes(self, Py_ssize_t run_start, Py_ssize_t run_end, bint contiguous,
                         Py_ssize_t start, Py_ssize_t end, uint32_t field):
        """The attributes of the message at ``start:end`` held in its fields ``field``."""
        cdef dict out
        cdef PyObject* hit
        cdef Py_ssize_t n = run_end - run_start
        cdef uint64_t hash
        if run_start < 0:
            return {}
        if not contiguous:
            out = {}
            self.keyvalues(out, start, end, field)
            return out
        hash = _hash_span(self.b + run_start, n)
        hit = self.memo.find(hash, _same_span, self.b + run_start, n)
        if hit is not NULL:
            return <object>hit
        out = {}
        self.keyvalues(out, run_start, run_end, field)
        if _immutable_values(out):
            self.memo.add(hash, PyBytes_FromStringAndSize(<const char*>self.b + run_start, n), out)
        return out

    cdef int keyvalues(self, dict out, Py_ssize_t pos, Py_ssize_t end, uint32_t field) except -1:
        """Adds the ``KeyValue`` messages in fields ``field`` of ``pos:end`` to ``out``."""
        cdef uint32_t f
        cdef int wire
        cdef Py_ssize_t s
        while pos < end:
            pos = _tag(self.b, pos, end, &f, &wire)
            if f == field and wire == 2:
                pos = _length(self.b, pos, end, &s)
                self.keyvalue(out, s, pos, MAX_DEPTH)  # each KeyValue is a message of its own in the spec
            else:
                pos = _skip(self.b, pos, end, f, wire, MAX_DEPTH)
        return 0

    cdef int keyvalue(self, dict out, Py_ssize_t pos, Py_ssize_t end, int depth) except -1:
        cdef uint32_t f
        cdef int wire, case = 0
        cdef Py_ssize_t s
        cdef uint64_t ignored
        cdef object key = "", value = None
        if depth < 0:
            _fail(f"nesting deeper than {MAX_DEPTH}", pos)
        while pos < end:
            pos = _tag(self.b, pos, end, &f, &wire)
            if f == 1 and wire == 2:
                pos = _length(self.b, pos, end, &s)
                key = _text(self.b, s, pos)
            elif f == 2 and wire == 2:
                pos = _length(self.b, pos, end, &s)
                value = self.anyvalue(s, pos, depth - 1, &case, value)
            elif f == 3 and wire == 0:  # key_strindex: the profiles signal's, not carried
                pos = _varint(self.b, pos, end, &ignored)
            else:
                pos = _skip(self.b, pos, end, f, wire, depth)
        out[key] = value
        return 0

    cdef object anyvalue(self, Py_ssize_t pos, Py_ssize_t end, int depth, int* case, object value):
        """An ``AnyValue`` merged into ``value`` of oneof member ``case`` (0: none yet)."""
        cdef uint32_t f
        cdef int wire
        cdef Py_ssize_t s
        cdef uint64_t v
        if depth < 0:
            _fail(f"nesting deeper than {MAX_DEPTH}", pos)
        while pos < end:
            pos = _tag(self.b, pos, end, &f, &wire)
            if wire == 2 and (f == 1 or f == 5 or f == 6 or f == 7):
                pos = _length(self.b, pos, end, &s)
                if f == 1:
                    value = _text(self.b, s, pos)
                elif f == 7:
                    value = PyBytes_FromStringAndSize(<const char*>self.b + s, pos - s)
                elif f == 5:
                    if case[0] != 5:
                        value = []
                    self.array(value, s, pos, depth - 1)
                else:
                    if case[0] != 6:
                        value = {}
                    self.kvlist(value, s, pos, depth - 1)
                case[0] = f
            elif wire == 0 and (f == 2 or f == 3 or f == 8):
                pos = _varint(self.b, pos, end, &v)
                if f == 2:
                    value = v != 0
                elif f == 3:
                    value = <int64_t>v
                else:  # string_value_strindex, an int32
                    value = <int32_t><uint32_t>v
                case[0] = f
            elif wire == 1 and f == 4:
                pos = _fixed(pos, end, 8)
                value = _f64(self.b + pos - 8)
                case[0] = f
            else:
                pos = _skip(self.b, pos, end, f, wire, depth)
        return value

    cdef int array(self, list out, Py_ssize_t pos, Py_ssize_t end, int depth) except -1:
        cdef uint32_t f
        cdef int wire, case
        cdef Py_ssize_t s
        if depth < 0:
            _fail(f"nesting deeper than {MAX_DEPTH}", pos)
        while pos < end:
            pos = _tag(self.b, pos, end, &f, &wire)
            if f == 1 and wire == 2:
                pos = _length(self.b, pos, end, &s)
                case = 0
                out.append(self.anyvalue(s, pos, depth - 1, &case, None))
            else:
                pos = _skip(self.b, pos, end, f, wire, depth)
        return 0

    cdef int kvlist(self, dict out, Py_ssize_t pos, Py_ssize_t end, int depth) except -1:
        cdef uint32_t f
        cdef int wire
        cdef Py_ssize_t s
        if depth < 0:
            _fail(f"nesting deeper than {MAX_DEPTH}", pos)
        while pos < end:
            pos = _tag(self.b, pos, end, &f, &wire)
            if f == 1 and wire == 2:
                pos = _length(self.b, pos, end, &s)
                self.keyvalue(out, s, pos, depth - 1)
            else:
                pos = _skip(self.b, pos, end, f, wire, depth)
        return 0

    # --- the request, top down ---

    cdef list request(self):
        cdef Py_ssize_t pos = 0, end = PyBytes_GET_SIZE(self.data), s
        cdef uint32_t f
        cdef int wire
        cdef list out = []
        while pos < end:
            pos = _tag(self.b, pos, end, &f, &wire)
            if f == 1 and wire == 2:
                pos = _length(self.b, pos, end, &s)
                out.append(self.resource_metrics(s, pos, MAX_DEPTH - 1))
            else:
                pos = _skip(self.b, pos, end, f, wire, MAX_DEPTH)
        return out

    cdef object resource_metrics(self, Py_ssize_t pos, Py_ssize_t end, int depth):
        cdef uint32_t f
        cdef int wire
        cdef Py_ssize_t s
        cdef list resources = []  # a message field seen twice merges: read every occurrence
        cdef list scopes = []
        cdef object schema_url = ""
        while pos < end:
            pos = _tag(self.b, pos, end, &f, &wire)
            if f == 1 and wire == 2:
                pos = _length(self.b, pos, end, &s)
                resources.append((s, pos))
            elif f == 2 and wire == 2:
                pos = _length(self.b, pos, end, &s)
                scopes.append(self.scope_metrics(s, pos, depth - 1))
            elif f == 3 and wire == 2:
                pos = _length(self.b, pos, end, &s)
                schema_url = _text(self.b, s, pos)
            else:
                pos = _skip(self.b, pos, end, f, wire, depth)
        return _RESOURCE_METRICS.make((self.resource(resources, depth - 1), untracked(scopes), schema_url))

    cdef object resource(self, list occurrences, int depth):
        cdef uint32_t f
        cdef int wire
        cdef Py_ssize_t pos, end, s
        cdef uint64_t dropped = 0
        cdef dict attributes = {}
        for pos, end in occurrences:
            self.keyvalues(attributes, pos, end, 1)
            while pos < end:
                pos = _tag(self.b, pos, end, &f, &wire)
                if f == 2 and wire == 0:
                    pos = _varint(self.b, pos, end, &dropped)
                elif f == 3 and wire == 2:  # entity_refs: not carried, but read as protobuf would
                    pos = _length(self.b, pos, end, &s)
                    self.strings_only(s, pos, depth - 1)
                else:
                    pos = _skip(self.b, pos, end, f, wire, depth)
        return _RESOURCE.make((attributes, <uint32_t>dropped))

    cdef int strings_only(self, Py_ssize_t pos, Py_ssize_t end, int depth) except -1:
        """Validates an ``EntityRef``: its fields 1-4 are strings."""
        cdef uint32_t f
        cdef int wire
        cdef Py_ssize_t s
        while pos < end:
            pos = _tag(self.b, pos, end, &f, &wire)
            if f <= 4 and wire == 2:
                pos = _length(self.b, pos, end, &s)
                _text(self.b, s, pos)
            else:
                pos = _skip(self.b, pos, end, f, wire, depth)
        return 0

    cdef object scope_metrics(self, Py_ssize_t pos, Py_ssize_t end, int depth):
        cdef uint32_t f
        cdef int wire
        cdef Py_ssize_t s
        cdef list scopes = []
        cdef list metrics = []
        cdef object schema_url = ""
        while pos < end:
            pos = _tag(self.b, pos, end, &f, &wire)
            if f == 1 and wire == 2:
                pos = _length(self.b, pos, end, &s)
                scopes.append((s, pos))
            elif f == 2 and wire == 2:
                pos = _length(self.b, pos, end, &s)
                metrics.append(self.metric(s, pos, depth - 1))
            elif f == 3 and wire == 2:
                pos = _length(self.b, pos, end, &s)
                schema_url = _text(self.b, s, pos)
            else:
                pos = _skip(self.b, pos, end, f, wire, depth)
        return _SCOPE_METRICS.make((self.scope(scopes, depth - 1), untracked(metrics), schema_url))

    cdef object scope(self, list occurrences, int depth):
        cdef uint32_t f
        cdef int wire
        cdef Py_ssize_t pos, end, s
        cdef uint64_t dropped = 0
        cdef object name = "", version = ""
        cdef dict attributes = {}
        for pos, end in occurrences:
            self.keyvalues(attributes, pos, end, 3)
            while pos < end:
                pos = _tag(self.b, pos, end, &f, &wire)
                if (f == 1 or f == 2) and wire == 2:
                    pos = _length(self.b, pos, end, &s)
                    if f == 1:
                        name = _text(self.b, s, pos)
                    else:
                        version = _text(self.b, s, pos)
                elif f == 4 and wire == 0:
                    pos = _varint(self.b, pos, end, &dropped)
                else:
                    pos = _skip(self.b, pos, end, f, wire, depth)
        return _SCOPE.make((name, version, attributes, <uint32_t>dropped))

    cdef object metric(self, Py_ssize_t pos, Py_ssize_t end, int depth):
        cdef uint32_t f, kind = 0
        cdef int wire
        cdef Py_ssize_t s, start = pos, run_start = -1, run_end = -1, tag_start
        cdef bint contiguous = True
        cdef object name = "", description = "", unit = ""
        cdef list data = []  # (field, start, end) of each member of the data oneof
        while pos < end:
            tag_start = pos
            pos = _tag(self.b, pos, end, &f, &wire)
            if wire == 2 and f <= 3:
                pos = _length(self.b, pos, end, &s)
                if f == 1:
                    name = _text(self.b, s, pos)
                elif f == 2:
                    description = _text(self.b, s, pos)
                else:
                    unit = _text(self.b, s, pos)
            elif wire == 2 and (f == 5 or f == 7 or f == 9 or f == 10 or f == 11):
                pos = _length(self.b, pos, end, &s)
                data.append((f, s, pos))
                kind = f
            elif f == 12 and wire == 2:
                pos = _length(self.b, pos, end, &s)
                if run_start < 0:
                    run_start = tag_start
                elif run_end != tag_start:
                    contiguous = False
                run_end = pos
            else:
                pos = _skip(self.b, pos, end, f, wire, depth)
        cdef dict metadata = self.attributes(run_start, run_end, contiguous, start, end, 12)
        return self.metric_data(name, description, unit, metadata, data, kind, depth - 1)

    cdef object metric_data(self, name, description, unit, dict metadata, list data, uint32_t kind, int depth):
        """The metric whose ``data`` oneof was written as ``data``: only its last member counts.

        Members a later one replaced are checked as the spec's twin request
        type checks them: their number points and ``KeyValue`` bytes unread.
        """
        cdef Py_ssize_t i, first = len(data)
        cdef list points = []
        cdef uint64_t temporality = 0, monotonic = 0
        while first > 0 and (<tuple>data[first - 1])[0] == kind:
            first -= 1
        for i in range(len(data)):
            f, s, e = data[i]
            self.metric_points(f, s, e, depth, points if i >= first else None, &temporality, &monotonic)
        metric_type = (_GAUGE if kind == 5 else _SUM if kind == 7 else _HISTOGRAM if kind == 9 else
                       _EXPONENTIAL if kind == 10 else _SUMMARY if kind == 11 else _GAUGE)
        temporality_ = _temporality(temporality) if kind == 7 or kind == 9 or kind == 10 else Temporality.UNSPECIFIED
        return _METRIC.make((name, metric_type, untracked(points), description, unit, temporality_,
                             kind == 7 and monotonic != 0, metadata))

    cdef int metric_points(self, uint32_t kind, Py_ssize_t pos, Py_ssize_t end, int depth, list points,
                           uint64_t* temporality, uint64_t* monotonic) except -1:
        """Reads a Gauge, Sum, Histogram, ExponentialHistogram or Summary into ``points``, or only checks it."""
        cdef uint32_t f
        cdef int wire
        cdef Py_ssize_t s
        cdef bint build = points is not None
        while pos < end:
            pos = _tag(self.b, pos, end, &f, &wire)
            if f == 1 and wire == 2:
                pos = _length(self.b, pos, end, &s)
                if kind == 5 or kind == 7:
                    if build:  # the spec reads a number point only when it keeps it
                        points.append(self.number_point(s, pos))
                elif kind == 9:
                    point = self.histogram_point(s, pos, depth - 1, build)
                    if build:
                        points.append(point)
                elif kind == 10:
                    point = self.exponential_point(s, pos, depth - 1, build)
                    if build:
                        points.append(point)
                else:
                    point = self.summary_point(s, pos, depth - 1, build)
                    if build:
                        points.append(point)
            elif f == 2 and wire == 0 and (kind == 7 or kind == 9 or kind == 10):
                pos = _varint(self.b, pos, end, temporality)
            elif f == 3 and wire == 0 and kind == 7:
                pos = _varint(self.b, pos, end, monotonic)
            else:
                pos = _skip(self.b, pos, end, f, wire, depth)
        return 0

    # --- points ---

    cdef object number_point(self, Py_ssize_t pos, Py_ssize_t end):
        """A ``NumberDataPoint``; the spec parses it as a message of its own (nesting counted afresh)."""
        cdef uint32_t f
        cdef int wire, case = 0
        cdef Py_ssize_t s, start = pos, run_start = -1, run_end = -1, tag_start
        cdef bint contiguous = True
        cdef uint64_t time = 0, start_time = 0, flags = 0, raw = 0
        cdef double value_double
        cdef list exemplars = None
        while pos < end:
            tag_start = pos
            pos = _tag(self.b, pos, end, &f, &wire)
            if wire == 1 and (2 <= f <= 4 or f == 6):
                pos = _fixed(pos, end, 8)
                if f == 2:
                    start_time = _u64(self.b + pos - 8)
                elif f == 3:
                    time = _u64(self.b + pos - 8)
                else:
                    raw = _u64(self.b + pos - 8)
                    case = f
            elif f == 7 and wire == 2:
                pos = _length(self.b, pos, end, &s)
                if run_start < 0:
                    run_start = tag_start
                elif run_end != tag_start:
                    contiguous = False
                run_end = pos
            elif f == 5 and wire == 2:
                pos = _length(self.b, pos, end, &s)
                if exemplars is None:
                    exemplars = []
                exemplars.append(self.exemplar(s, pos, MAX_DEPTH - 1, True))
            elif f == 8 and wire == 0:
                pos = _varint(self.b, pos, end, &flags)
            else:
                pos = _skip(self.b, pos, end, f, wire, MAX_DEPTH)
        cdef object value
        if case == 6:
            value = <int64_t>raw
        else:
            memcpy(&value_double, &raw, 8)
            value = value_double
        return _NUMBER_POINT.make((self.attributes(run_start, run_end, contiguous, start, end, 7), self.time(time),
                                   value, self.start(start_time), untracked([] if exemplars is None else exemplars),
                                   <uint32_t>flags))

    cdef object exemplar(self, Py_ssize_t pos, Py_ssize_t end, int depth, bint build):
        cdef uint32_t f
        cdef int wire, case = 0
        cdef Py_ssize_t s, start = pos, run_start = -1, run_end = -1, tag_start
        cdef bint contiguous = True
        cdef uint64_t time = 0, raw = 0
        cdef double value_double
        cdef object span_id = b"", trace_id = b"", value
        while pos < end:
            tag_start = pos
            pos = _tag(self.b, pos, end, &f, &wire)
            if wire == 1 and (f == 2 or f == 3 or f == 6):
                pos = _fixed(pos, end, 8)
                if f == 2:
                    time = _u64(self.b + pos - 8)
                else:
                    raw = _u64(self.b + pos - 8)
                    case = f
            elif wire == 2 and (f == 4 or f == 5):
                pos = _length(self.b, pos, end, &s)
                if f == 4:
                    span_id = PyBytes_FromStringAndSize(<const char*>self.b + s, pos - s)
                else:
                    trace_id = PyBytes_FromStringAndSize(<const char*>self.b + s, pos - s)
            elif f == 7 and wire == 2:
                pos = _length(self.b, pos, end, &s)
                if run_start < 0:
                    run_start = tag_start
                elif run_end != tag_start:
                    contiguous = False
                run_end = pos
            else:
                pos = _skip(self.b, pos, end, f, wire, depth)
        if not build:
            return None
        if case == 6:
            value = <int64_t>raw
        else:
            memcpy(&value_double, &raw, 8)
            value = value_double
        return _EXEMPLAR.make((self.time(time), value, self.attributes(run_start, run_end, contiguous, start, end, 7),
                               trace_id, span_id))

    cdef object histogram_point(self, Py_ssize_t pos, Py_ssize_t end, int depth, bint build):
        cdef uint32_t f
        cdef int wire
        cdef Py_ssize_t s, start = pos, run_start = -1, run_end = -1, tag_start
        cdef bint contiguous = True
        cdef uint64_t time = 0, start_time = 0, count = 0, flags = 0
        cdef Py_ssize_t bounds_start = -1, bounds_end = -1
        cdef object sum_ = None, min_ = None, max_ = None
        cdef list bounds = None, counts = [], exemplars = []
        while pos < end:
            tag_start = pos
            pos = _tag(self.b, pos, end, &f, &wire)
            if wire == 1 and (f <= 5 or f >= 11):
                pos = _fixed(pos, end, 8)
                if f == 2:
                    start_time = _u64(self.b + pos - 8)
                elif f == 3:
                    time = _u64(self.b + pos - 8)
                elif f == 4:
                    count = _u64(self.b + pos - 8)
                elif f == 5:
                    sum_ = _f64(self.b + pos - 8)
                elif f == 11:
                    min_ = _f64(self.b + pos - 8)
                elif f == 12:
                    max_ = _f64(self.b + pos - 8)
            elif f == 7 and wire == 2 and bounds is None and bounds_start < 0:
                pos = _packed64(self.b, pos, end, &bounds_start)  # read as a shared tuple at the end
                bounds_end = pos
            elif f == 7 and (wire == 1 or wire == 2):
                if bounds is None:
                    bounds = list(self.shared_bounds(bounds_start, bounds_end)) if bounds_start >= 0 else []
                pos = self.fixed64s(bounds, True, pos, end, wire)
            elif f == 6 and (wire == 1 or wire == 2):
                pos = self.fixed64s(counts, False, pos, end, wire)
            elif f == 8 and wire == 2:
                pos = _length(self.b, pos, end, &s)
                exemplars.append(self.exemplar(s, pos, depth - 1, build))
            elif f == 9 and wire == 2:
                pos = _length(self.b, pos, end, &s)
                if run_start < 0:
                    run_start = tag_start
                elif run_end != tag_start:
                    contiguous = False
                run_end = pos
            elif f == 10 and wire == 0:
                pos = _varint(self.b, pos, end, &flags)
            else:
                pos = _skip(self.b, pos, end, f, wire, depth)
        if not build:
            return None
        return _HISTOGRAM_POINT.make((
            self.attributes(run_start, run_end, contiguous, start, end, 9), self.time(time), count, sum_,
            untracked(tuple(bounds)) if bounds is not None else self.shared_bounds(bounds_start, bounds_end)
            if bounds_start >= 0 else (), untracked(counts), self.start(start_time), min_, max_, untracked(exemplars),
                                      <uint32_t>flags))

    cdef Py_ssize_t fixed64s(self, list out, bint doubles, Py_ssize_t pos, Py_ssize_t end, int wire) except -1:
        """One element (wire type 1) or a packed run (2) of a repeated fixed64 or double field."""
        cdef Py_ssize_t s, e
        if wire == 1:
            pos = _fixed(pos, end, 8)
            s = pos - 8
        else:
            pos = _packed64(self.b, pos, end, &s)
        while s < pos:
            out.append(_f64(self.b + s) if doubles else _u64(self.b + s))
            s += 8
        return pos

    cdef object exponential_point(self, Py_ssize_t pos, Py_ssize_t end, int depth, bint build):
        cdef uint32_t f
        cdef int wire
        cdef Py_ssize_t s, start = pos, run_start = -1, run_end = -1, tag_start
        cdef bint contiguous = True
        cdef uint64_t time = 0, start_time = 0, count = 0, zero_count = 0, flags = 0, scale = 0
        cdef uint64_t positive_offset = 0, negative_offset = 0
        cdef double zero_threshold = 0.0
        cdef object sum_ = None, min_ = None, max_ = None
        cdef list positive = [], negative = [], exemplars = []
        while pos < end:
            tag_start = pos
            pos = _tag(self.b, pos, end, &f, &wire)
            if wire == 1 and (2 <= f <= 5 or f == 7 or 12 <= f <= 14):
                pos = _fixed(pos, end, 8)
                if f == 2:
                    start_time = _u64(self.b + pos - 8)
                elif f == 3:
                    time = _u64(self.b + pos - 8)
                elif f == 4:
                    count = _u64(self.b + pos - 8)
                elif f == 5:
                    sum_ = _f64(self.b + pos - 8)
                elif f == 7:
                    zero_count = _u64(self.b + pos - 8)
                elif f == 12:
                    min_ = _f64(self.b + pos - 8)
                elif f == 13:
                    max_ = _f64(self.b + pos - 8)
                else:
                    zero_threshold = _f64(self.b + pos - 8)
            elif f == 1 and wire == 2:
                pos = _length(self.b, pos, end, &s)
                if run_start < 0:
                    run_start = tag_start
                elif run_end != tag_start:
                    contiguous = False
                run_end = pos
            elif (f == 6 or f == 10) and wire == 0:
                pos = _varint(self.b, pos, end, &scale if f == 6 else &flags)
            elif (f == 8 or f == 9) and wire == 2:
                pos = _length(self.b, pos, end, &s)
                self.buckets(s, pos, depth - 1, &positive_offset if f == 8 else &negative_offset,
                             positive if f == 8 else negative)
            elif f == 11 and wire == 2:
                pos = _length(self.b, pos, end, &s)
                exemplars.append(self.exemplar(s, pos, depth - 1, build))
            else:
                pos = _skip(self.b, pos, end, f, wire, depth)
        if not build:
            return None
        return _EXPONENTIAL_POINT.make((
            self.attributes(run_start, run_end, contiguous, start, end, 1), self.time(time), count, sum_,
            _zigzag32(scale), zero_count, _BUCKETS.make((_zigzag32(positive_offset), untracked(positive))),
            _BUCKETS.make((_zigzag32(negative_offset), untracked(negative))), self.start(start_time), min_, max_,
            zero_threshold, untracked(exemplars), <uint32_t>flags))

    cdef int buckets(self, Py_ssize_t pos, Py_ssize_t end, int depth, uint64_t* offset, list counts) except -1:
        """Merges a ``Buckets`` message into ``offset`` and ``counts``."""
        cdef uint32_t f
        cdef int wire
        cdef Py_ssize_t s
        cdef uint64_t v
        while pos < end:
            pos = _tag(self.b, pos, end, &f, &wire)
            if f == 1 and wire == 0:
                pos = _varint(self.b, pos, end, offset)
            elif f == 2 and wire == 0:
                pos = _varint(self.b, pos, end, &v)
                counts.append(v)
            elif f == 2 and wire == 2:
                pos = _length(self.b, pos, end, &s)
                while s < pos:
                    s = _varint(self.b, s, pos, &v)
                    counts.append(v)
            else:
                pos = _skip(self.b, pos, end, f, wire, depth)
        return 0

    cdef object summary_point(self, Py_ssize_t pos, Py_ssize_t end, int depth, bint build):
        cdef uint32_t f, qf
        cdef int wire, qwire
        cdef Py_ssize_t s, q, start = pos, run_start = -1, run_end = -1, tag_start
        cdef bint contiguous = True
        cdef uint64_t time = 0, start_time = 0, count = 0, flags = 0
        cdef double sum_ = 0.0, quantile, value
        cdef list quantiles = []
        while pos < end:
            tag_start = pos
            pos = _tag(self.b, pos, end, &f, &wire)
            if wire == 1 and 2 <= f <= 5:
                pos = _fixed(pos, end, 8)
                if f == 2:
                    start_time = _u64(self.b + pos - 8)
                elif f == 3:
                    time = _u64(self.b + pos - 8)
                elif f == 4:
                    count = _u64(self.b + pos - 8)
                else:
                    sum_ = _f64(self.b + pos - 8)
            elif f == 6 and wire == 2:
                pos = _length(self.b, pos, end, &s)
                quantile = value = 0.0
                while s < pos:
                    s = _tag(self.b, s, pos, &qf, &qwire)
                    if (qf == 1 or qf == 2) and qwire == 1:
                        s = _fixed(s, pos, 8)
                        if qf == 1:
                            quantile = _f64(self.b + s - 8)
                        else:
                            value = _f64(self.b + s - 8)
                    else:
                        s = _skip(self.b, s, pos, qf, qwire, depth - 1)
                quantiles.append(untracked((quantile, value)))
            elif f == 7 and wire == 2:
                pos = _length(self.b, pos, end, &s)
                if run_start < 0:
                    run_start = tag_start
                elif run_end != tag_start:
                    contiguous = False
                run_end = pos
            elif f == 8 and wire == 0:
                pos = _varint(self.b, pos, end, &flags)
            else:
                pos = _skip(self.b, pos, end, f, wire, depth)
        if not build:
            return None
        return _SUMMARY_POINT.make((self.attributes(run_start, run_end, contiguous, start, end, 7), self.time(time),
                                    count, sum_, untracked(quantiles), self.start(start_time), <uint32_t>flags))


def decode_request(data) -> list:
    """Serialized ``ExportMetricsServiceRequest`` to the internal model.

    Raises ``google.protobuf.message.DecodeError`` on malformed bytes.
    """
    decoder = _Decoder(data if type(data) is bytes else bytes(data))
    # Thousands of new objects, none garbage: collections during the decode
    # would only traverse them again and again (a quarter of its time).
    cdef bint collecting = PyGC_Disable()
    try:
        return decoder.request()
    finally:
        if collecting:
            PyGC_Enable()


def count_items(tuple levels, data) -> int:
    """The items of a serialized Export*ServiceRequest, as ``receivers.otlp.wirecount`` counts them.

    ``levels``: per message level from the request down, the numbers of the
    length-delimited fields to descend into; the last level's are the items,
    whose insides are not read. Everything else is checked and skipped as
    upb parses wirecount's skeleton types: same count, same ``DecodeError``s.
    """
    cdef bytes raw = data if type(data) is bytes else bytes(data)
    cdef Py_ssize_t n = len(levels)
    if n == 0 or n > 8:
        raise ValueError("between 1 and 8 levels")
    cdef uint64_t masks[8]
    for i, numbers in enumerate(levels):
        masks[i] = 0
        for number in numbers:
            if not 0 < number < 64:
                raise ValueError(f"field number {number} outside 1-63")
            masks[i] |= <uint64_t>1 << <int>number
    return _count(<const uint8_t*>PyBytes_AS_STRING(raw), 0, PyBytes_GET_SIZE(raw), masks, 0, n, MAX_DEPTH)


cdef Py_ssize_t _count(const uint8_t* b, Py_ssize_t pos, Py_ssize_t end, uint64_t* masks, Py_ssize_t level,
                       Py_ssize_t last, int depth) except -1:
    cdef uint32_t f
    cdef int wire
    cdef Py_ssize_t s, n = 0
    while pos < end:
        pos = _tag(b, pos, end, &f, &wire)
        if wire == 2 and f < 64 and masks[level] >> f & 1:
            pos = _length(b, pos, end, &s)
            n += 1 if level == last - 1 else _count(b, s, pos, masks, level + 1, last, depth - 1)
        else:
            pos = _skip(b, pos, end, f, wire, depth)
    return n


# --- wire-format writing -----------------------------------------------------

cdef int _check_int(object value) except -1:
    """Refuses what protobuf's integer fields refuse even though ``__index__`` would take it."""
    if isinstance(value, (bool, float)):
        raise TypeError(f"expected an int, got {type(value).__name__} {value!r}")
    return 0


cdef int _uint(object value, int bits, uint64_t* out) except -1:
    """``value`` as an unsigned field of ``bits`` bits, checked as protobuf's setters check it."""
    cdef uint64_t v
    if type(value) is not int:
        _check_int(value)
        value = PyNumber_Index(value)
    try:
        v = PyLong_AsUnsignedLongLong(value)
    except OverflowError:
        raise ValueError(f"Value out of range: {value}") from None
    if bits < 64 and v >> bits:
        raise ValueError(f"Value out of range: {value}")
    out[0] = v
    return 0


cdef int _int(object value, int bits, int64_t* out) except -1:
    """``value`` as a signed field of ``bits`` bits, checked as protobuf's setters check it."""
    cdef int64_t v
    if type(value) is not int:
        _check_int(value)
        value = PyNumber_Index(value)
    try:
        v = PyLong_AsLongLong(value)
    except OverflowError:
        raise ValueError(f"Value out of range: {value}") from None
    if bits < 64 and not (-(<int64_t>1 << (bits - 1)) <= v < (<int64_t>1 << (bits - 1))):
        raise ValueError(f"Value out of range: {value}")
    out[0] = v
    return 0


cdef inline uint64_t _bits(object value) except? 0:
    """A double field's value, as the bits written (and compared with zero: -0.0 is not a default)."""
    cdef double d = PyFloat_AS_DOUBLE(value) if type(value) is float else PyFloat_AsDouble(value)
    cdef uint64_t out
    memcpy(&out, &d, 8)
    return out


cdef int64_t _temporality_value(object temporality) except? -1:
    cdef int64_t out
    for out in range(3):  # the members by identity: an enum's value and hash are Python code
        if temporality is _TEMPORALITIES[out]:
            return out
    _int(temporality.value, 32, &out)
    return out


cdef inline bint _is_int(object value):
    # bool is an int subclass but not an OTLP integer: it goes out as a double.
    return isinstance(value, int) and not isinstance(value, bool)


cdef inline uint64_t _zigzag(int64_t v) noexcept:
    return (<uint64_t>v << 1) ^ <uint64_t>(v >> 63)


@cython.final
cdef class _Encoder:
    """One batch's encoding into a growing buffer; attribute sets memoized by value for the batch.

    A message is written after a one-byte length placeholder that ``close``
    widens when the message turned out longer than 127 bytes. A field the
    spec sets through a message's constructor (``nullable``) is left out when
    its value is None, as protobuf does; one it assigns refuses None.
    """

    cdef uint8_t* buf
    cdef Py_ssize_t size, capacity
    cdef _Memo memo  # an attribute set's keys and values (``_memo_key``) -> its fields' bytes
    # The last start and end times written and their values: a batch's points mostly share them.
    cdef object start_obj, time_obj
    cdef uint64_t start_raw, time_raw

    def __cinit__(self):
        self.capacity = 1 << 16
        self.buf = <uint8_t*>PyMem_Malloc(self.capacity)
        if self.buf is NULL:
            raise MemoryError()
        self.size = 0
        self.memo = _Memo()
        self.start_obj = self.time_obj = 0
        self.start_raw = self.time_raw = 0

    def __dealloc__(self):
        PyMem_Free(self.buf)

    cdef int reserve(self, Py_ssize_t n) except -1:
        cdef Py_ssize_t capacity = self.capacity
        cdef uint8_t* buf
        if self.size + n <= capacity:
            return 0
        while self.size + n > capacity:
            capacity *= 2
        buf = <uint8_t*>PyMem_Realloc(self.buf, capacity)
        if buf is NULL:
            raise MemoryError()
        self.buf, self.capacity = buf, capacity
        return 0

    cdef inline int byte(self, uint8_t v) except -1:
        if self.size == self.capacity:
            self.reserve(1)
        self.buf[self.size] = v
        self.size += 1
        return 0

    cdef inline int varint(self, uint64_t v) except -1:
        self.reserve(10)
        while v >= 0x80:
            self.buf[self.size] = <uint8_t>(v | 0x80)
            self.size += 1
            v >>= 7
        self.buf[self.size] = <uint8_t>v
        self.size += 1
        return 0

    cdef inline int fixed(self, uint8_t tag, uint64_t v) except -1:
        self.reserve(9)
        self.buf[self.size] = tag
        memcpy(self.buf + self.size + 1, &v, 8)
        self.size += 9
        return 0

    cdef inline int raw(self, const char* data, Py_ssize_t n) except -1:
        self.reserve(n)
        memcpy(self.buf + self.size, data, n)
        self.size += n
        return 0

    cdef inline Py_ssize_t open(self, uint8_t tag) except -1:
        """Starts field ``tag``'s message; returns its length byte's position for ``close``."""
        self.reserve(2)
        self.buf[self.size] = tag
        self.size += 2
        return self.size - 1

    cdef int close(self, Py_ssize_t mark) except -1:
        cdef uint64_t n = self.size - mark - 1
        cdef int width = 1
        if n < 0x80:
            self.buf[mark] = <uint8_t>n
            return 0
        while n >> (7 * width):
            width += 1
        self.reserve(width - 1)
        memmove(self.buf + mark + width, self.buf + mark + 1, n)
        self.size += width - 1
        while n >= 0x80:
            self.buf[mark] = <uint8_t>(n | 0x80)
            mark += 1
            n >>= 7
        self.buf[mark] = <uint8_t>n
        return 0

    cdef int close_packed(self, Py_ssize_t mark) except -1:
        """``close`` for a packed repeated field, which is left out when empty."""
        if self.size == mark + 1:
            self.size = mark - 1
            return 0
        return self.close(mark)

    cdef int text(self, uint8_t tag, object value, bint always, bint nullable=False) except -1:
        cdef Py_ssize_t n
        cdef const char* data
        if value is None and nullable:
            return 0
        if not isinstance(value, str):
            raise TypeError(f"{value!r} has type {type(value).__name__}, but expected a str")
        data = PyUnicode_AsUTF8AndSize(value, &n)
        if n or always:
            self.byte(tag)
            self.varint(<uint64_t>n)
            self.raw(data, n)
        return 0

    cdef int binary(self, uint8_t tag, object value, bint always) except -1:
        """A bytes field; ``always`` for a oneof member, else nullable (protobuf refuses a bytearray)."""
        if value is None and not always:
            return 0
        if not isinstance(value, bytes):
            raise TypeError(f"expected bytes, {type(value).__name__} found")
        cdef Py_ssize_t n = PyBytes_GET_SIZE(value)
        if n or always:
            self.byte(tag)
            self.varint(<uint64_t>n)
            self.raw(PyBytes_AS_STRING(value), n)
        return 0

    cdef inline int uint_field(self, uint8_t tag, object value, int bits, bint nullable) except -1:
        cdef uint64_t v
        if value is None and nullable:
            return 0
        _uint(value, bits, &v)
        if v:
            self.byte(tag)
            self.varint(v)
        return 0

    cdef inline int fixed_field(self, uint8_t tag, object value) except -1:
        """A fixed64 field, nullable."""
        cdef uint64_t v
        if value is None:
            return 0
        _uint(value, 64, &v)
        if v:
            self.fixed(tag, v)
        return 0

    cdef inline int double_field(self, uint8_t tag, object value, bint always) except -1:
        """A double field, nullable."""
        if value is None:
            return 0
        cdef uint64_t bits = _bits(value)
        if bits or always:
            self.fixed(tag, bits)
        return 0

    # --- attributes ---

    cdef int attributes(self, object attributes, uint8_t tag) except -1:
        """``attributes`` as repeated ``KeyValue`` field ``tag``; a set of str, int, bool, bytes values once a batch."""
        cdef dict d
        cdef PyObject* hit
        cdef PyObject* k
        cdef PyObject* v
        cdef Py_ssize_t i = 0, start
        cdef uint64_t hash = 0
        cdef bint memoizable
        if type(attributes) is not dict:
            for name, value in attributes.items():
                self.keyvalue(tag, name, value)
            return 0
        d = <dict>attributes
        if not d:
            return 0
        memoizable = _hash_attributes(d, tag, &hash)
        if memoizable:
            hit = self.memo.find(hash, _same_attributes, <PyObject*>d, tag)
            if hit is not NULL:
                return self.raw(PyBytes_AS_STRING(<object>hit), PyBytes_GET_SIZE(<object>hit))
        start = self.size
        while PyDict_Next(d, &i, &k, &v):
            name, value = <object>k, <object>v  # owned: a value's __str__ or __index__ may change the dict
            self.keyvalue(tag, name, value)
        if memoizable:
            self.memo.add(hash, _memo_key(d, tag),
                          PyBytes_FromStringAndSize(<const char*>self.buf + start, self.size - start))
        return 0

    cdef int keyvalue(self, uint8_t tag, object key, object value) except -1:
        cdef Py_ssize_t mark = self.open(tag)
        self.text(0x0A, key, False)
        if value is not None:  # an absent value is OTLP's null
            self.anyvalue(0x12, value)
        return self.close(mark)

    cdef int anyvalue(self, uint8_t tag, object value) except -1:
        """``value`` as ``AnyValue`` field ``tag``, mapped as ``collector.pdata.anyvalue.to_anyvalue`` does.

        Nesting counts against Python's recursion limit, as the spec's
        recursion does: a list that holds itself is a ``RecursionError``.
        """
        Py_EnterRecursiveCall(" while encoding an attribute value")
        try:
            return self.anyvalue_body(tag, value)
        finally:
            Py_LeaveRecursiveCall()

    cdef int anyvalue_body(self, uint8_t tag, object value) except -1:
        cdef Py_ssize_t mark = self.open(tag), inner
        cdef int64_t i
        cdef type t = type(value)
        if t is str:
            self.text(0x0A, value, True)
        elif isinstance(value, bool):
            self.byte(0x10)
            self.byte(1 if value else 0)
        elif isinstance(value, int):
            _int(value, 64, &i)
            self.byte(0x18)
            self.varint(<uint64_t>i)
        elif isinstance(value, float):
            self.fixed(0x21, _bits(value))
        elif isinstance(value, str):
            self.text(0x0A, value, True)
        elif isinstance(value, (bytes, bytearray)):
            self.binary(0x3A, value if isinstance(value, bytes) else bytes(value), True)
        elif isinstance(value, _MAPPING):
            inner = self.open(0x32)  # an empty map is still a map, not null
            for k, v in value.items():
                self.keyvalue(0x0A, str(k), v)
            self.close(inner)
        elif isinstance(value, (list, tuple)):
            inner = self.open(0x2A)
            for v in value:
                self.anyvalue(0x0A, v)
            self.close(inner)
        elif value is not None:  # None: an empty AnyValue
            self.text(0x0A, str(value), True)
        return self.close(mark)

    # --- the request, top down ---

    cdef int request(self, object resource_metrics) except -1:
        cdef Py_ssize_t mark, inner
        for rm in resource_metrics:
            resource, scope_metrics, schema_url = _RESOURCE_METRICS.fields(rm)
            attributes, dropped = _RESOURCE.fields(resource)
            mark = self.open(0x0A)
            inner = self.open(0x0A)
            self.attributes(attributes, 0x0A)
            self.uint_field(0x10, dropped, 32, False)
            self.close(inner)
            for sm in scope_metrics:
                self.scope_metrics(sm)
            self.text(0x1A, schema_url, False, True)
            self.close(mark)
        return 0

    cdef int scope_metrics(self, object sm) except -1:
        cdef Py_ssize_t mark = self.open(0x12), inner
        scope, metrics, schema_url = _SCOPE_METRICS.fields(sm)
        name, version, attributes, dropped = _SCOPE.fields(scope)
        inner = self.open(0x0A)
        self.text(0x0A, name, False)
        self.text(0x12, version, False)
        self.attributes(attributes, 0x1A)
        self.uint_field(0x20, dropped, 32, False)
        self.close(inner)
        for metric in metrics:
            self.metric(metric)
        self.text(0x1A, schema_url, False, True)
        return self.close(mark)

    cdef int metric(self, object metric) except -1:
        cdef Py_ssize_t mark = self.open(0x12), inner
        cdef int64_t temporality_value = 0
        name, kind, points, description, unit, temporality, monotonic, metadata = _METRIC.fields(metric)
        self.text(0x0A, name, False, True)
        self.text(0x12, description, False, True)
        self.text(0x1A, unit, False, True)
        if kind is _SUM or kind is _HISTOGRAM or kind is _EXPONENTIAL:
            temporality_value = _temporality_value(temporality)
        inner = self.open(0x2A if kind is _GAUGE else 0x3A if kind is _SUM else 0x4A if kind is _HISTOGRAM else
                          0x52 if kind is _EXPONENTIAL else 0x5A)
        for p in points:
            if kind is _GAUGE or kind is _SUM:
                self.number_point(p)
            elif kind is _HISTOGRAM:
                self.histogram_point(p)
            elif kind is _EXPONENTIAL:
                self.exponential_point(p)
            else:
                self.summary_point(p)
        if temporality_value:
            self.byte(0x10)
            self.varint(<uint64_t>temporality_value)
        if kind is _SUM and PyNumber_Index(monotonic):  # a bool field takes what an int does
            self.byte(0x18)
            self.byte(1)
        self.close(inner)
        self.attributes(metadata, 0x62)
        return self.close(mark)

    # --- points ---

    cdef int times(self, object start_time_ns, object time_ns) except -1:
        """Fields 2 and 3 of every point, fixed64, nullable; the last values' conversions reused."""
        if start_time_ns is None:
            start_time_ns = 0
        if time_ns is None:
            time_ns = 0
        if start_time_ns is not self.start_obj:
            _uint(start_time_ns, 64, &self.start_raw)
            self.start_obj = start_time_ns
        if time_ns is not self.time_obj:
            _uint(time_ns, 64, &self.time_raw)
            self.time_obj = time_ns
        if self.start_raw:
            self.fixed(0x11, self.start_raw)
        if self.time_raw:
            self.fixed(0x19, self.time_raw)
        return 0

    cdef int number_point(self, object p) except -1:
        cdef Py_ssize_t mark = self.open(0x0A)
        cdef int64_t i
        attributes, time_ns, value, start_time_ns, exemplars, flags = _NUMBER_POINT.fields(p)
        self.times(start_time_ns, time_ns)
        cdef bint is_int = _is_int(value)
        if not is_int and value is not None:  # None: no value, as the spec writes it
            self.fixed(0x21, _bits(value))
        if exemplars:
            self.exemplars(0x2A, exemplars)
        if is_int:
            _int(value, 64, &i)
            self.fixed(0x31, <uint64_t>i)
        self.attributes(attributes, 0x3A)
        self.uint_field(0x40, flags, 32, True)
        return self.close(mark)

    cdef int exemplars(self, uint8_t tag, object exemplars) except -1:
        cdef Py_ssize_t mark
        cdef int64_t i
        cdef bint is_int
        for e in exemplars:
            time_ns, value, attributes, trace_id, span_id = _EXEMPLAR.fields(e)
            mark = self.open(tag)
            self.fixed_field(0x11, time_ns)
            is_int = _is_int(value)
            if not is_int:
                self.fixed(0x19, _bits(value))
            self.binary(0x22, span_id, False)
            self.binary(0x2A, trace_id, False)
            if is_int:
                _int(value, 64, &i)
                self.fixed(0x31, <uint64_t>i)
            self.attributes(attributes, 0x3A)
            self.close(mark)
        return 0

    cdef int histogram_point(self, object p) except -1:
        cdef Py_ssize_t mark = self.open(0x0A), inner
        cdef uint64_t v
        (attributes, time_ns, count, sum_, bounds, bucket_counts, start_time_ns, min_, max_, exemplars,
         flags) = _HISTOGRAM_POINT.fields(p)
        self.times(start_time_ns, time_ns)
        self.fixed_field(0x21, count)
        if sum_ is not None:
            self.double_field(0x29, sum_, True)
        inner = self.open(0x32)
        for c in bucket_counts or ():
            _uint(c, 64, &v)
            self.reserve(8)
            memcpy(self.buf + self.size, &v, 8)
            self.size += 8
        self.close_packed(inner)
        inner = self.open(0x3A)
        for bound in bounds or ():
            v = _bits(bound)
            self.reserve(8)
            memcpy(self.buf + self.size, &v, 8)
            self.size += 8
        self.close_packed(inner)
        if exemplars:
            self.exemplars(0x42, exemplars)
        self.attributes(attributes, 0x4A)
        self.uint_field(0x50, flags, 32, True)
        if min_ is not None:
            self.double_field(0x59, min_, True)
        if max_ is not None:
            self.double_field(0x61, max_, True)
        return self.close(mark)

    cdef int exponential_point(self, object p) except -1:
        cdef Py_ssize_t mark = self.open(0x0A)
        cdef int64_t scale_value
        (attributes, time_ns, count, sum_, scale, zero_count, positive, negative, start_time_ns, min_, max_,
         zero_threshold, exemplars, flags) = _EXPONENTIAL_POINT.fields(p)
        self.attributes(attributes, 0x0A)
        self.times(start_time_ns, time_ns)
        self.fixed_field(0x21, count)
        if sum_ is not None:
            self.double_field(0x29, sum_, True)
        if scale is not None:
            _int(scale, 32, &scale_value)
        if scale is not None and scale_value:
            self.byte(0x30)
            self.varint(_zigzag(scale_value))
        self.fixed_field(0x39, zero_count)
        self.buckets(0x42, positive)
        self.buckets(0x4A, negative)
        self.uint_field(0x50, flags, 32, True)
        if exemplars:
            self.exemplars(0x5A, exemplars)
        if min_ is not None:
            self.double_field(0x61, min_, True)
        if max_ is not None:
            self.double_field(0x69, max_, True)
        self.double_field(0x71, zero_threshold, False)
        return self.close(mark)

    cdef int buckets(self, uint8_t tag, object buckets) except -1:
        cdef Py_ssize_t mark = self.open(tag), inner
        cdef int64_t offset_value
        cdef uint64_t v
        offset, counts = _BUCKETS.fields(buckets)
        _int(offset, 32, &offset_value)
        if offset_value:
            self.byte(0x08)
            self.varint(_zigzag(offset_value))
        inner = self.open(0x12)
        for c in counts:
            _uint(c, 64, &v)
            self.varint(v)
        self.close_packed(inner)
        return self.close(mark)

    cdef int summary_point(self, object p) except -1:
        cdef Py_ssize_t mark = self.open(0x0A), inner
        attributes, time_ns, count, sum_, quantiles, start_time_ns, flags = _SUMMARY_POINT.fields(p)
        self.times(start_time_ns, time_ns)
        self.fixed_field(0x21, count)
        self.double_field(0x29, sum_, False)
        for quantile, value in quantiles:
            inner = self.open(0x32)
            self.double_field(0x09, quantile, False)
            self.double_field(0x11, value, False)
            self.close(inner)
        self.attributes(attributes, 0x3A)
        self.uint_field(0x40, flags, 32, True)
        return self.close(mark)

    cdef bytes result(self):
        return PyBytes_FromStringAndSize(<const char*>self.buf, self.size)


# The encoder's memo tells an attribute set of str, int, bool and bytes values by its keys and values, in
# order: equal sets write equal bytes. A bool stands as a marker of its own, since ``True == 1``; str and
# bytes never compare equal, and floats are left out (``0.0 == -0.0``).
cdef object _TRUE = object()
cdef object _FALSE = object()


cdef bint _hash_attributes(dict d, uint8_t tag, uint64_t* out) except -1:
    """Whether ``d`` may be memoized (str keys; str, int, bool or bytes values) and if so its hash, in ``out``."""
    cdef uint64_t h = tag
    cdef Py_ssize_t i = 0
    cdef PyObject* k
    cdef PyObject* v
    cdef object t
    while PyDict_Next(d, &i, &k, &v):
        t = type(<object>v)
        if type(<object>k) is not str:
            return False
        h = _mix(h, <uint64_t>PyObject_Hash(<object>k))
        if t is bool:
            h = _mix(h, 0xB0 + (<object>v is True))
        elif t is str or t is int or t is bytes:
            h = _mix(h, <uint64_t>PyObject_Hash(<object>v))
        else:
            return False
    out[0] = h
    return True


cdef tuple _memo_key(dict d, uint8_t tag):
    """A memoizable set as stored: keys, then values (bools as markers), then the field's tag."""
    cdef Py_ssize_t n = len(d), i = 0, j = 0
    cdef PyObject* k
    cdef PyObject* v
    cdef object value
    cdef tuple key = PyTuple_New(2 * n + 1)
    while PyDict_Next(d, &i, &k, &v):
        value = <object>v
        if type(value) is bool:
            value = _TRUE if value is True else _FALSE
        Py_INCREF(<object>k)
        PyTuple_SET_ITEM(key, j, <object>k)
        Py_INCREF(value)
        PyTuple_SET_ITEM(key, n + j, value)
        j += 1
    value = tag
    Py_INCREF(value)
    PyTuple_SET_ITEM(key, 2 * n, value)
    return key


cdef bint _same_attributes(PyObject* key, const void* probe, Py_ssize_t tag) except -1:
    """Whether the stored ``key`` (``_memo_key``) is the memoizable dict ``probe`` for field ``tag``."""
    cdef tuple stored = <tuple>key
    cdef dict d = <dict>probe
    cdef Py_ssize_t n = len(d), i = 0, j = 0
    cdef PyObject* k
    cdef PyObject* v
    cdef object value, other
    if PyTuple_GET_SIZE(stored) != 2 * n + 1 or <object>PyTuple_GET_ITEM(stored, 2 * n) != tag:
        return False
    while PyDict_Next(d, &i, &k, &v):
        if not (<object>k == <object>PyTuple_GET_ITEM(stored, j)):  # str, int and bytes: no user code runs
            return False
        value, other = <object>v, <object>PyTuple_GET_ITEM(stored, n + j)
        if type(value) is bool:
            if other is not (_TRUE if value is True else _FALSE):
                return False
        elif type(value) is not type(other) or not (value == other):
            return False
        j += 1
    return True


def encode_resource_metrics(resource_metrics) -> bytes:
    """The model as a serialized ``ExportMetricsServiceRequest``."""
    cdef _Encoder encoder = _Encoder()
    encoder.request(resource_metrics)
    return encoder.result()
