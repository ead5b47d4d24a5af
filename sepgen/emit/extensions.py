"""The API extensions or device features a target needs for its passes' formats, from what its
descriptor declares (`sepgen.targets`: `Target.needs`). For a GLSL ES 3.00 (WebGL2 / GLES 3) target:

ES 3.00 core can neither render to float targets nor filter or blend 32-bit float ones, and
sepgen's intermediates and output are float. What each pass does decides what it needs:

- `EXT_color_buffer_float`: render to RGBA32F (on WebGL2 it also covers RGBA16F);
- `EXT_color_buffer_half_float`: render to RGBA16F (`--precision fp16`, GLES 3);
- `OES_texture_float_linear`: sample RGBA32F with linear filtering (`--linear-sampling`);
- `EXT_float_blend`: additive blending into RGBA32F (`--strategy per-component`, rank > 8);
- `--output-format r11g11b10f`: `EXT_color_buffer_float` (R11F_G11F_B10F is renderable with it).

They are enabled by the application (`gl.getExtension` in WebGL2), not by `#extension` lines.
WGSL (WebGPU) renders to float targets in core but needs the device features
`float32-filterable` (linear sampling of rgba32f) and `float32-blendable` (additive blending
into rgba32f), and `rg11b10ufloat-renderable` for an rg11b10ufloat output (`--output-format`).
Desktop GL 3.3+, Direct3D 11 and Vulkan (SPIR-V) list nothing.

The source counts as rgba32f: the format is the engine's, sepgen's runners upload float32,
and an HDR source is float32; so a pass sampling the source linearly (fp16 intermediates
with linear sampling) lists the float32 linear extension / feature too. An engine whose
source is 8-bit or half float may leave it out.

WebGPU limits (`required_limits`): what the passes need beyond WebGPU's default limits, by
WebGPU's limit names (the manifest's `limits`; a browser grants a device only what it asks
for). sepgen keeps the plan the same on every target, so fetch counts and budgets agree:
rather than splitting a horizontal pass into groups that fit the defaults (every group would
fetch the source again), a filter whose first pass writes more targets than the defaults
allow declares the limit (fp32 MRT at rank >= 3: 16 bytes per target against 32 per sample;
compute at rank >= 5: one storage texture per component against 4 per stage). Compute
workgroups are planned within the default 256 invocations and 16 KiB of workgroup memory.
"""

from __future__ import annotations

from ..common.webgpu import WEBGPU_DEFAULT_LIMITS
from ..options import EmitOptions
from ..plan.passmodel import Pass
from ..targets import Feature

__all__ = ["required_extensions", "required_limits", "header_note", "WEBGPU_DEFAULT_LIMITS"]

SOURCE_FORMAT = "rgba32f"  # what the source counts as (the module doc)
# a colour target's cost in maxColorAttachmentBytesPerSample (WebGPU's table: rg11b10ufloat counts 8)
BYTES_PER_SAMPLE = {"rgba32f": 16, "rgba16f": 8, "r11g11b10f": 8}


def required_extensions(options: EmitOptions, passes: list[Pass] | tuple[Pass, ...]) -> tuple[str, ...]:
    """Sorted extension (GLSL ES) or feature (WebGPU) names the passes need on `options`' target
    (what its descriptor declares: `Target.needs`)."""
    feature = options.target.feature_for(options.to_dict())
    if feature is None:
        return ()
    render = {feature.render[o.format] for p in passes for o in p.outputs if o.format in feature.render}
    return tuple(sorted(render | _float32_needs(passes, feature)))


def header_note(options: EmitOptions, names: tuple[str, ...] | list[str]) -> str:
    """The shader header's line saying what to enable for `names`."""
    feature = options.target.feature_for(options.to_dict())
    template = feature.header if feature is not None else "needs {names}"
    return template.format(names=", ".join(names))


def required_limits(options: EmitOptions, passes: list[Pass] | tuple[Pass, ...]) -> dict[str, int]:
    """WebGPU limits above the defaults that the passes need (name -> value; empty for targets
    that do not run under WebGPU's limits)."""
    if options.target.runner_for(options.to_dict()) != "webgpu":
        return {}
    need: dict[str, int] = {}
    for p in passes:
        used = {"maxSampledTexturesPerShaderStage": len(p.inputs),
                "maxSamplersPerShaderStage": sum(1 for i in p.inputs if i.sampler)}
        if p.is_compute:
            wg = tuple(p.workgroup_size or (1, 1))
            used.update(maxStorageTexturesPerShaderStage=len(p.outputs), maxComputeWorkgroupSizeX=wg[0],
                        maxComputeWorkgroupSizeY=wg[1], maxComputeInvocationsPerWorkgroup=wg[0] * wg[1],
                        maxComputeWorkgroupStorageSize=p.workgroup_storage)
        else:
            used.update(maxColorAttachments=len(p.outputs),
                        maxColorAttachmentBytesPerSample=sum(BYTES_PER_SAMPLE[o.format] for o in p.outputs))
        for name, value in used.items():
            if value > WEBGPU_DEFAULT_LIMITS[name]:
                need[name] = max(need.get(name, 0), value)
    return dict(sorted(need.items()))


def _float32_needs(passes: list[Pass] | tuple[Pass, ...], feature: Feature) -> set[str]:
    """Its `linear` if a pass samples an rgba32f texture (the source included) with linear
    filtering, `blend` if a fragment pass adds into an rgba32f target."""
    written = {o.texture: o.format for p in passes for o in p.outputs}
    written["source"] = SOURCE_FORMAT
    need = set()
    for p in passes:
        if p.blend == "additive" and any(o.format == "rgba32f" for o in p.outputs):
            need.add(feature.blend)
        if any(i.filter == "linear" and written.get(i.texture) == "rgba32f" for i in p.inputs):
            need.add(feature.linear)
    return need
