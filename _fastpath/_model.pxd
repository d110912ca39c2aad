# Model objects (collector.pdata.metrics dataclasses) built and read slot by slot; see _model.pyx.

cimport cython


@cython.final
cdef class Shape:
    cdef object cls
    cdef tuple names
    cdef Py_ssize_t n
    cdef Py_ssize_t offsets[16]

    cdef object make(self, tuple values)
    cdef tuple fields(self, object obj)


cdef object untracked(object container)
