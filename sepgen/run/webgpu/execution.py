"""One `GpuProgram` on one WebGPU device for one image size: textures, pipelines, bind groups.

Layouts are explicit, built from each pass's declared bindings (not derived from the
shader), so a shader whose resources disagree with its manifest fails at pipeline
creation instead of silently reading something else; a declared binding the shader never
reads (a pass whose taps are all zero) is harmless.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ...common.errors import SepgenError
from ..program import UNIFORM_BYTES
from ..vulkan.program import BYTES_PER_TEXEL, WGPU_FORMATS, Binding, GpuPass, GpuProgram, Shader, decode_texels
from .messages import validator_message


def layout_entry(b: Binding, visibility: int, where: str, formats: dict[str, str], features: Any) -> dict[str, Any]:
    """The bind-group layout entry of one declared binding (explicit, never derived from the shader)."""
    linear = b.filter == "linear"
    if b.kind == "sampler":
        return {"binding": b.binding, "visibility": visibility,
                "sampler": {"type": "filtering" if linear else "non-filtering"}}
    if b.kind == "uniform":
        return {"binding": b.binding, "visibility": visibility, "buffer": {"type": "uniform"}}
    if b.texture not in formats:
        raise SepgenError(f"{where}: binding {b.binding} uses unknown texture {b.texture!r}")
    if b.kind == "texture":
        if linear and formats[b.texture] == "rgba32f" and "float32-filterable" not in features:
            raise SepgenError(f"{where}: linear sampling of rgba32f needs the WebGPU feature float32-filterable, "
                              "which the manifest's extensions do not list")
        sample = "float" if linear else "unfilterable-float"
        return {"binding": b.binding, "visibility": visibility,
                "texture": {"sample_type": sample, "view_dimension": "2d-array" if b.array else "2d"}}
    if b.kind == "storage":
        access = {"write": "write-only", "read_write": "read-write"}[b.access]
        return {"binding": b.binding, "visibility": visibility,
                "storage_texture": {"access": access, "format": WGPU_FORMATS[formats[b.texture]],
                                    "view_dimension": "2d"}}
    raise SepgenError(f"{where}: unknown binding kind {b.kind!r}")


NO_STORAGE = ("r11g11b10f",)  # rg11b10ufloat cannot be a WebGPU storage texture


class Execution:
    """Build once, then `upload`, `execute`, `read`."""

    def __init__(self, device: Any, features: tuple[str, ...], shader_module: Callable[[Shader], Any],
                 program: GpuProgram, width: int, height: int) -> None:
        """`device`: a wgpu device with exactly the `features` it was given; `shader_module`
        compiles a `Shader` on it (the runner's, which turns a rejection into one line)."""
        import wgpu

        self.wgpu, self.device, self.features, self.shader_module = wgpu, device, features, shader_module
        self.program, self.width, self.height = program, int(width), int(height)
        for name in (program.source, program.output):
            if name not in program.textures:
                raise SepgenError(f"texture {name!r} is used but not declared")
        # The source is always uploaded as rgba32f, whatever format an engine would use.
        self.formats = {n: ("rgba32f" if n == program.source else f) for n, f in program.textures.items()}
        self.textures = {n: self._texture(n, f) for n, f in self.formats.items()}
        # the scale of scaled passes; bound by every pass that declares a uniform binding
        self.uniform = self.device.create_buffer(label="scale", size=UNIFORM_BYTES,
                                                 usage=wgpu.BufferUsage.UNIFORM | wgpu.BufferUsage.COPY_DST)
        self.steps = [self._build(p) for p in program.passes]

    def _texture(self, name: str, fmt: str) -> Any:
        if fmt not in WGPU_FORMATS:
            raise SepgenError(f"texture {name!r}: format {fmt!r} is not one of {', '.join(WGPU_FORMATS)}")
        usage = self.wgpu.TextureUsage
        return self.device.create_texture(
            label=name, size=(self.width, self.height, self.program.layers.get(name, 1)), format=WGPU_FORMATS[fmt],
            usage=(usage.TEXTURE_BINDING | usage.RENDER_ATTACHMENT | usage.COPY_SRC | usage.COPY_DST
                   | (0 if fmt in NO_STORAGE else usage.STORAGE_BINDING)))

    def _target_view(self, name: str, layer: int | None) -> Any:
        """A colour attachment: the texture, or one layer of an array texture."""
        if layer is None:
            return self.textures[name].create_view()
        return self.textures[name].create_view(dimension="2d", base_array_layer=layer, array_layer_count=1)

    def _resource(self, b: Binding) -> Any:
        if b.kind == "sampler":
            mode = "linear" if b.filter == "linear" else "nearest"
            return self.device.create_sampler(address_mode_u="clamp-to-edge", address_mode_v="clamp-to-edge",
                                              mag_filter=mode, min_filter=mode)
        if b.kind == "uniform":
            return {"buffer": self.uniform, "offset": 0, "size": UNIFORM_BYTES}
        assert b.texture is not None  # texture and storage bindings name their texture (folder.py)
        if b.array:
            return self.textures[b.texture].create_view(dimension="2d-array")
        return self.textures[b.texture].create_view()

    def _bind_groups(self, p: GpuPass, visibility: int) -> tuple[list[Any], list[Any]]:
        where = f"pass {p.name!r}"
        groups = sorted({b.group for b in p.bindings})
        layouts, bind_groups = [], []
        for g in range(max(groups, default=-1) + 1):
            mine = sorted((b for b in p.bindings if b.group == g), key=lambda b: b.binding)
            entries = [layout_entry(b, visibility, where, self.formats, self.features) for b in mine]
            layout = self.device.create_bind_group_layout(entries=entries)
            layouts.append(layout)
            bind_groups.append(self.device.create_bind_group(
                layout=layout, entries=[{"binding": b.binding, "resource": self._resource(b)} for b in mine]))
        return layouts, bind_groups

    # -- pipelines ------------------------------------------------------------------------
    def _build(self, p: GpuPass) -> tuple[GpuPass, Any, list[Any]]:
        stage = self.wgpu.ShaderStage
        compute = p.compute is not None
        if not compute and (p.vertex is None or p.fragment is None or not p.targets):
            raise SepgenError(f"pass {p.name!r} needs a compute shader, or vertex and fragment shaders and targets")
        layouts, bind_groups = self._bind_groups(p, stage.COMPUTE if compute else stage.FRAGMENT)
        layout = self.device.create_pipeline_layout(bind_group_layouts=layouts)
        try:
            pipeline = self._compute_pipeline(p, layout) if compute else self._render_pipeline(p, layout)
        except SepgenError:
            raise
        except Exception as exc:  # GPUValidationError: the shader's interface disagrees with the bindings
            raise SepgenError(f"pass {p.name!r}: pipeline rejected: {validator_message(str(exc))}") from None
        return p, pipeline, bind_groups

    def _compute_pipeline(self, p: GpuPass, layout: Any) -> Any:
        assert p.compute is not None  # called for compute passes only
        module = self.shader_module(p.compute)
        return self.device.create_compute_pipeline(
            layout=layout, compute={"module": module, "entry_point": p.compute.entry})

    def _render_pipeline(self, p: GpuPass, layout: Any) -> Any:
        if p.blend not in ("none", "additive"):
            raise SepgenError(f"pass {p.name!r}: blend {p.blend!r} is not valid for a fragment pass")
        add = {"src_factor": "one", "dst_factor": "one", "operation": "add"}
        blend = {"color": add, "alpha": add} if p.blend == "additive" else None
        for t in p.targets:
            if t not in self.formats:
                raise SepgenError(f"pass {p.name!r}: unknown target texture {t!r}")
            if blend and self.formats[t] == "rgba32f" and "float32-blendable" not in self.features:
                raise SepgenError(f"pass {p.name!r}: additive blending into rgba32f needs the WebGPU feature "
                                  "float32-blendable, which the manifest's extensions do not list")
        targets = [{"format": WGPU_FORMATS[self.formats[t]], "blend": blend, "write_mask": self.wgpu.ColorWrite.ALL}
                   for t in p.targets]
        assert p.vertex is not None and p.fragment is not None  # a pass without compute has both (folder.py)
        vertex, fragment = self.shader_module(p.vertex), self.shader_module(p.fragment)
        return self.device.create_render_pipeline(
            layout=layout,
            vertex={"module": vertex, "entry_point": p.vertex.entry, "buffers": []},
            primitive={"topology": "triangle-list", "cull_mode": "none"},
            fragment={"module": fragment, "entry_point": p.fragment.entry, "targets": targets})

    # -- running --------------------------------------------------------------------------
    def upload(self, rgba: np.ndarray, name: str | None = None) -> None:
        """Float32 H×W×4 data into the source texture (or into texture `name`, an rgba32f one)."""
        data = np.ascontiguousarray(rgba, dtype=np.float32)
        if data.shape != (self.height, self.width, 4):
            raise SepgenError(f"image is {data.shape[1]}x{data.shape[0]}, "
                              f"the program was built for {self.width}x{self.height}")
        self.device.queue.write_texture({"texture": self.textures[name or self.program.source]}, data,
                                        {"bytes_per_row": self.width * 16, "rows_per_image": self.height},
                                        (self.width, self.height, 1))

    def write_uniform(self, data: bytes) -> None:
        """The scale uniform buffer's contents (`program.scale_inputs`)."""
        self.device.queue.write_buffer(self.uniform, 0, data)

    def execute(self) -> None:
        encoder = self.device.create_command_encoder()
        for p, pipeline, bind_groups in self.steps:
            if p.compute is not None:
                cp = encoder.begin_compute_pass()
                cp.set_pipeline(pipeline)
                for g, bg in enumerate(bind_groups):
                    cp.set_bind_group(g, bg)
                gx, gy = p.workgroup
                cp.dispatch_workgroups(math.ceil(self.width / gx), math.ceil(self.height / gy), 1)
                cp.end()
                continue
            load = "load" if p.blend == "additive" else "clear"
            layers = p.target_layers or (None,) * len(p.targets)
            attachments = [{"view": self._target_view(t, layer), "load_op": load, "store_op": "store",
                            "clear_value": (0, 0, 0, 0)} for t, layer in zip(p.targets, layers)]
            rp = encoder.begin_render_pass(color_attachments=attachments)
            rp.set_pipeline(pipeline)
            for g, bg in enumerate(bind_groups):
                rp.set_bind_group(g, bg)
            rp.draw(3, 1, 0, 0)
            rp.end()
        self.device.queue.submit([encoder.finish()])

    def read(self, name: str | None = None) -> np.ndarray:
        """A texture (the output by default) as float32 H×W×4."""
        name = name or self.program.output
        fmt = self.formats[name]
        data = self.device.queue.read_texture(
            {"texture": self.textures[name]},
            {"bytes_per_row": self.width * BYTES_PER_TEXEL[fmt], "rows_per_image": self.height},
            (self.width, self.height, 1))
        return decode_texels(data, fmt, self.height, self.width)
