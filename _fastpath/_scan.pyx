# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Compiled twin of ``collector.connectors.logs_to_metrics.scan_py.Scanner`` (JSON lines).

One hot function over a whole buffer, in blocks of lines:

1. without the GIL: validate each line as strict JSON (as orjson does:
   UTF-8, surrogate pairs, depth 1024, no infinite numbers) and record,
   for each field slot the rules name, the span and type of its value,
   walking a trie of field paths, so no object is built per line;
2. with the GIL: evaluate `where` (memoised per distinct raw values, the
   condition itself is the Python closure), read values and dimensions
   from the spans, and update per-series accumulators held in C arrays.

Semantics (orders of checks, reasons, canonical dimension text) are the
twin's; anything rare (a dimension or condition on ``resource.*`` or
``attributes.*``, RFC 3339 timestamps, float dimensions) calls the twin's
own helpers so there is one definition.
"""

from libc.stdlib cimport malloc, realloc, free, strtod
from libc.string cimport memcmp, memcpy, memset
from libc.math cimport isinf, INFINITY
from libc.stdint cimport int64_t, uint64_t, int32_t
from cpython.bytes cimport PyBytes_FromStringAndSize
from cpython.unicode cimport PyUnicode_DecodeUTF8

from collector.connectors.logs_to_metrics import scan_py
from collector.connectors.logs_to_metrics.plan import COMPOUND, TS_RFC3339, TS_EPOCH_S, TS_EPOCH_MS
from collector.expr import MISSING

DEF BLOCK = 2048
DEF MAX_DEPTH = 1024

cdef enum Tag:
    T_MISSING = 0
    T_STR = 1
    T_STRESC = 2
    T_INT = 3
    T_FLOAT = 4
    T_TRUE = 5
    T_FALSE = 6
    T_NULL = 7
    T_OBJECT = 8
    T_ARRAY = 9

cdef enum LineStatus:
    L_OK = 0
    L_SKIP = 1
    L_TOO_LONG = 2
    L_INVALID_UTF8 = 3
    L_INVALID_JSON = 4
    L_NOT_OBJECT = 5

_LINE_REASONS = {L_TOO_LONG: "too_long", L_INVALID_UTF8: "invalid_utf8",
                 L_INVALID_JSON: "invalid_json", L_NOT_OBJECT: "not_object"}

cdef struct Span:
    int tag
    Py_ssize_t start
    Py_ssize_t end

cdef struct Trie:
    int* first      # node -> first child entry
    int* count      # node -> number of children
    int* slot       # node -> slot or -1
    int* sub_lo     # node -> range in sub_slots of every slot in its subtree
    int* sub_hi
    int* sub_slots
    int* child_node
    Py_ssize_t* key_off
    Py_ssize_t* key_len
    const char* keys

cdef struct Ctx:
    const char* buf
    Py_ssize_t end
    Span* spans
    Trie trie
    char* scratch


cdef inline bint is_ws(char c) noexcept nogil:
    return c == 32 or c == 9 or c == 10 or c == 13


cdef inline Py_ssize_t skip_ws(const char* b, Py_ssize_t p, Py_ssize_t end) noexcept nogil:
    while p < end and is_ws(b[p]):
        p += 1
    return p


cdef bint valid_utf8(const unsigned char* s, Py_ssize_t n) noexcept nogil:
    """Strict UTF-8 as Python decodes it: no overlongs, no surrogates, nothing past U+10FFFF."""
    cdef Py_ssize_t i = 0
    cdef unsigned char c, c1
    while i < n:
        c = s[i]
        if c < 0x80:
            i += 1
            continue
        if c >= 0xC2 and c <= 0xDF:
            if i + 1 >= n or (s[i + 1] & 0xC0) != 0x80:
                return False
            i += 2
        elif c >= 0xE0 and c <= 0xEF:
            if i + 2 >= n:
                return False
            c1 = s[i + 1]
            if (c1 & 0xC0) != 0x80 or (s[i + 2] & 0xC0) != 0x80:
                return False
            if (c == 0xE0 and c1 < 0xA0) or (c == 0xED and c1 >= 0xA0):
                return False
            i += 3
        elif c >= 0xF0 and c <= 0xF4:
            if i + 3 >= n:
                return False
            c1 = s[i + 1]
            if (c1 & 0xC0) != 0x80 or (s[i + 2] & 0xC0) != 0x80 or (s[i + 3] & 0xC0) != 0x80:
                return False
            if (c == 0xF0 and c1 < 0x90) or (c == 0xF4 and c1 >= 0x90):
                return False
            i += 4
        else:
            return False
    return True


cdef inline int hexval(char c) noexcept nogil:
    if c >= 48 and c <= 57:
        return c - 48
    if c >= 97 and c <= 102:
        return c - 87
    if c >= 65 and c <= 70:
        return c - 55
    return -1


cdef int read_u4(const char* b, Py_ssize_t p, Py_ssize_t end) noexcept nogil:
    cdef int v = 0, h, k
    if p + 4 > end:
        return -1
    for k in range(4):
        h = hexval(b[p + k])
        if h < 0:
            return -1
        v = v * 16 + h
    return v


cdef Py_ssize_t scan_string(const char* b, Py_ssize_t p, Py_ssize_t end, bint* escaped) noexcept nogil:
    """``p`` is just past the opening quote; returns the index of the closing quote or -1."""
    cdef unsigned char c
    cdef int u, lo
    escaped[0] = False
    while p < end:
        c = <unsigned char>b[p]
        if c == 34:
            return p
        if c < 0x20:
            return -1
        if c == 92:
            escaped[0] = True
            if p + 1 >= end:
                return -1
            c = <unsigned char>b[p + 1]
            if c == 117:  # \uXXXX, surrogates in pairs only
                u = read_u4(b, p + 2, end)
                if u < 0:
                    return -1
                p += 6
                if u >= 0xDC00 and u <= 0xDFFF:
                    return -1
                if u >= 0xD800 and u <= 0xDBFF:
                    if p + 1 >= end or b[p] != 92 or b[p + 1] != 117:
                        return -1
                    lo = read_u4(b, p + 2, end)
                    if lo < 0xDC00 or lo > 0xDFFF:
                        return -1
                    p += 6
                continue
            if c == 34 or c == 92 or c == 47 or c == 98 or c == 102 or c == 110 or c == 114 or c == 116:
                p += 2
                continue
            return -1
        p += 1
    return -1


cdef Py_ssize_t unescape(const char* b, Py_ssize_t p, Py_ssize_t end, char* out) noexcept nogil:
    """Decode a validated string body into UTF-8; returns the length written."""
    cdef Py_ssize_t n = 0
    cdef char c
    cdef unsigned int u
    while p < end:
        c = b[p]
        if c != 92:
            out[n] = c
            n += 1
            p += 1
            continue
        c = b[p + 1]
        if c == 117:
            u = <unsigned int>read_u4(b, p + 2, end)
            p += 6
            if u >= 0xD800 and u <= 0xDBFF:
                u = 0x10000 + ((u - 0xD800) << 10) + (<unsigned int>read_u4(b, p + 2, end) - 0xDC00)
                p += 6
            if u < 0x80:
                out[n] = <char>u
                n += 1
            elif u < 0x800:
                out[n] = <char>(0xC0 | (u >> 6))
                out[n + 1] = <char>(0x80 | (u & 0x3F))
                n += 2
            elif u < 0x10000:
                out[n] = <char>(0xE0 | (u >> 12))
                out[n + 1] = <char>(0x80 | ((u >> 6) & 0x3F))
                out[n + 2] = <char>(0x80 | (u & 0x3F))
                n += 3
            else:
                out[n] = <char>(0xF0 | (u >> 18))
                out[n + 1] = <char>(0x80 | ((u >> 12) & 0x3F))
                out[n + 2] = <char>(0x80 | ((u >> 6) & 0x3F))
                out[n + 3] = <char>(0x80 | (u & 0x3F))
                n += 4
            continue
        if c == 98:
            out[n] = 8
        elif c == 102:
            out[n] = 12
        elif c == 110:
            out[n] = 10
        elif c == 114:
            out[n] = 13
        elif c == 116:
            out[n] = 9
        else:
            out[n] = c
        n += 1
        p += 2
    return n


cdef bint fits_64(const char* b, Py_ssize_t start, Py_ssize_t end) noexcept nogil:
    """Whether integer text fits int64 (negative) or uint64 (positive), as orjson keeps it an int."""
    cdef bint neg = b[start] == 45
    cdef const char* limit = b"9223372036854775808" if neg else b"18446744073709551615"
    cdef Py_ssize_t digits = end - start - neg
    cdef Py_ssize_t nlimit = 19 if neg else 20
    if digits != nlimit:
        return digits < nlimit
    return memcmp(b + start + neg, limit, nlimit) <= 0


cdef double span_double(const char* b, Py_ssize_t start, Py_ssize_t end, char* scratch) noexcept nogil:
    memcpy(scratch, b + start, end - start)
    scratch[end - start] = 0
    return strtod(scratch, NULL)


cdef Py_ssize_t scan_number(Ctx* c, Py_ssize_t p, int* tag) noexcept nogil:
    cdef const char* b = c.buf
    cdef Py_ssize_t end = c.end, start = p, int_digits = 0
    cdef bint is_float = False
    if p < end and b[p] == 45:
        p += 1
    if p >= end or b[p] < 48 or b[p] > 57:
        return -1
    if b[p] == 48:
        p += 1
        int_digits = 1
        if p < end and b[p] >= 48 and b[p] <= 57:
            return -1
    else:
        while p < end and b[p] >= 48 and b[p] <= 57:
            p += 1
            int_digits += 1
    if p < end and b[p] == 46:
        is_float = True
        p += 1
        if p >= end or b[p] < 48 or b[p] > 57:
            return -1
        while p < end and b[p] >= 48 and b[p] <= 57:
            p += 1
    if p < end and (b[p] == 101 or b[p] == 69):
        is_float = True
        p += 1
        if p < end and (b[p] == 43 or b[p] == 45):
            p += 1
        if p >= end or b[p] < 48 or b[p] > 57:
            return -1
        while p < end and b[p] >= 48 and b[p] <= 57:
            p += 1
    if not is_float and not fits_64(b, start, p):
        is_float = True
    if is_float and (int_digits > 300 or p - start > 300 or any_exponent(b, start, p)):
        if isinf(span_double(b, start, p, c.scratch)):
            return -1  # orjson refuses numbers that are infinite as doubles
    tag[0] = T_FLOAT if is_float else T_INT
    return p


cdef inline bint any_exponent(const char* b, Py_ssize_t start, Py_ssize_t end) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(start, end):
        if b[i] == 101 or b[i] == 69:
            return True
    return False


cdef int find_child(Ctx* c, int node, const char* key, Py_ssize_t n) noexcept nogil:
    cdef int i, e
    cdef Trie* t = &c.trie
    for i in range(t.count[node]):
        e = t.first[node] + i
        if t.key_len[e] == n and memcmp(t.keys + t.key_off[e], key, n) == 0:
            return t.child_node[e]
    return -1


cdef Py_ssize_t parse_value(Ctx* c, Py_ssize_t p, int node, int depth, int* tag) noexcept nogil:
    """Validate one JSON value at ``p``, filling slots under trie ``node`` (-1: none); returns its end or -1."""
    cdef const char* b = c.buf
    cdef Py_ssize_t end = c.end, q, vstart
    cdef bint escaped
    cdef int child, vtag, i
    cdef const char* key
    cdef Py_ssize_t klen
    p = skip_ws(b, p, end)
    if p >= end:
        return -1
    cdef char ch = b[p]
    if ch == 34:
        q = scan_string(b, p + 1, end, &escaped)
        if q < 0:
            return -1
        tag[0] = T_STRESC if escaped else T_STR
        return q + 1
    if ch == 123 or ch == 91:
        if depth >= MAX_DEPTH:
            return -1
        tag[0] = T_OBJECT if ch == 123 else T_ARRAY
        p = skip_ws(b, p + 1, end)
        if p < end and b[p] == (125 if ch == 123 else 93):
            return p + 1
        while True:
            child = -1
            if ch == 123:
                if p >= end or b[p] != 34:
                    return -1
                q = scan_string(b, p + 1, end, &escaped)
                if q < 0:
                    return -1
                if node >= 0 and c.trie.count[node]:
                    if escaped:
                        klen = unescape(b, p + 1, q, c.scratch)
                        key = c.scratch
                    else:
                        klen = q - p - 1
                        key = b + p + 1
                    child = find_child(c, node, key, klen)
                    if child >= 0:  # a repeated key replaces the earlier value, nested slots too
                        for i in range(c.trie.sub_lo[child], c.trie.sub_hi[child]):
                            c.spans[c.trie.sub_slots[i]].tag = T_MISSING
                p = skip_ws(b, q + 1, end)
                if p >= end or b[p] != 58:
                    return -1
                p += 1
            vstart = skip_ws(b, p, end)
            p = parse_value(c, vstart, child, depth + 1, &vtag)
            if p < 0:
                return -1
            if child >= 0 and c.trie.slot[child] >= 0:
                c.spans[c.trie.slot[child]].tag = vtag
                c.spans[c.trie.slot[child]].start = vstart
                c.spans[c.trie.slot[child]].end = p
            p = skip_ws(b, p, end)
            if p >= end:
                return -1
            if b[p] == 44:
                p = skip_ws(b, p + 1, end)
                continue
            if b[p] == (125 if ch == 123 else 93):
                return p + 1
            return -1
    if ch == 116:
        if p + 4 <= end and memcmp(b + p, b"true", 4) == 0:
            tag[0] = T_TRUE
            return p + 4
        return -1
    if ch == 102:
        if p + 5 <= end and memcmp(b + p, b"false", 5) == 0:
            tag[0] = T_FALSE
            return p + 5
        return -1
    if ch == 110:
        if p + 4 <= end and memcmp(b + p, b"null", 4) == 0:
            tag[0] = T_NULL
            return p + 4
        return -1
    return scan_number(c, p, tag)


cdef int scan_line(Ctx* c, Py_ssize_t start, Py_ssize_t end, Py_ssize_t max_len, int nslots) noexcept nogil:
    cdef Py_ssize_t p = skip_ws(c.buf, start, end)
    cdef int tag, i
    if p >= end:
        return L_SKIP
    if end - start > max_len:
        return L_TOO_LONG
    if not valid_utf8(<const unsigned char*>c.buf + start, end - start):
        return L_INVALID_UTF8
    for i in range(nslots):
        c.spans[i].tag = T_MISSING
    c.end = end
    p = parse_value(c, p, 0, 0, &tag)
    if p < 0 or skip_ws(c.buf, p, end) != end:
        return L_INVALID_JSON
    if tag != T_OBJECT:
        return L_NOT_OBJECT
    if c.trie.slot[0] >= 0:  # the path `body` itself
        c.spans[c.trie.slot[0]].tag = T_OBJECT
    return L_OK


cdef struct RuleC:
    int kind
    int value_slot
    bint has_where
    int ndims
    int* dim_slots
    char* dim_skip
    int nbounds
    double* bounds


cdef class _Series:
    """One rule's accumulators for the interval: key bytes -> index into C arrays."""

    cdef dict index
    cdef list keys
    cdef Py_ssize_t n, cap, nb
    cdef int64_t* count
    cdef double* total
    cdef double* last
    cdef double* vmin
    cdef double* vmax
    cdef int64_t* first_ns
    cdef int64_t* last_ns
    cdef int64_t* buckets

    def __cinit__(self, Py_ssize_t nb):
        self.index = {}
        self.keys = []
        self.nb = nb
        self.n = 0
        self.cap = 0

    def __dealloc__(self):
        free(self.count); free(self.total); free(self.last); free(self.vmin); free(self.vmax)
        free(self.first_ns); free(self.last_ns); free(self.buckets)

    cdef Py_ssize_t add(self, bytes key, int64_t ts) except -1:
        cdef Py_ssize_t i = self.n
        if i == self.cap:
            self.cap = self.cap * 2 if self.cap else 64
            self.count = <int64_t*>_grow(self.count, self.cap * sizeof(int64_t))
            self.total = <double*>_grow(self.total, self.cap * sizeof(double))
            self.last = <double*>_grow(self.last, self.cap * sizeof(double))
            self.vmin = <double*>_grow(self.vmin, self.cap * sizeof(double))
            self.vmax = <double*>_grow(self.vmax, self.cap * sizeof(double))
            self.first_ns = <int64_t*>_grow(self.first_ns, self.cap * sizeof(int64_t))
            self.last_ns = <int64_t*>_grow(self.last_ns, self.cap * sizeof(int64_t))
            if self.nb:
                self.buckets = <int64_t*>_grow(self.buckets, self.cap * self.nb * sizeof(int64_t))
        self.count[i] = 0
        self.total[i] = 0.0
        self.vmin[i] = INFINITY
        self.vmax[i] = -INFINITY
        self.first_ns[i] = ts
        if self.nb:
            memset(self.buckets + i * self.nb, 0, self.nb * sizeof(int64_t))
        self.index[key] = i
        self.keys.append(_decode_key(key))
        self.n += 1
        return i

    def to_dict(self):
        out = {}
        cdef Py_ssize_t i, j
        for i in range(self.n):
            acc = [self.count[i], self.total[i], self.last[i], self.vmin[i], self.vmax[i],
                   self.first_ns[i], self.last_ns[i]]
            for j in range(self.nb):
                acc.append(self.buckets[i * self.nb + j])
            out[self.keys[i]] = acc
        return out


