# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Compiled twin of ``collector.connectors.logs_to_metrics.scan_py.Scanner`` (JSON lines).

One pass over a buffer of lines, without the GIL for every line the C code
can finish alone:

1. validate each line as strict JSON (as orjson does: UTF-8, surrogate
   pairs, depth 1024, no infinite numbers) and record, for each field slot
   the rules name, the span and type of its value, walking a trie of field
   paths, so no object is built per line; strings are searched eight bytes
   at a time (``swar.h``) and UTF-8 is checked only for lines that hold a
   non-ASCII byte or fail to parse;
2. read values and dimensions from the spans, find the series in a C hash
   table keyed on the dimension bytes (``key_table.h``) and update its
   accumulator, held in C arrays.

A line the C code cannot finish alone - a rule with a `where` condition
(the condition is the Python closure, memoised per distinct raw values), a
value or dimension from ``resource.*``/``attributes.*``, a float dimension,
an RFC 3339 timestamp - is applied with the GIL, in line order, with the
twin's own helpers, so there is one definition of each rule.
"""

from libc.stdlib cimport malloc, realloc, free, strtod
from libc.string cimport memchr, memcmp, memcpy, memset
from libc.math cimport isinf, INFINITY
from libc.stdint cimport int64_t, uint64_t
from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.bytes cimport PyBytes_FromStringAndSize
from cpython.list cimport PyList_New, PyList_SET_ITEM
from cpython.ref cimport PyObject, Py_INCREF, Py_XDECREF
from cpython.unicode cimport PyUnicode_DecodeUTF8

import os

cimport cython

from _fastpath._points cimport histogram_point, number_point

from collector.connectors.logs_to_metrics import scan_py
from collector.connectors.logs_to_metrics.plan import (
    COMPOUND, COUNTER, GAUGE, HISTOGRAM, LINE_REASONS, OVERFLOW_KEY, RULE_REASONS, TS_EPOCH_MS, TS_EPOCH_S,
    TS_RFC3339,
)
from collector.expr import MISSING

cdef int KIND_COUNTER = COUNTER
cdef int KIND_GAUGE = GAUGE
cdef int KIND_HISTOGRAM = HISTOGRAM
cdef int FMT_RFC3339 = TS_RFC3339
cdef int FMT_EPOCH_S = TS_EPOCH_S
cdef int FMT_EPOCH_MS = TS_EPOCH_MS


cdef extern from "swar.h" nogil:
    Py_ssize_t fp_string_stop(const char* s, Py_ssize_t p, Py_ssize_t end)
    Py_ssize_t fp_ascii_end(const unsigned char* s, Py_ssize_t p, Py_ssize_t end)


cdef extern from "key_table.h" nogil:
    ctypedef struct fp_table:
        size_t n
        char* arena
        size_t* key_off
        size_t* key_len
    int fp_table_init(fp_table* t, uint64_t seed, uint64_t hash_mask)
    void fp_table_free(fp_table* t)
    void fp_copy(char* dst, const char* src, size_t n)
    bint fp_equal(const char* a, const char* b, size_t n)
    int64_t fp_table_find_or_add(fp_table* t, const char* key, size_t n, int* added)
    int64_t fp_table_find_or_add_hashed(fp_table* t, const char* key, size_t n, uint64_t h, int* added)
    uint64_t fp_table_hash(const fp_table* t, const char* key, size_t n)
    int64_t fp_table_find_hashed(const fp_table* t, const char* key, size_t n, uint64_t h)
    void fp_table_prefetch_slot(const fp_table* t, uint64_t h)
    int64_t fp_table_prefetch_key(const fp_table* t, uint64_t h)


cdef extern from *:
    """#define fp_prefetch(p) __builtin_prefetch(p)"""
    void prefetch "fp_prefetch"(const void* p) nogil


DEF BLOCK = 1024
DEF PREFETCH = 4      # lines between a key's slot prefetch and its lookup
DEF MAX_DEPTH = 1024
DEF SEEN_NOW = -1      # Acc.seen_ns of a series updated since the last flush
DEF NO_LIMIT = 1 << 62

cdef const char* OVERFLOW_KEY_BYTES = b"\x02"

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
    T_BARE = 10     # logfmt: an unquoted token read as text (span without quotes)
    T_LFESC = 11    # logfmt: a quoted value with backslash escapes (span with its quotes)

# Bad-record reasons, numbered as in ``REASONS``; a failed line's status is its reason.
cdef enum:
    R_TOO_LONG = 0
    R_INVALID_UTF8 = 1
    R_INVALID_JSON = 2
    R_NOT_OBJECT = 3
    R_NO_MATCH = 4
    R_BAD_TIMESTAMP = 5
    R_MISSING_VALUE = 6
    R_WRONG_TYPE = 7
    R_NEGATIVE_VALUE = 8
    NREASONS = 9

REASONS = LINE_REASONS + RULE_REASONS
assert [REASONS[r] for r in (R_TOO_LONG, R_INVALID_UTF8, R_INVALID_JSON, R_NOT_OBJECT, R_NO_MATCH, R_BAD_TIMESTAMP,
                             R_MISSING_VALUE, R_WRONG_TYPE, R_NEGATIVE_VALUE)] == [
    "too_long", "invalid_utf8", "invalid_json", "not_object", "no_match", "bad_timestamp",
    "missing_value", "wrong_type", "negative_value"] and len(REASONS) == NREASONS

cdef enum LineStatus:
    L_OK = 100        # parsed, rules not applied yet
    L_SKIP = 101      # blank, or already applied

# What applying the rules to a line came to.
cdef enum Applied:
    A_DONE = 0
    A_NEEDS_GIL = 1   # nothing was changed; apply it with the GIL
    A_NO_MEMORY = -1

# A dimension key is dimension after dimension: a flag byte 0 (omitted), or 1 then a
# 4-byte little-endian length and the UTF-8 text; the overflow series' key is the one
# byte 2, which no record's key starts with. Building one says:
DEF K_SKIP = -1       # skip the record for this rule
DEF K_WRONG_TYPE = -2
DEF K_NO_MEMORY = -3
DEF K_NEEDS_GIL = -4

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

DEF MEMO_KEYS = 32      # top-level keys remembered, by position
DEF MEMO_KEY_BYTES = 32

cdef struct KeyMemo:
    # The n-th key of the last line's record that had one: its text (ASCII, no escapes)
    # and trie child. Log lines repeat their keys in order, so the same bytes at the same
    # position are known valid and matched without scanning or searching the trie.
    int len         # -1: none
    int child
    char text[MEMO_KEY_BYTES]

cdef struct Ctx:
    const char* buf
    Py_ssize_t end
    Span* spans
    Trie trie
    char* scratch
    bint nonascii   # the line has a byte >= 0x80 (inside a string, if it parsed)
    KeyMemo memo[MEMO_KEYS]


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
            i = fp_ascii_end(s, i + 1, n)
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


cdef Py_ssize_t scan_string(Ctx* ctx, Py_ssize_t p, bint* escaped) noexcept nogil:
    """``p`` is just past the opening quote; returns the index of the closing quote or -1."""
    cdef const char* b = ctx.buf
    cdef Py_ssize_t end = ctx.end
    cdef unsigned char c
    cdef int u, lo
    escaped[0] = False
    while True:
        p = fp_string_stop(b, p, end)
        if p >= end:
            return -1
        c = <unsigned char>b[p]
        if c == 34:
            return p
        if c >= 0x80:  # checked as UTF-8 after the parse
            ctx.nonascii = True
            p += 1
            continue
        if c < 0x20:
            return -1
        escaped[0] = True  # a backslash
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




cdef double[23] POW10
for _k in range(23):
    POW10[_k] = 10.0 ** _k


