# The point constructors, shared with the scanner's held series (``_scan.pyx``).

cdef object number_point(dict attributes, object time_ns, object value, object start_time_ns)
cdef object histogram_point(dict attributes, object time_ns, object count, object total, tuple bounds,
                            list bucket_counts, object start_time_ns, object vmin, object vmax)