cdef void* _grow(void* p, size_t n) except NULL:
    cdef void* q = realloc(p, n)
    if q == NULL:
        raise MemoryError()
    return q


cdef tuple _decode_key(bytes key):
    """Key bytes (per dimension: a flag byte, then a 4-byte length and UTF-8 text) to a tuple."""
    cdef const unsigned char* k = key
    cdef Py_ssize_t p = 0, n = len(key), ln
    out = []
    while p < n:
        if k[p] == 0:
            out.append(None)
            p += 1
            continue
        ln = k[p + 1] | (k[p + 2] << 8) | (k[p + 3] << 16) | (<Py_ssize_t>k[p + 4] << 24)
        out.append(PyUnicode_DecodeUTF8(<const char*>k + p + 5, ln, NULL))
        p += 5 + ln
    return tuple(out)


cdef class JsonScanner:
    """Same interface and results as ``scan_py.Scanner`` for JSON lines."""

    cdef public object plan
    cdef public dict bad
    cdef list rules, series, memos
    cdef char* body           # slot -> is a body slot
    cdef RuleC* crules
    cdef int nrules, ts_slot, ts_format
    cdef object _trie_keep
    cdef Trie trie
    cdef int nslots
    cdef Py_ssize_t max_len
    cdef Span* spans          # BLOCK lines x nslots
    cdef int* status          # BLOCK
    cdef Py_ssize_t* starts   # BLOCK
    cdef Py_ssize_t* ends     # BLOCK
    cdef char* scratch
    cdef char* key
    cdef Py_ssize_t key_cap

    def __init__(self, plan):
        cdef RuleC* r
        cdef int j
        self.plan = plan
        self.bad = {}
        self.rules = list(plan.rules)
        self.nslots = max(len(plan.slots), 1)
        self.max_len = plan.max_line_bytes
        self.body = <char*>_grow(NULL, self.nslots)
        for i, p in enumerate(plan.slots):
            self.body[i] = p.root == "body"
        self.ts_slot = plan.ts_slot
        self.ts_format = plan.ts_format
        self.nrules = len(self.rules)
        self.crules = <RuleC*>_grow(NULL, max(self.nrules, 1) * sizeof(RuleC))
        memset(self.crules, 0, max(self.nrules, 1) * sizeof(RuleC))
        for i, rule in enumerate(self.rules):
            r = &self.crules[i]
            r.kind = rule.kind
            r.value_slot = rule.value_slot
            r.has_where = rule.where is not None
            r.ndims = len(rule.dim_slots)
            r.dim_slots = <int*>_grow(NULL, max(r.ndims, 1) * sizeof(int))
            r.dim_skip = <char*>_grow(NULL, max(r.ndims, 1))
            for j in range(r.ndims):
                r.dim_slots[j] = rule.dim_slots[j]
                r.dim_skip[j] = rule.dim_skip[j]
            r.nbounds = len(rule.bounds)
            r.bounds = <double*>_grow(NULL, max(r.nbounds, 1) * sizeof(double))
            for j in range(r.nbounds):
                r.bounds[j] = rule.bounds[j]
        self.series = self._new_series()
        self._build_trie(plan.body_slots)
        self.spans = <Span*>_grow(NULL, BLOCK * self.nslots * sizeof(Span))
        self.status = <int*>_grow(NULL, BLOCK * sizeof(int))
        self.starts = <Py_ssize_t*>_grow(NULL, BLOCK * sizeof(Py_ssize_t))
        self.ends = <Py_ssize_t*>_grow(NULL, BLOCK * sizeof(Py_ssize_t))
        self.scratch = <char*>_grow(NULL, self.max_len + 64)
        self.key_cap = 256
        self.key = <char*>_grow(NULL, self.key_cap)

    def __dealloc__(self):
        cdef int i
        if self.crules != NULL:
            for i in range(self.nrules):
                free(self.crules[i].dim_slots); free(self.crules[i].dim_skip); free(self.crules[i].bounds)
        free(self.crules); free(self.body)
        free(self.spans); free(self.status); free(self.starts); free(self.ends); free(self.scratch); free(self.key)
        free(self.trie.first); free(self.trie.count); free(self.trie.slot); free(self.trie.sub_lo)
        free(self.trie.sub_hi); free(self.trie.sub_slots); free(self.trie.child_node)
        free(self.trie.key_off); free(self.trie.key_len)

    def _new_series(self):
        return [_Series(len(r.bounds) + 1 if r.bounds else 0) for r in self.rules]

    def _build_trie(self, body_slots):
        # nodes: [children dict, slot]; node 0 is the record itself
        nodes = [[{}, -1]]
        for slot, keys in body_slots:
            n = 0
            for k in keys:
                kb = k.encode("utf-8", "surrogatepass")
                if kb not in nodes[n][0]:
                    nodes[n][0][kb] = len(nodes)
                    nodes.append([{}, -1])
                n = nodes[n][0][kb]
            nodes[n][1] = slot
        subtree = []
        for i in range(len(nodes)):
            subtree.append(self._subtree_slots(nodes, i))
        nn = len(nodes)
        ne = max(sum(len(nd[0]) for nd in nodes), 1)
        ns = max(sum(len(s) for s in subtree), 1)
        t = &self.trie
        t.first = <int*>_grow(NULL, nn * sizeof(int))
        t.count = <int*>_grow(NULL, nn * sizeof(int))
        t.slot = <int*>_grow(NULL, nn * sizeof(int))
        t.sub_lo = <int*>_grow(NULL, nn * sizeof(int))
        t.sub_hi = <int*>_grow(NULL, nn * sizeof(int))
        t.sub_slots = <int*>_grow(NULL, ns * sizeof(int))
        t.child_node = <int*>_grow(NULL, ne * sizeof(int))
        t.key_off = <Py_ssize_t*>_grow(NULL, ne * sizeof(Py_ssize_t))
        t.key_len = <Py_ssize_t*>_grow(NULL, ne * sizeof(Py_ssize_t))
        blob = bytearray()
        e = s = 0
        for i, (children, slot) in enumerate(nodes):
            t.first[i] = e
            t.count[i] = len(children)
            t.slot[i] = slot
            for kb, child in children.items():
                t.key_off[e] = len(blob)
                t.key_len[e] = len(kb)
                t.child_node[e] = child
                blob += kb
                e += 1
            t.sub_lo[i] = s
            for sl in subtree[i]:
                t.sub_slots[s] = sl
                s += 1
            t.sub_hi[i] = s
        self._trie_keep = bytes(blob) + b"\0"
        t.keys = self._trie_keep

    def _subtree_slots(self, nodes, i):
        out = [nodes[i][1]] if nodes[i][1] >= 0 else []
        for child in nodes[i][0].values():
            out.extend(self._subtree_slots(nodes, child))
        return out

    def scan(self, data, ends, consts, long long now_ns):
        """Apply the rules to every line of ``data``; returns the number of records seen."""
        cdef bytes owned = data if type(data) is bytes else bytes(data)
        cdef const char* buf = owned
        cdef Py_ssize_t total = len(owned), pos = 0, nl, i, n, seen = 0, k = 0
        cdef Py_ssize_t nends = -1 if ends is None else len(ends)
        cdef Ctx ctx
        cdef Py_ssize_t max_len = self.max_len
        cdef int nslots = self.nslots
        cdef long long[::1] end_view
        memos = [{} for _ in self.rules]
        ctx.buf = buf
        ctx.trie = self.trie
        ctx.scratch = self.scratch
        if ends is not None:
            import array
            end_view = array.array("q", ends)
        while True:
            n = 0
            if ends is None:
                if pos > total:
                    break
                with nogil:
                    while n < BLOCK and pos <= total:
                        nl = pos
                        while nl < total and buf[nl] != 10:
                            nl += 1
                        self.starts[n] = pos
                        self.ends[n] = nl
                        pos = nl + 1
                        n += 1
            else:
                if k >= nends:
                    break
                while n < BLOCK and k < nends:
                    self.starts[n] = pos
                    self.ends[n] = end_view[k]
                    pos = end_view[k]
                    k += 1
                    n += 1
            with nogil:
                for i in range(n):
                    ctx.spans = self.spans + i * nslots
                    self.status[i] = scan_line(&ctx, self.starts[i], self.ends[i], max_len, nslots)
            for i in range(n):
                if self.status[i] == L_OK:
                    self._apply(buf, self.spans + i * nslots, consts, now_ns, memos)
                elif self.status[i] != L_SKIP:
                    self.count(_LINE_REASONS[self.status[i]])
            seen += n
        return seen

    cdef object _apply(self, const char* buf, Span* spans, list consts, int64_t now_ns, list memos):
        cdef int64_t ts = now_ns
        cdef Py_ssize_t r, idx, j, klen
        cdef double value
        cdef _Series series
        cdef int status
        cdef RuleC* rc
        if self.ts_slot >= 0:
            if not self._timestamp(buf, spans, consts, &ts):
                self.count("bad_timestamp")
                return None
        for r in range(self.nrules):
            rc = &self.crules[r]
            if rc.has_where and not self._where(buf, spans, consts, self.rules[r], memos[r]):
                continue
            value = 1.0
            if rc.value_slot >= 0:
                status = self._value(buf, spans, consts, rc.value_slot, &value)
                if status == 0 and rc.kind == 0 and value < 0:
                    status = 3
                if status:
                    self.count(("missing_value", "wrong_type", "negative_value")[status - 1])
                    continue
            klen = self._key(buf, spans, consts, rc, r)
            if klen == -1:
                continue
            if klen == -2:
                self.count("wrong_type")
                continue
            key = PyBytes_FromStringAndSize(self.key, klen)
            series = <_Series>self.series[r]
            found = series.index.get(key)
            idx = series.add(key, ts) if found is None else <Py_ssize_t>found
            series.count[idx] += 1
            series.total[idx] += value
            series.last[idx] = value
            if value < series.vmin[idx]:
                series.vmin[idx] = value
            if value > series.vmax[idx]:
                series.vmax[idx] = value
            series.last_ns[idx] = ts
            if rc.nbounds:
                j = 0
                while j < rc.nbounds and rc.bounds[j] < value:
                    j += 1
                series.buckets[idx * series.nb + j] += 1
        return None

    cdef object _pyvalue(self, const char* buf, Span* spans, list consts, int slot):
        """A slot's value as the twin's row holds it (objects and arrays as COMPOUND)."""
        if not self.body[slot]:
            return consts[slot]
        cdef Span s = spans[slot]
        cdef Py_ssize_t n
        if s.tag == T_MISSING:
            return MISSING
        if s.tag == T_STR:
            return PyUnicode_DecodeUTF8(buf + s.start + 1, s.end - s.start - 2, NULL)
        if s.tag == T_STRESC:
            n = unescape(buf, s.start + 1, s.end - 1, self.scratch)
            return PyUnicode_DecodeUTF8(self.scratch, n, NULL)
        if s.tag == T_INT:
            return int(PyBytes_FromStringAndSize(buf + s.start, s.end - s.start))
        if s.tag == T_FLOAT:
            return span_double(buf, s.start, s.end, self.scratch)
        if s.tag == T_TRUE:
            return True
        if s.tag == T_FALSE:
            return False
        if s.tag == T_NULL:
            return None
        return COMPOUND

    cdef bint _where(self, const char* buf, Span* spans, list consts, object rule, dict memo) except -1:
        cdef Py_ssize_t klen = 0, ln
        cdef Span s
        for slot in rule.where_slots:
            if self.body[slot]:
                s = spans[<int>slot]
                ln = s.end - s.start if s.tag != T_MISSING else 0
                self._reserve(klen + 5 + ln)
                self.key[klen] = <char>s.tag
                memcpy(self.key + klen + 1, &ln, 4)
                memcpy(self.key + klen + 5, buf + s.start, ln)
                klen += 5 + ln
        mkey = PyBytes_FromStringAndSize(self.key, klen)
        hit = memo.get(mkey)
        if hit is None:
            row = list(consts)
            for slot in rule.where_slots:
                row[slot] = self._pyvalue(buf, spans, consts, slot)
            hit = memo[mkey] = bool(rule.where(row))
        return hit

    cdef int _value(self, const char* buf, Span* spans, list consts, int slot, double* out) except -1:
        """0 and the value, or 1 missing, 2 wrong type (the twin's order)."""
        cdef Span s
        if not self.body[slot]:
            v = consts[slot]
            if v is MISSING or v is None:
                return 1
            if type(v) is not int and type(v) is not float:
                return 2
            out[0] = float(v)
            return 0
        s = spans[slot]
        if s.tag == T_MISSING or s.tag == T_NULL:
            return 1
        if s.tag != T_INT and s.tag != T_FLOAT:
            return 2
        out[0] = span_double(buf, s.start, s.end, self.scratch)
        return 0

    cdef bint _timestamp(self, const char* buf, Span* spans, list consts, int64_t* out) except -1:
        cdef int slot = self.ts_slot
        cdef int fmt = self.ts_format
        cdef Span s = spans[slot]
        cdef int64_t v, scale
        cdef double d
        if self.body[slot] and fmt != TS_RFC3339 and (s.tag == T_INT or s.tag == T_FLOAT):
            scale = 1000000000 if fmt == TS_EPOCH_S else (1000000 if fmt == TS_EPOCH_MS else 1)
            if s.tag == T_INT and buf[s.start] != 45 and (s.end - s.start) <= 18:
                v = <int64_t>strtod_int(buf, s.start, s.end)
                if v > 9223372036854775807 // scale:
                    return False
                out[0] = v * scale
                return True
            if s.tag == T_FLOAT:
                d = span_double(buf, s.start, s.end, self.scratch) * <double>scale
                if not (d >= 0.0 and d < 9223372036854775808.0):
                    return False
                out[0] = <int64_t>d
                return True
        ns = scan_py.timestamp_ns(self._pyvalue(buf, spans, consts, slot), fmt)
        if ns is None:
            return False
        out[0] = ns
        return True

    cdef Py_ssize_t _key(self, const char* buf, Span* spans, list consts, RuleC* rc, Py_ssize_t r) except -3:
        """Dimension values into ``self.key``; -1 to skip the record, -2 for a wrong type."""
        cdef Py_ssize_t klen = 0, ln, j = 0
        cdef Span s
        cdef const char* text
        cdef bytes encoded
        cdef int slot
        cdef bint missing
        for j in range(rc.ndims):
            slot = rc.dim_slots[j]
            text = NULL
            ln = 0
            if self.body[slot]:
                s = spans[<int>slot]
                if s.tag == T_STR:
                    text = buf + s.start + 1
                    ln = s.end - s.start - 2
                elif s.tag == T_INT and not (s.end - s.start == 2 and buf[s.start] == 45):
                    text = buf + s.start
                    ln = s.end - s.start
                elif s.tag == T_TRUE:
                    text = b"true"
                    ln = 4
                elif s.tag == T_FALSE:
                    text = b"false"
                    ln = 5
                elif s.tag == T_OBJECT or s.tag == T_ARRAY:
                    return -2
                elif s.tag == T_STRESC:
                    self._reserve(klen + 5 + (s.end - s.start))
                    ln = unescape(buf, s.start + 1, s.end - 1, self.key + klen + 5)
                    self._put_header(klen, ln)
                    klen += 5 + ln
                    continue
                elif s.tag == T_MISSING or s.tag == T_NULL:
                    pass
                else:  # -0 and floats: as the twin writes them
                    encoded = scan_py.dimension_text(self._pyvalue(buf, spans, consts, slot)).encode()
                    text = encoded
                    ln = len(encoded)
                missing = s.tag == T_MISSING or s.tag == T_NULL
            else:
                v = consts[slot]
                missing = v is MISSING or v is None
                if not missing:
                    t = scan_py.dimension_text(v)
                    if t is None:
                        return -2
                    encoded = t.encode("utf-8", "surrogatepass")
                    text = encoded
                    ln = len(encoded)
            if missing:
                default = self.rules[r].dim_defaults[j]
                if default is not None:
                    encoded = default.encode("utf-8", "surrogatepass")
                    text = encoded
                    ln = len(encoded)
                elif rc.dim_skip[j]:
                    return -1
                else:
                    self._reserve(klen + 1)
                    self.key[klen] = 0
                    klen += 1
                    continue
            self._reserve(klen + 5 + ln)
            self._put_header(klen, ln)
            memcpy(self.key + klen + 5, text, ln)
            klen += 5 + ln
        return klen

    cdef inline void _put_header(self, Py_ssize_t at, Py_ssize_t ln):
        cdef unsigned char* k = <unsigned char*>self.key + at
        k[0] = 1
        k[1] = ln & 0xFF
        k[2] = (ln >> 8) & 0xFF
        k[3] = (ln >> 16) & 0xFF
        k[4] = (ln >> 24) & 0xFF

    cdef int _reserve(self, Py_ssize_t n) except -1:
        if n > self.key_cap:
            while self.key_cap < n:
                self.key_cap *= 2
            self.key = <char*>_grow(self.key, self.key_cap)
        return 0

    cpdef count(self, str reason):
        self.bad[reason] = self.bad.get(reason, 0) + 1

    def pop_bad(self):
        """Bad-record counts since the last call, by reason."""
        bad, self.bad = self.bad, {}
        return bad

    def drain(self):
        """The interval's accumulators per rule, keyed by dimension values; starts a new interval."""
        out = [(<_Series>s).to_dict() for s in self.series]
        self.series = self._new_series()
        return out


cdef inline int64_t strtod_int(const char* b, Py_ssize_t start, Py_ssize_t end) noexcept nogil:
    cdef int64_t v = 0
    cdef Py_ssize_t i
    for i in range(start, end):
        v = v * 10 + (b[i] - 48)
    return v