cdef double span_number(const char* b, Py_ssize_t start, Py_ssize_t end, char* scratch) noexcept nogil:
    """A validated JSON number as the nearest double, as strtod (and so orjson) reads it.

    Clinger's fast path: with at most 15 digits and no exponent, the digits are an exact
    integer below 2**53 and 10**k an exact double for k <= 22, so one IEEE division is
    correctly rounded; anything else goes to strtod.
    """
    cdef Py_ssize_t p = start, digits = 0, frac = 0
    cdef bint neg = b[p] == 45, dot = False
    cdef uint64_t m = 0
    cdef char ch
    cdef double v
    if neg:
        p += 1
    while p < end:
        ch = b[p]
        if ch == 46:
            dot = True
        elif ch >= 48 and ch <= 57:
            m = m * 10 + <uint64_t>(ch - 48)
            digits += 1
            frac += dot
        else:  # an exponent
            return span_double(b, start, end, scratch)
        p += 1
    if digits > 15 or frac > 22:
        return span_double(b, start, end, scratch)
    v = <double>m / POW10[frac]
    # JSON's integer -0 is the int 0 to orjson (so +0.0 as a double); -0.0 stays negative zero.
    return -v if neg and (m != 0 or dot) else v


cdef Py_ssize_t scan_number(Ctx* c, Py_ssize_t p, int* tag) noexcept nogil:
    cdef const char* b = c.buf
    cdef Py_ssize_t end = c.end, start = p, int_digits = 0
    cdef bint is_float = False, exponent = False
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
        is_float = exponent = True
        p += 1
        if p < end and (b[p] == 43 or b[p] == 45):
            p += 1
        if p >= end or b[p] < 48 or b[p] > 57:
            return -1
        while p < end and b[p] >= 48 and b[p] <= 57:
            p += 1
    if not is_float and not fits_64(b, start, p):
        is_float = True
    if is_float and (int_digits > 300 or p - start > 300 or exponent):
        if isinf(span_double(b, start, p, c.scratch)):
            return -1  # orjson refuses numbers that are infinite as doubles
    tag[0] = T_FLOAT if is_float else T_INT
    return p


cdef inline int find_child(Ctx* c, int node, const char* key, Py_ssize_t n) noexcept nogil:
    cdef int i, e
    cdef Trie* t = &c.trie
    for i in range(t.count[node]):
        e = t.first[node] + i
        if t.key_len[e] == n and (n == 0 or t.keys[t.key_off[e]] == key[0]) \
                and fp_equal(t.keys + t.key_off[e], key, n):
            return t.child_node[e]
    return -1


cdef inline void remember_key(KeyMemo* memo, const char* b, Py_ssize_t start, Py_ssize_t end, bint escaped,
                              int child) noexcept nogil:
    """Keep a validated key for the next line, when its text alone says it is valid (ASCII, no escapes)."""
    cdef Py_ssize_t n = end - start
    if escaped or n > MEMO_KEY_BYTES or fp_ascii_end(<const unsigned char*>b, start, end) != end:
        memo.len = -1
        return
    memcpy(memo.text, b + start, n)
    memo.len = <int>n
    memo.child = child


cdef Py_ssize_t parse_value(Ctx* c, Py_ssize_t p, int node, int depth, int* tag) noexcept nogil:
    """Validate one JSON value at ``p``, filling slots under trie ``node`` (-1: none); returns its end or -1."""
    cdef const char* b = c.buf
    cdef Py_ssize_t end = c.end, q, vstart
    cdef bint escaped
    cdef int child, vtag, i, slot
    cdef const char* key
    cdef Py_ssize_t klen
    cdef KeyMemo* memo
    cdef int nkeys = 0
    p = skip_ws(b, p, end)
    if p >= end:
        return -1
    cdef char ch = b[p]
    if ch == 34:
        q = scan_string(c, p + 1, &escaped)
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
                memo = &c.memo[nkeys] if depth == 0 and nkeys < MEMO_KEYS else NULL
                if memo != NULL and memo.len >= 0 and p + 1 + memo.len < end and b[p + 1 + memo.len] == 34 \
                        and fp_equal(b + p + 1, memo.text, memo.len):
                    q = p + 1 + memo.len
                    child = memo.child
                else:
                    q = scan_string(c, p + 1, &escaped)
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
                    if memo != NULL:
                        remember_key(memo, b, p + 1, q, escaped, child)
                nkeys += 1
                # A repeated key replaces the earlier value, nested slots too (a leaf's
                # own slot is simply overwritten below).
                if child >= 0 and c.trie.count[child]:
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
            if child >= 0:
                slot = c.trie.slot[child]
                if slot >= 0:
                    c.spans[slot].tag = vtag
                    c.spans[slot].start = vstart
                    c.spans[slot].end = p
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
    """L_OK with the slots' spans filled, L_SKIP for a blank line, or the reason the line is bad.

    UTF-8 is validated only when the parse failed or met a non-ASCII byte: a line that
    parsed with none is ASCII, since outside strings JSON admits only ASCII bytes.
    """
    cdef Py_ssize_t p = skip_ws(c.buf, start, end)
    cdef int tag, i
    cdef bint parsed
    if p >= end:
        return L_SKIP
    if end - start > max_len:
        return R_TOO_LONG
    for i in range(nslots):
        c.spans[i].tag = T_MISSING
    c.end = end
    c.nonascii = False
    p = parse_value(c, p, 0, 0, &tag)
    parsed = p >= 0 and skip_ws(c.buf, p, end) == end
    if (c.nonascii or not parsed) and not valid_utf8(<const unsigned char*>c.buf + start, end - start):
        return R_INVALID_UTF8
    if not parsed:
        return R_INVALID_JSON
    if tag != T_OBJECT:
        return R_NOT_OBJECT
    if c.trie.slot[0] >= 0:  # the path `body` itself
        c.spans[c.trie.slot[0]].tag = T_OBJECT
    return L_OK


cdef inline Py_ssize_t space_len(const unsigned char* b, Py_ssize_t p, Py_ssize_t end) noexcept nogil:
    """Bytes of the whitespace character at p as Python's ``str.isspace`` (and so regex ``\\s``) reads it; 0: none."""
    cdef unsigned char c = b[p], c1, c2
    if c == 32 or (c >= 9 and c <= 13) or (c >= 28 and c <= 31):
        return 1
    if c < 0xC2 or p + 1 >= end:
        return 0
    c1 = b[p + 1]
    if c == 0xC2:
        return 2 if c1 == 0x85 or c1 == 0xA0 else 0
    if p + 2 >= end:
        return 0
    c2 = b[p + 2]
    if c == 0xE1:
        return 3 if c1 == 0x9A and c2 == 0x80 else 0
    if c == 0xE2:
        if c1 == 0x80 and ((c2 >= 0x80 and c2 <= 0x8A) or c2 == 0xA8 or c2 == 0xA9 or c2 == 0xAF):
            return 3
        return 3 if c1 == 0x81 and c2 == 0x9F else 0
    if c == 0xE3:
        return 3 if c1 == 0x80 and c2 == 0x80 else 0
    return 0


