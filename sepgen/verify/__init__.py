"""Verification: emitted shaders run on every runner and compared with the float64 NumPy
reference (`check`), worker processes (`jobs`), emit-and-run of one filter (`runfilter`)."""
