"""The pass plan, below both fitting and emit: which texels each pass reads (`taps`, with
`bilinear` choosing point and shared bilinear reads), the fetch counts a budget fit and the
emitted manifest agree on, the typed passes built from a plan (`planner`) and the pass model
an emitted folder holds (`passmodel`, serialised as `manifest.json`, the contract between
emitting and running). NumPy only; never imports emit, fitting or a filter file."""
