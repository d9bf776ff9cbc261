"""Pure numeric kernels (numba): no I/O, no framework imports."""