cdef int logfmt_line(Ctx* c, Py_ssize_t start, Py_ssize_t end, Py_ssize_t max_len, int nslots) noexcept nogil:
    """As ``scan_line``, for ``key=value key2="quoted \\" value" flag`` lines, read as ``text_parsers.parse_logfmt``
    reads them: keys and unquoted values end at Unicode whitespace; unquoted JSON numbers and true/false are
    typed; a quote left open makes the line a no_match."""
    cdef const unsigned char* b = <const unsigned char*>c.buf
    cdef Py_ssize_t p = start, k, q, w
    cdef int i, child, slot, tag, pairs = 0
    cdef bint escaped
    while p < end and (b[p] == 32 or b[p] == 9 or b[p] == 13 or b[p] == 10):
        p += 1
    if p >= end:
        return L_SKIP
    if end - start > max_len:
        return R_TOO_LONG
    if fp_ascii_end(b, start, end) != end and not valid_utf8(b + start, end - start):
        return R_INVALID_UTF8
    for i in range(nslots):
        c.spans[i].tag = T_MISSING
    c.end = end
    p = start
    while True:
        w = space_len(b, p, end) if p < end else 0
        while w:
            p += w
            w = space_len(b, p, end) if p < end else 0
        if p >= end:
            break
        k = p
        while p < end and b[p] != 61 and b[p] != 34 and space_len(b, p, end) == 0:
            p += 1
        if p == k:
            return R_NO_MATCH  # a quote where a key should start
        pairs += 1
        child = find_child(c, 0, <const char*>b + k, p - k) if c.trie.count[0] else -1
        if p < end and b[p] == 61:
            p += 1
            q = -1
            if p < end and b[p] == 34:
                q = p + 1
                escaped = False
                while q < end and b[q] != 34:
                    if b[q] == 92:
                        if q + 1 >= end or b[q + 1] == 10:  # regex `\\.`: an escape of no character
                            q = end
                            break
                        escaped = True
                        q += 1
                    q += 1
            if q >= 0:
                if q >= end:
                    return R_NO_MATCH
                k, p, tag = p, q + 1, T_LFESC if escaped else T_STR
            else:
                k = p
                while p < end and b[p] != 34 and space_len(b, p, end) == 0:
                    p += 1
                tag = bare_tag(c, k, p)
        else:
            k, tag = p, T_TRUE  # a key alone is a flag
        if child >= 0:
            slot = c.trie.slot[child]
            if slot >= 0:
                c.spans[slot].tag = tag
                c.spans[slot].start = k
                c.spans[slot].end = p
    if not pairs:  # only whitespace that JSON does not count as such
        return R_NO_MATCH
    if c.trie.slot[0] >= 0:  # the path `body` itself: the record
        c.spans[c.trie.slot[0]].tag = T_OBJECT
    return L_OK


cdef int bare_tag(Ctx* c, Py_ssize_t start, Py_ssize_t end) noexcept nogil:
    """An unquoted logfmt value's type, as ``text_parsers.scalar`` gives it: true/false, a JSON number
    that is finite as a double, or else text."""
    cdef Py_ssize_t n = end - start, saved = c.end, stop
    cdef int tag
    if n == 4 and memcmp(c.buf + start, b"true", 4) == 0:
        return T_TRUE
    if n == 5 and memcmp(c.buf + start, b"false", 5) == 0:
        return T_FALSE
    if n == 0:
        return T_BARE
    c.end = end
    stop = scan_number(c, start, &tag)
    c.end = saved
    return tag if stop == end else T_BARE


cdef Py_ssize_t unescape_logfmt(const char* b, Py_ssize_t p, Py_ssize_t end, char* out) noexcept nogil:
    """A quoted logfmt value's text: backslash-n and backslash-t are newline and tab, any other escaped byte is itself."""
    cdef Py_ssize_t n = 0
    while p < end:
        if b[p] == 92 and p + 1 < end:
            p += 1
            out[n] = 10 if b[p] == 110 else (9 if b[p] == 116 else b[p])
        else:
            out[n] = b[p]
        n += 1
        p += 1
    return n


cdef inline Py_ssize_t unescape_span(const char* buf, Span s, char* out) noexcept nogil:
    """The text of a quoted value with escapes (its span holds the quotes), by its syntax's escape rules."""
    if s.tag == T_LFESC:
        return unescape_logfmt(buf, s.start + 1, s.end - 1, out)
    return unescape(buf, s.start + 1, s.end - 1, out)


cdef int body_value(const char* buf, Span s, char* scratch, double* out) noexcept nogil:
    """0 and the value, or 1 missing, 2 wrong type (the twin's order)."""
    if s.tag == T_MISSING or s.tag == T_NULL:
        return 1
    if s.tag != T_INT and s.tag != T_FLOAT:
        return 2
    out[0] = span_number(buf, s.start, s.end, scratch)
    return 0


cdef int epoch_timestamp(const char* buf, Span s, int fmt, char* scratch, int64_t* out) noexcept nogil:
    """1 and the time, 0 when the value is not a time, 2 when only the twin's helper can tell."""
    cdef int64_t v, scale
    cdef double d
    cdef Py_ssize_t i
    if fmt == FMT_RFC3339:
        return 2
    if s.tag != T_INT and s.tag != T_FLOAT:
        return 0
    scale = 1000000000 if fmt == FMT_EPOCH_S else (1000000 if fmt == FMT_EPOCH_MS else 1)
    if s.tag == T_FLOAT:
        d = span_number(buf, s.start, s.end, scratch) * <double>scale
        if not (d >= 0.0 and d < 9223372036854775808.0):
            return 0
        out[0] = <int64_t>d
        return 1
    if buf[s.start] == 45 or s.end - s.start > 18:  # -0, and values near the int64 limit
        return 2
    v = 0
    for i in range(s.start, s.end):
        v = v * 10 + (buf[i] - 48)
    if v > <int64_t>9223372036854775807 // scale:
        return 0
    out[0] = v * scale
    return 1


cdef struct Acc:
    int64_t count
    double total       # of the interval
    double held_total  # held series: the total up to the last flush, to which each flush adds the interval's
    double last
    double vmin
    double vmax
    int64_t first_ns
    int64_t last_ns
    int64_t seen_ns    # held series: the flush that last saw the series updated; SEEN_NOW until then

cdef struct Series:  # one rule's accumulators (for the interval, or held), by the key table's index
    fp_table keys
    Acc* acc
    int64_t* buckets   # nb per series
    PyObject** attrs   # held series: each one's attribute map, made at its first flush (owned)
    Py_ssize_t cap
    int nb
    int64_t overflowed # records of new series folded into the overflow series, since the last emit

cdef struct Prepared:  # a (line, rule)'s series key, built and hashed once for its prefetch and its lookup
    uint64_t hash
    Py_ssize_t off     # in JsonScanner.key
    Py_ssize_t klen    # or a K_ code

cdef struct BadAt:  # a bad record: its index in the scan call, and its first reason
    Py_ssize_t index
    int reason

cdef struct RuleC:
    int kind
    int value_slot
    bint needs_gil     # `where`, or a value or dimension outside the body
    bint has_where
    int ndims
    int* dim_slots
    char* dim_skip
    const char** dim_default   # NULL: no default
    Py_ssize_t* dim_default_len
    int nbounds
    double* bounds
    Py_ssize_t limit   # series before new ones fold into the overflow series (held series only)


cdef int series_init(Series* s, int nb) noexcept nogil:
    memset(s, 0, sizeof(Series))
    s.nb = nb
    return fp_table_init(&s.keys, _seed(), <uint64_t>-1)


cdef void series_free(Series* s) noexcept:
    cdef Py_ssize_t i
    if s.attrs != NULL:
        for i in range(<Py_ssize_t>s.keys.n):
            Py_XDECREF(s.attrs[i])
    fp_table_free(&s.keys)
    free(s.acc)
    free(s.buckets)
    free(s.attrs)
    s.acc = NULL
    s.buckets = NULL
    s.attrs = NULL


cdef int series_reserve(Series* s, Py_ssize_t n) noexcept nogil:
    """Room for the accumulators of n series; -1 when out of memory."""
    cdef Py_ssize_t cap = s.cap
    cdef void* p
    if n <= cap:
        return 0
    while cap < n:
        cap = cap * 2 if cap else 64
    p = realloc(s.acc, cap * sizeof(Acc))
    if p == NULL:
        return -1
    s.acc = <Acc*>p
    if s.nb:
        p = realloc(s.buckets, cap * s.nb * sizeof(int64_t))
        if p == NULL:
            return -1
        s.buckets = <int64_t*>p
    p = realloc(s.attrs, cap * sizeof(PyObject*))
    if p == NULL:
        return -1
    s.attrs = <PyObject**>p
    memset(s.attrs + s.cap, 0, (cap - s.cap) * sizeof(PyObject*))
    s.cap = cap
    return 0


