"""Runners: execute an emitted folder headless on OpenGL (`gl`), WebGL2 in Chromium (`webgl`),
Vulkan and WebGPU (`vulkan`)."""
