"""Plumbing every stage shares: errors and exit codes, atomic writes, identifiers, the
deterministic JSON writer, image I/O and the external tools (glslang, spirv-cross, spirv-val,
Chromium)."""