cdef int64_t series_find(Series* s, const char* key, Py_ssize_t klen, uint64_t h, Py_ssize_t limit,
                         int64_t weight, int* added) noexcept nogil:
    """The series of the key, created when new; once ``limit - 1`` series are held (the overflow series
    makes ``limit``), a new key's series is the overflow series and its ``weight`` records count as folded.
    -1 when out of memory."""
    cdef int64_t i
    if series_reserve(s, s.keys.n + 1) < 0:  # before adding: every key has its accumulator
        return -1
    if <Py_ssize_t>s.keys.n >= limit - 1 and not (klen == 1 and key[0] == 2):  # the twin's rule
        i = fp_table_find_hashed(&s.keys, key, klen, h)
        if i >= 0:
            added[0] = 0
            return i
        s.overflowed += weight
        h = fp_table_hash(&s.keys, OVERFLOW_KEY_BYTES, 1)
        key = OVERFLOW_KEY_BYTES
        klen = 1
    i = fp_table_find_or_add_hashed(&s.keys, key, klen, h, added)
    if i >= 0 and added[0]:
        s.attrs[i] = NULL
    return i


cdef void acc_init(Series* s, int64_t i, int64_t first_ns) noexcept nogil:
    """A new series' accumulator, empty, first seen at ``first_ns``."""
    cdef Acc* a = &s.acc[i]
    a.count = 0
    a.total = 0.0
    a.held_total = 0.0
    a.vmin = INFINITY
    a.vmax = -INFINITY
    a.first_ns = first_ns
    if s.nb:
        memset(s.buckets + i * s.nb, 0, s.nb * sizeof(int64_t))


cdef int series_add(Series* s, const char* key, Py_ssize_t klen, uint64_t h, RuleC* rc, double value,
                    int64_t ts) noexcept nogil:
    """Count one value into the series of the key (hashed: ``h``), created at ``ts`` when new; -1 when out of memory."""
    cdef int added
    cdef int64_t i = series_find(s, key, klen, h, rc.limit, 1, &added)
    cdef Py_ssize_t j
    cdef Acc* a
    if i < 0:
        return -1
    if added:
        acc_init(s, i, ts)
    a = &s.acc[i]
    a.count += 1
    a.total += value
    a.last = value
    if value < a.vmin:
        a.vmin = value
    if value > a.vmax:
        a.vmax = value
    a.last_ns = ts
    a.seen_ns = SEEN_NOW
    if rc.nbounds:
        j = 0
        while j < rc.nbounds and rc.bounds[j] < value:
            j += 1
        s.buckets[i * s.nb + j] += 1
    return 0


cdef uint64_t _hash_seed = int.from_bytes(os.urandom(8), "little")

cdef inline uint64_t _seed() noexcept nogil:
    return _hash_seed


cdef tuple _decode_key(const unsigned char* k, Py_ssize_t n):
    """Key bytes back to the twin's tuple of strings and Nones."""
    cdef Py_ssize_t p = 0, ln
    if n == 1 and k[0] == 2:
        return OVERFLOW_KEY
    out = []
    while p < n:
        if k[p] == 0:
            out.append(None)
            p += 1
            continue
        ln = k[p + 1] | (k[p + 2] << 8) | (k[p + 3] << 16) | (<Py_ssize_t>k[p + 4] << 24)
        out.append(PyUnicode_DecodeUTF8(<const char*>k + p + 5, ln, "surrogatepass"))  # as keys are encoded
        p += 5 + ln
    return tuple(out)


cdef void* _grow(void* p, size_t n) except NULL:
    cdef void* q = realloc(p, n)
    if q == NULL:
        raise MemoryError()
    return q



