"""Runners: execute an emitted folder headless on OpenGL (`gl`), WebGL2 in Chromium (`webgl`),
raw Vulkan (`vulkan`) and WebGPU (`webgpu`).

`program.load(folder)` reads a folder once (manifest, pass files, path checks) into the
`Program` every runner takes; `registry.make(name)` makes a runner; every runner has the
`registry.Runner` interface: `device` and `run(program, img, scale=None)`.
"""
