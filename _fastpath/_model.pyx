# cython: language_level=3, boundscheck=False, wraparound=False
"""The internal model's slotted dataclasses, built and read slot by slot from compiled code.

The OTLP metrics codec (``_otlp_metrics``) and the logs_to_metrics point
builders (``_points``) make and read thousands of points per call; through
the slots' offsets, found here at import from each dataclass's fields,
rather than ``__init__`` and attribute lookups, that was a third of the
codec's cost in either direction.

An instance or list that holds no object the garbage collector tracks is left
untracked, as CPython leaves such tuples and dicts: it cannot be part of a
reference cycle, and thousands of points traversed again by every collection
cost a quarter of a codec round trip in a running collector. The model's enum
members count as untracked: module-level singletons that reference no model
object. Whoever later stores a container in one (the model is read-only once
shared) at worst makes a cycle through it uncollectable, never unsafe.
"""

import dataclasses

cimport cython

from cpython.object cimport PyObject, PyTypeObject
from cpython.ref cimport Py_INCREF
from cpython.tuple cimport PyTuple_GET_ITEM, PyTuple_GET_SIZE, PyTuple_New, PyTuple_SET_ITEM

cdef extern from "Python.h":
    ctypedef struct PyMemberDef:
        int type
        Py_ssize_t offset
    ctypedef struct PyMemberDescrObject:
        PyMemberDef* d_member
    object PyType_GenericAlloc(PyTypeObject*, Py_ssize_t)
    bint PyObject_IS_GC(object)
    bint PyObject_GC_IsTracked(object)
    void PyObject_GC_UnTrack(void*)

cdef extern from "structmember.h":
    int T_OBJECT_EX

from collector.pdata.metrics import MetricType, Temporality

cdef tuple _SINGLETONS = tuple(MetricType) + tuple(Temporality)


cdef inline bint _tracked(object value):
    """Whether ``value`` is an object the cyclic collector must see through a model object."""
    cdef object singleton
    if not (PyObject_IS_GC(value) and PyObject_GC_IsTracked(value)):
        return False
    for singleton in _SINGLETONS:
        if value is singleton:
            return False
    return True


@cython.final
cdef class Shape:
    """One model class: where each of its fields' slots lies in an instance, in ``__init__`` order."""

    def __init__(self, cls):
        names = tuple(f.name for f in dataclasses.fields(cls))
        if tuple(cls.__slots__) != names or len(names) > 16:
            raise ImportError(f"{cls.__name__}'s slots {cls.__slots__} are not its fields {names}")
        for i, name in enumerate(names):
            d = cls.__dict__[name]
            if type(d).__name__ != "member_descriptor" or (<PyMemberDescrObject*>d).d_member.type != T_OBJECT_EX:
                raise ImportError(f"{cls.__name__}.{name} is not a slot")
            self.offsets[i] = (<PyMemberDescrObject*>d).d_member.offset
        self.cls, self.names, self.n = cls, names, len(names)

    cdef object make(self, tuple values):
        """A new instance holding ``values``, one per field."""
        cdef object out = PyType_GenericAlloc(<PyTypeObject*>self.cls, 0)
        cdef PyObject* v
        cdef Py_ssize_t i
        cdef bint tracked = False
        if PyTuple_GET_SIZE(values) != self.n:
            raise ValueError(f"{self.cls.__name__} takes {self.n} values, not {len(values)}")
        for i in range(self.n):
            v = PyTuple_GET_ITEM(values, i)
            Py_INCREF(<object>v)
            (<PyObject**>(<char*><PyObject*>out + self.offsets[i]))[0] = v
            tracked = tracked or _tracked(<object>v)
        if not tracked:
            PyObject_GC_UnTrack(<PyObject*>out)
        return out

    cdef tuple fields(self, object obj):
        """The values of ``obj``'s fields; any object with those attributes will do."""
        cdef PyObject* v
        cdef Py_ssize_t i
        cdef tuple out
        if type(obj) is not self.cls:
            return tuple([getattr(obj, name) for name in self.names])
        out = PyTuple_New(self.n)
        for i in range(self.n):
            v = (<PyObject**>(<char*><PyObject*>obj + self.offsets[i]))[0]
            if v is NULL:
                raise AttributeError(f"{self.cls.__name__} has no {self.names[i]}")
            Py_INCREF(<object>v)
            PyTuple_SET_ITEM(out, i, <object>v)
        return out


cdef object untracked(object container):
    """``container`` (a new list or tuple), untracked when none of its items is tracked."""
    cdef object item
    for item in container:
        if _tracked(item):
            return container
    PyObject_GC_UnTrack(<PyObject*>container)
    return container
