"""The filter file (`sepgen-filter/1`, the contract between fitting and everything after it)
and what reads it in NumPy: metrics, the float64 reference convolution and the scaled-tap model."""
