"""The descriptor-set layout WGSL and SPIR-V passes share (docs/targets.md), as resource fields.

Set (WGSL @group) 0: sampled texture k at binding k, its sampler (linear passes) at
SAMPLER_BASE + k, a compute pass's storage texture k at STORAGE_BASE + k, the scale uniform
buffer of scaled passes at UNIFORM_BASE; `--descriptor-set` and `--binding-offset` move all of
them to another set and add the offset to every number. A rank is at most 64, so the ranges
never meet; HLSL's t/s/u registers map to the same numbers through
glslang's binding shifts (sepgen.common.tools).
"""

from __future__ import annotations

import dataclasses

from ..common.tools import SAMPLER_BASE, STORAGE_BASE, UNIFORM_BASE
from ..plan.passmodel import Pass

__all__ = ["vulkan_bindings", "SAMPLER_BASE", "STORAGE_BASE", "UNIFORM_BASE"]


def vulkan_bindings(p: Pass, set_: int = 0, offset: int = 0) -> Pass:
    """`p` with set `set_` and the shared binding numbers plus `offset` on every input and compute output."""
    inputs = tuple(dataclasses.replace(i, set=set_, binding=offset + i.binding,
                                       sampler_binding=offset + SAMPLER_BASE + i.binding if i.sampler else None)
                   for i in p.inputs)
    if not p.is_compute:
        return dataclasses.replace(p, inputs=inputs)
    outputs = tuple(dataclasses.replace(o, set=set_, binding=offset + STORAGE_BASE + o.location) for o in p.outputs)
    return dataclasses.replace(p, inputs=inputs, outputs=outputs)