@cython.final  # its cdef methods are called directly, not through a vtable, and can be inlined
cdef class JsonScanner:
    """Same interface and results as ``scan_py.Scanner`` for JSON lines, or with ``syntax="logfmt"``
    as ``scan_py.Scanner(plan, text_parsers.parse_logfmt)`` for logfmt lines."""

    cdef public object plan
    cdef list rules
    cdef list _keep           # Python objects C pointers point into
    cdef char* body           # slot -> is a body slot
    cdef RuleC* crules
    cdef Series* series       # per rule
    cdef int nrules, ts_slot, ts_format
    cdef bint any_needs_gil   # every line goes through the GIL path
    cdef int* float_slots     # body slots of dimensions: a float there needs the GIL
    cdef int nfloat_slots
    cdef Trie trie
    cdef Ctx ctx
    cdef int nslots
    cdef Py_ssize_t max_len
    cdef int64_t now_ns
    cdef int64_t bad[NREASONS]
    cdef Span* spans          # BLOCK lines x nslots
    cdef int* status          # BLOCK
    cdef Py_ssize_t pos, k    # where the next line starts; next explicit end
    cdef Py_ssize_t* ends_in  # explicit record ends, clamped to the buffer
    cdef Py_ssize_t ends_cap
    cdef char* scratch
    cdef char* key            # the block's prepared keys, then scratch keys of the GIL path
    cdef Py_ssize_t key_cap
    cdef Py_ssize_t key_used  # bytes of ``key`` holding prepared keys
    cdef bint logfmt          # lines are logfmt, not JSON
    cdef bint track_bad       # keep BadAt entries (dead-lettering); off, a bad record costs only its count
    cdef BadAt* bad_at
    cdef Py_ssize_t nbad_at, bad_at_cap
    cdef bint bad_at_oom
    cdef Py_ssize_t line_base # index of the block's first line in this scan call
    cdef Py_ssize_t cur       # index in the block of the line being parsed or applied
    cdef Prepared* prep       # BLOCK x nrules: series keys, from prefetch to lookup
    cdef Py_ssize_t nprepared # lines of the block with their keys prepared

    def __init__(self, plan, *, bad_records=False, syntax="json"):
        cdef RuleC* r
        cdef int j
        self.plan = plan
        self.track_bad = bad_records
        if syntax not in ("json", "logfmt") or plan.config.parser != syntax:
            raise ValueError(f"no compiled scanner for {syntax!r} lines of a {plan.config.parser!r} plan")
        self.logfmt = syntax == "logfmt"
        self._keep = []
        self.rules = list(plan.rules)
        self.nslots = max(len(plan.slots), 1)
        self.max_len = plan.max_line_bytes
        memset(self.bad, 0, sizeof(self.bad))
        self.body = <char*>_grow(NULL, self.nslots)
        for i, p in enumerate(plan.slots):
            self.body[i] = p.root == "body"
        self.ts_slot = plan.ts_slot
        self.ts_format = plan.ts_format
        self.any_needs_gil = self.ts_slot >= 0 and not self.body[self.ts_slot]
        self.nrules = len(self.rules)
        self.crules = <RuleC*>_grow(NULL, max(self.nrules, 1) * sizeof(RuleC))
        memset(self.crules, 0, max(self.nrules, 1) * sizeof(RuleC))
        float_slots = []
        for i, rule in enumerate(self.rules):
            r = &self.crules[i]
            r.kind = rule.kind
            r.value_slot = rule.value_slot
            r.has_where = rule.where is not None
            r.ndims = len(rule.dim_slots)
            r.dim_slots = <int*>_grow(NULL, max(r.ndims, 1) * sizeof(int))
            r.dim_skip = <char*>_grow(NULL, max(r.ndims, 1))
            r.dim_default = <const char**>_grow(NULL, max(r.ndims, 1) * sizeof(char*))
            r.dim_default_len = <Py_ssize_t*>_grow(NULL, max(r.ndims, 1) * sizeof(Py_ssize_t))
            for j in range(r.ndims):
                r.dim_slots[j] = rule.dim_slots[j]
                r.dim_skip[j] = rule.dim_skip[j]
                r.dim_default[j] = NULL
                if rule.dim_defaults[j] is not None:
                    encoded = rule.dim_defaults[j].encode("utf-8", "surrogatepass")
                    self._keep.append(encoded)
                    r.dim_default[j] = <const char*>encoded
                    r.dim_default_len[j] = len(encoded)
                if self.body[r.dim_slots[j]]:
                    float_slots.append(r.dim_slots[j])
            r.needs_gil = (r.has_where or (r.value_slot >= 0 and not self.body[r.value_slot])
                           or any(not self.body[s] for s in rule.dim_slots))
            self.any_needs_gil |= r.needs_gil
            r.limit = NO_LIMIT
            r.nbounds = len(rule.bounds)
            r.bounds = <double*>_grow(NULL, max(r.nbounds, 1) * sizeof(double))
            for j in range(r.nbounds):
                r.bounds[j] = rule.bounds[j]
        float_slots = sorted(set(float_slots))
        self.nfloat_slots = len(float_slots)
        self.float_slots = <int*>_grow(NULL, max(self.nfloat_slots, 1) * sizeof(int))
        for j in range(self.nfloat_slots):
            self.float_slots[j] = float_slots[j]
        self.series = <Series*>_grow(NULL, max(self.nrules, 1) * sizeof(Series))
        memset(self.series, 0, max(self.nrules, 1) * sizeof(Series))
        self._new_series()
        self._build_trie(plan.body_slots)
        self.spans = <Span*>_grow(NULL, BLOCK * self.nslots * sizeof(Span))
        self.status = <int*>_grow(NULL, BLOCK * sizeof(int))
        self.prep = <Prepared*>_grow(NULL, BLOCK * max(self.nrules, 1) * sizeof(Prepared))
        self.scratch = <char*>_grow(NULL, self.max_len + 64)
        self.key_cap = 256
        self.key = <char*>_grow(NULL, self.key_cap)
        self.ctx.trie = self.trie
        for j in range(MEMO_KEYS):
            self.ctx.memo[j].len = -1
        self.ctx.scratch = self.scratch

    def __dealloc__(self):
        cdef int i
        if self.crules != NULL:
            for i in range(self.nrules):
                free(self.crules[i].dim_slots); free(self.crules[i].dim_skip); free(self.crules[i].bounds)
                free(self.crules[i].dim_default); free(self.crules[i].dim_default_len)
        if self.series != NULL:
            for i in range(self.nrules):
                series_free(&self.series[i])
        free(self.crules); free(self.series); free(self.body); free(self.float_slots)
        free(self.spans); free(self.status); free(self.ends_in); free(self.scratch); free(self.key)
        free(self.bad_at); free(self.prep)
        free(self.trie.first); free(self.trie.count); free(self.trie.slot); free(self.trie.sub_lo)
        free(self.trie.sub_hi); free(self.trie.sub_slots); free(self.trie.child_node)
        free(self.trie.key_off); free(self.trie.key_len)

    cdef _new_series(self):
        cdef int i
        for i in range(self.nrules):
            series_free(&self.series[i])
            if series_init(&self.series[i], len(self.rules[i].bounds) + 1 if self.rules[i].bounds else 0) < 0:
                raise MemoryError()

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
        keys = bytes(blob) + b"\0"
        self._keep.append(keys)
        t.keys = keys

    def _subtree_slots(self, nodes, i):
        out = [nodes[i][1]] if nodes[i][1] >= 0 else []
        for child in nodes[i][0].values():
            out.extend(self._subtree_slots(nodes, child))
        return out

    def scan(self, data, ends, consts, long long now_ns):
        """Apply the rules to every line of ``data``; returns the number of records seen.

        ``ends``: explicit record ends (offsets, non-decreasing), or None to split at newlines.
        ``data`` is bytes or any buffer (a replay passes views of its read buffers, not copies).
        """
        cdef Py_buffer view
        self.now_ns = now_ns
        PyObject_GetBuffer(data, &view, PyBUF_SIMPLE)
        try:
            return self._scan(<const char*>view.buf, view.len, ends, consts)
        finally:
            PyBuffer_Release(&view)

    cdef Py_ssize_t _scan(self, const char* buf, Py_ssize_t total, ends, consts) except -1:
        cdef Py_ssize_t nends = -1, n, i, seen = 0, j
        cdef int err = 0
        cdef list row = consts if type(consts) is list else list(consts)
        cdef list memos = None
        self.ctx.buf = buf
        self.pos = self.k = 0
        self.nbad_at = 0
        if ends is not None:
            nends = len(ends)
            if nends > self.ends_cap:
                self.ends_in = <Py_ssize_t*>_grow(self.ends_in, nends * sizeof(Py_ssize_t))
                self.ends_cap = nends
            for j in range(nends):
                self.ends_in[j] = min(max(<Py_ssize_t>ends[j], 0), total)
        while True:
            self.line_base = seen
            with nogil:
                n = self._parse_block(total, nends)
                self.nprepared = self.key_used = 0
                i = self._fast_run(0, n, &err)
            if err:
                raise MemoryError()
            if n == 0:
                break
            while i < n:  # line i needs the GIL; the lines after it wait their turn
                if memos is None:
                    memos = [{} for _ in self.rules]
                self.cur = i
                self._slow(self.spans + i * self.nslots, row, memos)
                with nogil:
                    i = self._fast_run(i + 1, n, &err)
                if err:
                    raise MemoryError()
            seen += n
        if self.bad_at_oom:
            self.bad_at_oom = False
            raise MemoryError()
        return seen

    cdef Py_ssize_t _parse_block(self, Py_ssize_t total, Py_ssize_t nends) noexcept nogil:
        """Parse up to BLOCK lines, counting the bad ones; returns the number of lines taken."""
        cdef const char* buf = self.ctx.buf
        cdef const char* nl
        cdef Py_ssize_t n = 0, start, end
        cdef int st
        while n < BLOCK:
            start = self.pos
            if nends < 0:
                if start > total:
                    break
                nl = <const char*>memchr(buf + start, 10, total - start)
                end = total if nl == NULL else nl - buf
                self.pos = end + 1
            else:
                if self.k >= nends:
                    break
                end = self.ends_in[self.k]
                self.pos = end
                self.k += 1
            self.ctx.spans = self.spans + n * self.nslots
            self.cur = n
            if self.logfmt:
                st = logfmt_line(&self.ctx, start, end, self.max_len, self.nslots)
            else:
                st = scan_line(&self.ctx, start, end, self.max_len, self.nslots)
            if st != L_OK and st != L_SKIP:
                self._count(st)
            self.status[n] = st
            n += 1
        return n

    cdef Py_ssize_t _fast_run(self, Py_ssize_t i, Py_ssize_t n, int* err) noexcept nogil:
        """Apply parsed lines i.. of the block in order; the first that needs the GIL, or n.

        The series tables outgrow the cache (100,000 user ids): PREFETCH
        lines ahead the line's keys are built and hashed and their slots
        fetched, half as far ahead their key bytes and accumulators, so a
        lookup rarely waits for memory and reuses the key and hash.
        """
        cdef int applied
        cdef Py_ssize_t j
        if self.any_needs_gil:  # every parsed line needs the GIL: nothing to prepare
            return self._skip_run(i, n)
        for j in range(max(i, self.nprepared), min(i + PREFETCH, n)):
            if self._prepare(j) < 0:
                err[0] = 1
                return n
        for j in range(i, min(i + PREFETCH // 2, n)):
            self._prefetch_series(j)
        while i < n:
            if i + PREFETCH < n and i + PREFETCH >= self.nprepared and self._prepare(i + PREFETCH) < 0:
                err[0] = 1
                return n
            if i + PREFETCH // 2 < n:
                self._prefetch_series(i + PREFETCH // 2)
            if self.status[i] == L_OK:
                self.cur = i
                applied = self._fast(self.spans + i * self.nslots, self.prep + i * self.nrules)
                if applied == A_NEEDS_GIL:
                    return i
                if applied == A_NO_MEMORY:
                    err[0] = 1
                    return n
            i += 1
        return n

    cdef Py_ssize_t _skip_run(self, Py_ssize_t i, Py_ssize_t n) noexcept nogil:
        """The first parsed line from i on (bad and blank lines are done with), or n."""
        while i < n and self.status[i] != L_OK:
            i += 1
        return i

    cdef int _prepare(self, Py_ssize_t j) noexcept nogil:
        """Build and hash line j's series keys, after the block's others, and prefetch their slots; -1 when out of memory."""
        cdef int r
        cdef Py_ssize_t klen
        cdef Prepared* pr = self.prep + j * self.nrules
        self.nprepared = j + 1
        for r in range(self.nrules):
            pr[r].klen = K_SKIP
            if self.status[j] != L_OK:
                continue
            klen = self._key_c(self.spans + j * self.nslots, &self.crules[r], self.key_used)
            if klen == K_NO_MEMORY:
                return -1
            pr[r].klen = klen
            if klen >= 0:
                pr[r].off = self.key_used
                pr[r].hash = fp_table_hash(&self.series[r].keys, self.key + self.key_used, klen)
                self.key_used += klen
                fp_table_prefetch_slot(&self.series[r].keys, pr[r].hash)
        return 0

    cdef void _prefetch_series(self, Py_ssize_t j) noexcept nogil:
        """With line j's slots cached: prefetch its keys' bytes and accumulators."""
        cdef int r
        cdef int64_t index
        cdef Series* sr
        cdef Prepared* pr = self.prep + j * self.nrules
        for r in range(self.nrules):
            if pr[r].klen < 0:
                continue
            sr = &self.series[r]
            index = fp_table_prefetch_key(&sr.keys, pr[r].hash)
            if index >= 0 and index < sr.cap:
                prefetch(&sr.acc[index])
                if sr.nb:
                    prefetch(&sr.buckets[index * sr.nb])

    cdef int _fast(self, Span* spans, Prepared* pr) noexcept nogil:
        """Apply the rules to one parsed line, its keys prepared, without the GIL, or say it needs the GIL
        (before changing anything)."""
        cdef const char* buf = self.ctx.buf
        cdef int64_t ts = self.now_ns
        cdef int r, st, j
        cdef RuleC* rc
        cdef double value
        cdef Py_ssize_t klen
        for j in range(self.nfloat_slots):
            if spans[self.float_slots[j]].tag == T_FLOAT:
                return A_NEEDS_GIL
        if self.ts_slot >= 0:
            st = epoch_timestamp(buf, spans[self.ts_slot], self.ts_format, self.scratch, &ts)
            if st == 2:
                return A_NEEDS_GIL
            if st == 0:
                self._count(R_BAD_TIMESTAMP)
                return A_DONE
        for r in range(self.nrules):
            rc = &self.crules[r]
            value = 1.0
            if rc.value_slot >= 0:
                st = body_value(buf, spans[rc.value_slot], self.scratch, &value)
                if st == 0 and rc.kind == KIND_COUNTER and value < 0:
                    st = 3
                if st:
                    self._count(R_MISSING_VALUE + st - 1)
                    continue
            klen = pr[r].klen
            if klen == K_SKIP:
                continue
            if klen == K_WRONG_TYPE:
                self._count(R_WRONG_TYPE)
                continue
            # (K_NEEDS_GIL cannot happen: floats were ruled out above)
            if series_add(&self.series[r], self.key + pr[r].off, klen, pr[r].hash, rc, value, ts) < 0:
                return A_NO_MEMORY
        return A_DONE

    cdef int _slow(self, Span* spans, list consts, list memos) except -1:
        """The twin's semantics for one line, with the GIL: `where`, non-body fields, float dimensions."""
        cdef const char* buf = self.ctx.buf
        cdef int64_t ts = self.now_ns
        cdef Py_ssize_t r, klen
        cdef double value
        cdef int st = 2
        cdef RuleC* rc
        cdef uint64_t h
        if self.ts_slot >= 0:
            if self.body[self.ts_slot]:
                st = epoch_timestamp(buf, spans[self.ts_slot], self.ts_format, self.scratch, &ts)
            if st == 2:
                ns = scan_py.timestamp_ns(self._pyvalue(spans, consts, self.ts_slot), self.ts_format)
                if ns is not None:
                    ts = ns
                st = ns is not None
            if st == 0:
                self._count(R_BAD_TIMESTAMP)
                return 0
        for r in range(self.nrules):
            rc = &self.crules[r]
            if rc.has_where and not self._where(spans, consts, self.rules[r], memos[r]):
                continue
            value = 1.0
            if rc.value_slot >= 0:
                st = self._value(spans, consts, rc.value_slot, &value)
                if st == 0 and rc.kind == KIND_COUNTER and value < 0:
                    st = 3
                if st:
                    self._count(R_MISSING_VALUE + st - 1)
                    continue
            klen = self._key_py(spans, consts, rc, self.key_used)
            if klen == K_SKIP:
                continue
            if klen == K_WRONG_TYPE:
                self._count(R_WRONG_TYPE)
                continue
            h = fp_table_hash(&self.series[r].keys, self.key + self.key_used, klen)
            if series_add(&self.series[r], self.key + self.key_used, klen, h, rc, value, ts) < 0:
                raise MemoryError()
        return 0

    cdef object _pyvalue(self, Span* spans, list consts, int slot):
        """A slot's value as the twin's row holds it (objects and arrays as COMPOUND)."""
        if not self.body[slot]:
            return consts[slot]
        cdef const char* buf = self.ctx.buf
        cdef Span s = spans[slot]
        cdef Py_ssize_t n
        if s.tag == T_MISSING:
            return MISSING
        if s.tag == T_STR:
            return PyUnicode_DecodeUTF8(buf + s.start + 1, s.end - s.start - 2, NULL)
        if s.tag == T_STRESC or s.tag == T_LFESC:
            n = unescape_span(buf, s, self.scratch)
            return PyUnicode_DecodeUTF8(self.scratch, n, NULL)
        if s.tag == T_BARE:
            return PyUnicode_DecodeUTF8(buf + s.start, s.end - s.start, NULL)
        if s.tag == T_INT:
            return int(PyBytes_FromStringAndSize(buf + s.start, s.end - s.start))
        if s.tag == T_FLOAT:
            return span_number(buf, s.start, s.end, self.scratch)
        if s.tag == T_TRUE:
            return True
        if s.tag == T_FALSE:
            return False
        if s.tag == T_NULL:
            return None
        return COMPOUND

    cdef bint _where(self, Span* spans, list consts, object rule, dict memo) except -1:
        """The rule's condition, memoised on the raw text of the body fields it reads."""
        cdef const char* buf = self.ctx.buf
        cdef Py_ssize_t at = self.key_used, klen = at, ln
        cdef Span s
        for slot in rule.where_slots:
            if self.body[slot]:
                s = spans[<int>slot]
                ln = s.end - s.start if s.tag != T_MISSING else 0
                if self._reserve(klen + 5 + ln) < 0:
                    raise MemoryError()
                self.key[klen] = <char>s.tag
                memcpy(self.key + klen + 1, &ln, 4)
                memcpy(self.key + klen + 5, buf + s.start, ln)
                klen += 5 + ln
        mkey = PyBytes_FromStringAndSize(self.key + at, klen - at)
        hit = memo.get(mkey)
        if hit is None:
            row = list(consts)
            for slot in rule.where_slots:
                row[slot] = self._pyvalue(spans, consts, slot)
            hit = memo[mkey] = bool(rule.where(row))
        return hit

    cdef int _value(self, Span* spans, list consts, int slot, double* out) except -1:
        """0 and the value, or 1 missing, 2 wrong type (the twin's order)."""
        if self.body[slot]:
            return body_value(self.ctx.buf, spans[slot], self.scratch, out)
        v = consts[slot]
        if v is MISSING or v is None:
            return 1
        if type(v) is not int and type(v) is not float:
            return 2
        out[0] = float(v)
        return 0

    cdef Py_ssize_t _key_c(self, Span* spans, RuleC* rc, Py_ssize_t at) noexcept nogil:
        """Dimension values into ``self.key`` from ``at``: their length, or a K_ code. Body fields only."""
        cdef Py_ssize_t klen = at
        cdef int j, st
        for j in range(rc.ndims):
            st = self._put_dim(spans[rc.dim_slots[j]], &klen)
            if st == 1:
                st = self._put_missing(rc, j, &klen)
            if st < 0:
                return st
        return klen - at

    cdef Py_ssize_t _key_py(self, Span* spans, list consts, RuleC* rc, Py_ssize_t at) except K_NO_MEMORY:
        """As ``_key_c``, with resource and attribute fields and float dimensions too."""
        cdef Py_ssize_t klen = at
        cdef int j, st, slot
        for j in range(rc.ndims):
            slot = rc.dim_slots[j]
            if self.body[slot]:
                st = self._put_dim(spans[slot], &klen)
                if st == K_NEEDS_GIL:
                    st = self._put_pytext(scan_py.dimension_text(self._pyvalue(spans, consts, slot)), &klen)
            else:
                v = consts[slot]
                st = 1 if v is MISSING or v is None else self._put_pytext(scan_py.dimension_text(v), &klen)
            if st == 1:
                st = self._put_missing(rc, j, &klen)
            if st == K_NO_MEMORY:
                raise MemoryError()
            if st < 0:
                return st
        return klen - at

    cdef int _put_dim(self, Span s, Py_ssize_t* klen) noexcept nogil:
        """A body field's dimension text as the twin writes it: 0 added, 1 missing, or a K_ code."""
        cdef const char* buf = self.ctx.buf
        cdef Py_ssize_t ln
        if s.tag == T_STR:
            return self._put_text(buf + s.start + 1, s.end - s.start - 2, klen)
        if s.tag == T_INT:
            if s.end - s.start == 2 and buf[s.start] == 45 and buf[s.start + 1] == 48:  # -0 is the integer 0
                return self._put_text(b"0", 1, klen)
            return self._put_text(buf + s.start, s.end - s.start, klen)
        if s.tag == T_MISSING or s.tag == T_NULL:
            return 1
        if s.tag == T_TRUE:
            return self._put_text(b"true", 4, klen)
        if s.tag == T_FALSE:
            return self._put_text(b"false", 5, klen)
        if s.tag == T_STRESC or s.tag == T_LFESC:
            if self._reserve(klen[0] + 5 + s.end - s.start) < 0:
                return K_NO_MEMORY
            ln = unescape_span(buf, s, self.key + klen[0] + 5)
            self._put_header(klen[0], ln)
            klen[0] += 5 + ln
            return 0
        if s.tag == T_BARE:
            return self._put_text(buf + s.start, s.end - s.start, klen)
        if s.tag == T_FLOAT:  # Python's repr
            return K_NEEDS_GIL
        return K_WRONG_TYPE  # an object or an array

    cdef int _put_missing(self, RuleC* rc, int j, Py_ssize_t* klen) noexcept nogil:
        if rc.dim_default[j] != NULL:
            return self._put_text(rc.dim_default[j], rc.dim_default_len[j], klen)
        if rc.dim_skip[j]:
            return K_SKIP
        if self._reserve(klen[0] + 1) < 0:
            return K_NO_MEMORY
        self.key[klen[0]] = 0
        klen[0] += 1
        return 0

    cdef int _put_pytext(self, object text, Py_ssize_t* klen) except? K_NO_MEMORY:
        if text is None:
            return K_WRONG_TYPE
        cdef bytes encoded = text.encode("utf-8", "surrogatepass")
        return self._put_text(encoded, len(encoded), klen)

    cdef int _put_text(self, const char* text, Py_ssize_t ln, Py_ssize_t* klen) noexcept nogil:
        if self._reserve(klen[0] + 5 + ln) < 0:
            return K_NO_MEMORY
        self._put_header(klen[0], ln)
        fp_copy(self.key + klen[0] + 5, text, ln)
        klen[0] += 5 + ln
        return 0

    cdef inline void _put_header(self, Py_ssize_t at, Py_ssize_t ln) noexcept nogil:
        cdef unsigned char* k = <unsigned char*>self.key + at
        k[0] = 1
        k[1] = ln & 0xFF
        k[2] = (ln >> 8) & 0xFF
        k[3] = (ln >> 16) & 0xFF
        k[4] = (ln >> 24) & 0xFF

    cdef int _reserve(self, Py_ssize_t n) noexcept nogil:
        cdef Py_ssize_t cap = self.key_cap
        cdef void* p
        if n <= cap:
            return 0
        while cap < n:
            cap *= 2
        p = realloc(self.key, cap)
        if p == NULL:
            return -1
        self.key = <char*>p
        self.key_cap = cap
        return 0

    cdef inline void _count(self, int reason) noexcept nogil:
        self.bad[reason] += 1
        if self.track_bad:
            self._note_bad(reason)

    cdef void _note_bad(self, int reason) noexcept nogil:
        """Keep the record's first reason only; a failed allocation is raised when the scan ends."""
        cdef Py_ssize_t index = self.line_base + self.cur
        cdef void* p
        if self.nbad_at and self.bad_at[self.nbad_at - 1].index == index:
            return
        if self.nbad_at == self.bad_at_cap:
            p = realloc(self.bad_at, (self.bad_at_cap * 2 + 16) * sizeof(BadAt))
            if p == NULL:
                self.bad_at_oom = True
                return
            self.bad_at = <BadAt*>p
            self.bad_at_cap = self.bad_at_cap * 2 + 16
        self.bad_at[self.nbad_at].index = index
        self.bad_at[self.nbad_at].reason = reason
        self.nbad_at += 1

    def pop_bad_records(self):
        """(index, first reason) of each bad record of the last ``scan``, by index; needs ``bad_records=True``.

        Lines the GIL path applies come after the block's parse failures, hence the sort.
        """
        out = sorted([(self.bad_at[i].index, REASONS[self.bad_at[i].reason]) for i in range(self.nbad_at)])
        self.nbad_at = 0
        return out

    def pop_bad(self):
        """Bad-record counts since the last call, by reason."""
        bad = {REASONS[i]: self.bad[i] for i in range(NREASONS) if self.bad[i]}
        memset(self.bad, 0, sizeof(self.bad))
        return bad

    def drain(self):
        """The interval's accumulators per rule, keyed by dimension values; starts a new interval."""
        out = [_series_dict(&self.series[r], False) for r in range(self.nrules)]
        self._new_series()
        return out

    # --- held series: the scanner's tables are the aggregation state (``aggregate.HeldAggregator``) ---

    def hold(self):
        """Keep the series from here on: cardinality limits apply as records arrive, and ``emit`` reports."""
        for r, rule in enumerate(self.rules):
            self.crules[r].limit = min(rule.rule.cardinality_limit, NO_LIMIT)

    def emit(self, long long now_ns, bint cumulative, long long max_staleness_ns):
        """Each rule's points; cumulative series idle for ``max_staleness_ns`` are dropped first, delta ones all after."""
        cdef Series* sr
        cdef Py_ssize_t i
        cdef int r
        cdef bint stale
        cdef int64_t horizon = now_ns - max_staleness_ns
        out = []
        for r in range(self.nrules):
            sr = &self.series[r]
            stale = False
            self._close_interval(r, now_ns)
            if cumulative and max_staleness_ns:
                for i in range(<Py_ssize_t>sr.keys.n):
                    stale |= sr.acc[i].seen_ns < horizon
                if stale:
                    self._drop_stale(r, horizon)
            out.append(self._points(r))
        if not cumulative:
            self._new_series()
        return out

    def pop_overflowed(self):
        """Per rule, the records of new series folded into the overflow series since the last call."""
        out = [self.series[r].overflowed for r in range(self.nrules)]
        for r in range(self.nrules):
            self.series[r].overflowed = 0
        return out

    def absorb(self, list intervals):
        """Merge the twin's intervals (per rule: key -> accumulator list) into the held series, folding as records do."""
        if len(intervals) != self.nrules:
            raise ValueError(f"{len(intervals)} intervals for {self.nrules} rules")
        for r, fresh in enumerate(intervals):
            for key, acc in (<dict>fresh).items():
                self._merge(r, key, acc, SEEN_NOW, True)

    def adopt(self, int r, dict state):
        """Seed rule r's series from the twin's state (key -> [accumulator list, last update time])."""
        if not 0 <= r < self.nrules:
            raise IndexError(f"no rule {r}")
        for key, (acc, seen) in state.items():
            self._merge(r, key, acc, seen, False)

    def export(self, long long now_ns):
        """Per rule, the held series in the twin's state form (key -> [accumulator list, last update time])."""
        out = []
        for r in range(self.nrules):
            self._close_interval(r, now_ns)
            out.append({key: [acc, self.series[r].acc[i].seen_ns]
                        for i, (key, acc) in enumerate(_series_dict(&self.series[r], True).items())})
        return out

    cdef void _close_interval(self, int r, int64_t now_ns) noexcept:
        """Add each series' interval total to its held total, as the twin merges an interval into its
        state (so float sums round alike), and stamp the series updated since the last flush."""
        cdef Series* sr = &self.series[r]
        cdef Acc* a
        cdef Py_ssize_t i
        for i in range(<Py_ssize_t>sr.keys.n):
            a = &sr.acc[i]
            a.held_total += a.total
            a.total = 0.0
            if a.seen_ns == SEEN_NOW:
                a.seen_ns = now_ns

    cdef int _merge(self, int r, tuple key, list acc, int64_t seen, bint fold) except -1:
        """One twin accumulator into rule r's series, as ``aggregate.merge`` folds a later one into an earlier.

        ``fold``: an interval's, folded past the cardinality limit; else a held state's, as it is.
        """
        cdef Series* sr = &self.series[r]
        cdef bytes kb = _encode_key(key)
        cdef const char* k = kb
        cdef Py_ssize_t klen = len(kb), j
        cdef int added
        cdef int64_t i = series_find(sr, k, klen, fp_table_hash(&sr.keys, k, klen),
                                     self.crules[r].limit if fold else NO_LIMIT, acc[0], &added)
        cdef Acc* a
        if i < 0:
            raise MemoryError()
        if added:
            acc_init(sr, i, acc[5])
        a = &sr.acc[i]
        a.count += acc[0]
        if fold:
            a.total += acc[1]
        else:
            a.held_total += acc[1]
        a.last = acc[2]
        a.vmin = min(a.vmin, <double>acc[3])
        a.vmax = max(a.vmax, <double>acc[4])
        a.last_ns = acc[6]
        a.seen_ns = seen
        for j in range(sr.nb):
            sr.buckets[i * sr.nb + j] += acc[7 + j]
        return 0

    cdef int _drop_stale(self, int r, int64_t horizon) except -1:
        """Rebuild rule r's table without the series last seen before ``horizon``."""
        cdef Series* sr = &self.series[r]
        cdef Series kept
        cdef Py_ssize_t i, nb = sr.nb
        cdef int64_t j
        cdef int added
        if series_init(&kept, sr.nb) < 0:
            raise MemoryError()
        kept.overflowed = sr.overflowed
        for i in range(<Py_ssize_t>sr.keys.n):
            if sr.acc[i].seen_ns < horizon:
                continue
            j = fp_table_find_or_add(&kept.keys, sr.keys.arena + sr.keys.key_off[i], sr.keys.key_len[i], &added)
            if j < 0 or series_reserve(&kept, j + 1) < 0:
                series_free(&kept)
                raise MemoryError()
            kept.acc[j] = sr.acc[i]
            memcpy(kept.buckets + j * nb, sr.buckets + i * nb, nb * sizeof(int64_t))
            kept.attrs[j] = sr.attrs[i]  # the reference moves
            sr.attrs[i] = NULL
        series_free(sr)
        sr[0] = kept
        return 0

    cdef list _points(self, int r):
        """Rule r's series as points, each with its attribute map (made once per series and kept)."""
        cdef Series* sr = &self.series[r]
        cdef RuleC* rc = &self.crules[r]
        cdef fp_table* t = &sr.keys
        cdef tuple names = self.rules[r].dim_names
        cdef tuple bounds = self.rules[r].bounds
        cdef Py_ssize_t i, j
        cdef Acc* a
        cdef dict attrs
        cdef list counts
        cdef list out = PyList_New(t.n)
        for i in range(<Py_ssize_t>t.n):
            if sr.attrs[i] == NULL:
                attrs = _key_attributes(names, <const unsigned char*>t.arena + t.key_off[i], t.key_len[i])
                Py_INCREF(attrs)
                sr.attrs[i] = <PyObject*>attrs
            else:
                attrs = <dict>sr.attrs[i]
            a = &sr.acc[i]
            if rc.kind == KIND_HISTOGRAM:
                counts = PyList_New(sr.nb)
                for j in range(sr.nb):
                    _set(counts, j, sr.buckets[i * sr.nb + j])
                point = histogram_point(attrs, a.last_ns, a.count, a.held_total, bounds, counts, a.first_ns, a.vmin,
                                        a.vmax)
            elif rc.kind == KIND_GAUGE:
                point = number_point(attrs, a.last_ns, a.last, 0)
            elif rc.value_slot < 0:
                point = number_point(attrs, a.last_ns, a.count, a.first_ns)
            else:
                point = number_point(attrs, a.last_ns, a.held_total, a.first_ns)
            _set(out, i, point)
        return out


cdef bytes _encode_key(tuple key):
    """The twin's key tuple as the scanner's key bytes."""
    if key == OVERFLOW_KEY:
        return b"\x02"
    out = bytearray()
    for value in key:
        if value is None:
            out.append(0)
        else:
            text = (<str>value).encode("utf-8", "surrogatepass")
            out.append(1)
            out += len(text).to_bytes(4, "little")
            out += text
    return bytes(out)


cdef dict _key_attributes(tuple names, const unsigned char* k, Py_ssize_t n):
    """A series' attribute map from its key bytes, as ``aggregate.attributes`` makes it from the tuple."""
    cdef tuple key = _decode_key(k, n)
    cdef dict out = {}
    cdef Py_ssize_t j
    if key is OVERFLOW_KEY:
        out["otel.metric.overflow"] = "true"
        return out
    for j in range(min(len(names), len(key))):
        if key[j] is not None:
            out[names[j]] = key[j]
    return out


cdef dict _series_dict(Series* s, bint held):
    """The twin's accumulator lists (with the held totals when ``held``), keyed by the decoded dimension tuples."""
    cdef dict out = {}
    cdef Py_ssize_t i, j
    cdef Acc* a
    cdef fp_table* t = &s.keys
    cdef list acc
    cdef int64_t* buckets
    for i in range(<Py_ssize_t>t.n):
        a = &s.acc[i]
        acc = PyList_New(7 + s.nb)
        _set(acc, 0, a.count)
        _set(acc, 1, a.held_total if held else a.total)
        _set(acc, 2, a.last)
        _set(acc, 3, a.vmin)
        _set(acc, 4, a.vmax)
        _set(acc, 5, a.first_ns)
        _set(acc, 6, a.last_ns)
        buckets = s.buckets + i * s.nb
        for j in range(s.nb):
            _set(acc, 7 + j, buckets[j])
        out[_decode_key(<const unsigned char*>t.arena + t.key_off[i], t.key_len[i])] = acc
    return out


cdef inline void _set(list items, Py_ssize_t i, object value):
    Py_INCREF(value)  # PyList_SET_ITEM steals a reference
    PyList_SET_ITEM(items, i, value)


cdef class KeyTable:
    """The series key table on its own, for tests; ``hash_bits`` below 64 forces collisions."""

    cdef fp_table t

    def __cinit__(self, int hash_bits=64):
        cdef uint64_t mask = <uint64_t>-1 if hash_bits >= 64 else ((<uint64_t>1 << hash_bits) - 1)
        if fp_table_init(&self.t, _seed(), mask) < 0:
            raise MemoryError()

    def __dealloc__(self):
        fp_table_free(&self.t)

    def add(self, bytes key):
        """(index, added): the key's index, given in insertion order, and whether it was new."""
        cdef int added
        cdef int64_t i = fp_table_find_or_add(&self.t, key, len(key), &added)
        if i < 0:
            raise MemoryError()
        return i, bool(added)

    def __len__(self):
        return self.t.n

    def keys(self):
        """Every key, by index."""
        return [PyBytes_FromStringAndSize(self.t.arena + self.t.key_off[i], self.t.key_len[i])
                for i in range(self.t.n)]
