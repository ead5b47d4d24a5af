"""The typed pass model: what an emitted shader folder holds and how to wire it.

`manifest.json` (docs/manifest.md) is the serialisation of a `Manifest`; the
emit planner builds these objects, the templates read their attributes and the
GL runner executes a `Manifest` it got from `load()`. It is the contract between
emit and run, as the filter file is between fit and emit. NumPy-free.

    Manifest ─ files: ShaderFile…   (path, lang, stage, entry point)
             ─ textures: Texture…   (source / intermediate / output, format)
             ─ passes: Pass…        (program files, PassInput… → PassOutput…, blend)

Resources grow by fields, not by reshaping: a new target's binding scheme
(WGSL `@group`, Vulkan `set`) is a new optional field on `PassInput`/`PassOutput`
that `to_dict` writes only when set, so existing manifests keep their bytes.
Fields marked `SHADER_SIDE` are names and taps only the templates read; they are
not serialised and are empty after `load()`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..common.errors import SepgenError
from ..common.jsonfmt import dumps

FORMAT = "sepgen-manifest/1"
SCALE_TEXTURE = "scale"  # the per-pixel scale map of scaled passes (scale source "texture")
SCALE_UNIFORM = "u_scale"  # the scale of scaled passes (scale source "uniform")
MANIFEST = "manifest.json"
TEXTURE_FORMATS = ("rgba32f", "rgba16f", "r11g11b10f")  # r11g11b10f: the output only (--output-format)
TEXEL_BYTES = {"rgba32f": 16, "rgba16f": 8}  # bytes one texel of each intermediate format holds
SHADER_SIDE = {"manifest": False}  # field metadata: template-only, not in manifest.json
RGB = "rgb"
Packing = tuple[tuple[int, int] | None, ...]  # channels="rgb": (component slot, channel 0-2) of each RGBA channel


def packed_layout(n: int) -> list[Packing]:
    """channels="rgb": n components' RGB packed into ceil(3n/4) RGBA textures, component slot s's
    channel c at flat channel 3s + c (texture (3s + c) // 4); the last texture's spare channels None."""
    flat: list[tuple[int, int] | None] = [(s, c) for s in range(n) for c in range(3)]
    count = -(-len(flat) // 4)
    flat += [None] * (4 * count - len(flat))
    return [tuple(flat[4 * j:4 * j + 4]) for j in range(count)]


def intermediate_texels(rank: int, channels: str = "rgba", group: int = 8) -> int:
    """Intermediate textures (texels per pixel) of a rank: one per component, or with channels="rgb"
    ceil(3n/4) per MRT group of n components (`group` components per pass pair)."""
    if channels != RGB:
        return rank
    sizes = [min(group, rank - s) for s in range(0, rank, group)]
    return sum(-(-3 * n // 4) for n in sizes)

__all__ = ["RGB", "packed_layout", "intermediate_texels",
           "FORMAT", "MANIFEST", "SCALE_TEXTURE", "SCALE_UNIFORM", "TEXTURE_FORMATS", "TEXEL_BYTES",
           "intermediate_bytes", "Term", "Fetch", "Texture", "PassInput", "PassOutput",
           "Pass", "ShaderFile", "ScaleEntry", "Manifest", "load", "parse"]


def intermediate_bytes(fmt: str, written: int, fetched: int) -> dict[str, int]:
    """Intermediate memory traffic per output pixel: {"written", "read"} bytes.

    `written`: intermediate textures written (one texel each per pixel); `fetched`: fetches of
    intermediates (each reads one texel's worth, a bilinear fetch too). "written" is also the
    intermediates' memory per pixel of the image (what `--max-intermediate-bytes` caps)."""
    size = TEXEL_BYTES[fmt]
    return {"written": written * size, "read": fetched * size}


def _doc(obj: Any, always: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict[str, Any]:
    """The manifest object of `obj`: `always` keys as they are, then `optional` ones unless None.

    A new target's resource field (WGSL group, Vulkan set) goes into `optional`."""
    out = {k: getattr(obj, k) for k in always}
    out.update({k: getattr(obj, k) for k in optional if getattr(obj, k) is not None})
    return out


@dataclass(frozen=True)
class Term:
    slot: int  # output slot (a component's position within its pass)
    weight: float  # float32 value


@dataclass(frozen=True)
class Fetch:
    """One texture read and the (slot, weight) terms that use it."""

    input: int  # which of the pass's input textures
    offset: float  # texel offset along the pass direction; integral for point fetches
    linear: bool
    terms: tuple[Term, ...]


@dataclass(frozen=True)
class Texture:
    name: str
    role: str  # "input" | "intermediate" | "output" | "scale" (per-pixel scales, red channel)
    format: str | None = None  # None for the input: engines upload what they have
    component: int | None = None  # intermediates: which separable component they hold
    # channels="rgb" intermediates: [component, "r" | "g" | "b"] of each RGBA channel (None: unused)
    channels: tuple[tuple[int, str] | None, ...] | None = None
    layers: int | None = None  # intermediates="array": one 2D array texture, layer k = component k

    def to_dict(self) -> dict[str, Any]:
        doc = _doc(self, ("role",), ("format", "component", "layers"))
        if self.channels is not None:
            doc["channels"] = [None if c is None else list(c) for c in self.channels]
        return doc


@dataclass(frozen=True)
class PassInput:
    """A texture a pass samples: `binding` is the texture unit / register."""

    texture: str
    uniform: str
    binding: int
    filter: str = "nearest"  # "nearest" | "linear"
    sampler: str | None = None  # separate sampler object (linear passes)
    wrap: str = "clamp_to_edge"
    set: int | None = None  # Vulkan descriptor set / WGSL @group (wgsl, spirv)
    sampler_binding: int | None = None  # the sampler's binding in `set` (wgsl, spirv; linear passes)
    param: str = field(default="", metadata=SHADER_SIDE)  # function parameter name in the include
    fetches: tuple[Fetch, ...] = field(default=(), metadata=SHADER_SIDE)
    packs: Packing = field(default=(), metadata=SHADER_SIDE)  # channels="rgb": what each channel holds
    layers: tuple[int, ...] = field(default=(), metadata=SHADER_SIDE)  # array input: the layer of each fetch input

    def swizzle(self, slot: int) -> list[tuple[str, str]]:
        """channels="rgb": (this texture's channel, the component's channel) pairs of component `slot`."""
        return [("rgba"[i], "rgb"[c[1]]) for i, c in enumerate(self.packs) if c is not None and c[0] == slot]

    @property
    def param_sampler(self) -> str | None:
        return f"{self.param}_sampler" if self.sampler and self.param else None

    def to_dict(self) -> dict[str, Any]:
        return _doc(self, ("texture", "uniform", "binding", "filter", "wrap"), ("sampler", "set", "sampler_binding"))


@dataclass(frozen=True)
class PassOutput:
    """A texture a pass writes: a colour attachment `location`, or an image `binding` (compute)."""

    texture: str
    location: int
    format: str
    component: int | None = None
    binding: int | None = None  # compute passes: image unit / UAV register
    uniform: str | None = None  # compute passes: image uniform
    set: int | None = None  # compute passes: Vulkan descriptor set / WGSL @group (wgsl, spirv)
    layer: int | None = None  # intermediates="array": the layer of `texture` this output writes
    name: str = field(default="", metadata=SHADER_SIDE)  # fragment output variable
    param: str = field(default="", metadata=SHADER_SIDE)  # function parameter name in the include
    packs: Packing = field(default=(), metadata=SHADER_SIDE)  # channels="rgb": what each channel holds

    def packed(self, accumulator: str = "c") -> list[str | None]:
        """channels="rgb": each RGBA channel as `c<slot>.<channel>` of the pass's accumulators (None: unused)."""
        return [None if c is None else f"{accumulator}{c[0]}.{'rgb'[c[1]]}" for c in self.packs]

    @property
    def unit(self) -> int:
        """The image unit of a compute output (its location when no binding is given)."""
        return self.location if self.binding is None else self.binding

    def to_dict(self, compute: bool) -> dict[str, Any]:
        always = ("texture", "location", "component", "format") + (("binding", "uniform") if compute else ())
        return _doc(self, always, ("set", "layer") if compute else ("layer",))


@dataclass(frozen=True)
class Pass:
    """One draw (vertex + fragment) or dispatch (compute), in execution order."""

    index: int
    name: str  # "h0", "v0", ...
    direction: str  # "horizontal" | "vertical"
    components: tuple[int, ...]
    inputs: tuple[PassInput, ...]
    outputs: tuple[PassOutput, ...]
    blend: str = "none"  # "none" | "additive" (fragment) | "accumulate" (compute)
    fetches_per_pixel: int = 0
    vertex: str | None = None
    fragment: str | None = None
    compute: str | None = None
    workgroup_size: tuple[int, ...] | None = None
    # bytes of workgroup (shared) memory a compute pass declares: what WebGPU's limit counts
    workgroup_storage: int = field(default=0, metadata=SHADER_SIDE)
    function: str = field(default="", metadata=SHADER_SIDE)  # the include's function for this pass
    scale: str = field(default="", metadata=SHADER_SIDE)  # scaled taps: "uniform" | "texture"; "" fixed taps

    @property
    def blur_inputs(self) -> tuple[PassInput, ...]:
        """The textures the taps read (every input but the scale map)."""
        return tuple(i for i in self.inputs if i.texture != SCALE_TEXTURE)

    @property
    def scale_input(self) -> PassInput | None:
        """The per-pixel scale texture this pass reads (scale source "texture")."""
        return next((i for i in self.inputs if i.texture == SCALE_TEXTURE), None)

    @property
    def is_compute(self) -> bool:
        return self.compute is not None

    @property
    def horizontal(self) -> bool:
        return self.direction == "horizontal"

    @property
    def accumulate(self) -> bool:
        return self.blend == "accumulate"

    @property
    def fetches(self) -> tuple[Fetch, ...]:
        return tuple(f for i in self.inputs for f in i.fetches)

    @property
    def linear(self) -> bool:
        return any(f.linear for f in self.fetches)

    @property
    def files(self) -> str:
        """The pass's program files, for messages."""
        return self.compute or f"{self.vertex} + {self.fragment}"

    def to_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"index": self.index, "name": self.name, "direction": self.direction,
                               "components": list(self.components)}
        if self.is_compute:
            doc["compute"] = self.compute
            doc["workgroup_size"] = list(self.workgroup_size or ())
        else:
            doc["vertex"] = self.vertex
            doc["fragment"] = self.fragment
        doc["inputs"] = [i.to_dict() for i in self.inputs]
        doc["outputs"] = [o.to_dict(self.is_compute) for o in self.outputs]
        doc["blend"] = self.blend
        doc["fetches_per_pixel"] = self.fetches_per_pixel
        return doc


@dataclass(frozen=True)
class ShaderFile:
    """One emitted file's entry in `files`."""

    path: str
    lang: str
    stage: str  # "vertex" | "fragment" | "compute"
    entry: str | None = None  # entry point; None for includes
    pass_index: int | None = None
    kind: str = "standalone"  # "standalone" | "include" | "source" (the GLSL a .spv was compiled from)

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "lang": self.lang, "stage": self.stage, "entry": self.entry,
                "pass": self.pass_index, "kind": self.kind}


@dataclass(frozen=True)
class ScaleEntry:
    """The manifest's `scale` (scaled taps): where the passes read the scale (docs/manifest.md).

    Source "uniform": the float `uniform`, in uniform block `block` at (`set`,) `binding` where
    the language keeps uniforms in blocks. Source "texture": the red (`channel`) of texture
    `texture`, read through the sampler uniform `uniform`."""

    source: str  # "uniform" | "texture"
    uniform: str
    texture: str | None = None
    channel: str | None = None
    block: str | None = None
    set: int | None = None
    binding: int | None = None
    fitted_scales: tuple[float, ...] | None = None  # the filter's scales (None: fitted without them)

    def to_dict(self) -> dict[str, Any]:
        keys = ("source", "texture", "uniform", "channel") if self.source == "texture" else \
            ("source", "uniform", "block", "set", "binding")
        doc = _doc(self, (), keys)
        doc["fitted_scales"] = None if self.fitted_scales is None else list(self.fitted_scales)
        return doc


@dataclass(frozen=True)
class Manifest:
    files: tuple[ShaderFile, ...]
    textures: tuple[Texture, ...]
    passes: tuple[Pass, ...]
    sepgen: str = ""
    command: str = ""
    filter: str = ""
    rank: int = 0
    kernel_size: tuple[int, int] = (0, 0)
    origin: tuple[int, int] = (0, 0)
    metrics: dict[str, Any] = field(default_factory=dict, compare=False)
    options: dict[str, Any] = field(default_factory=dict, compare=False)
    fetches_per_pixel: dict[str, int] = field(default_factory=dict, compare=False)
    extensions: tuple[str, ...] = ()  # API extensions the target needs (GLSL ES: float targets)
    scale: ScaleEntry | None = field(default=None, compare=False)  # scaled taps: where the scale is read
    intermediate_bytes_per_pixel: dict[str, int] | None = field(default=None, compare=False)  # {"written", "read"}
    limits: dict[str, int] | None = None  # WGSL: WebGPU limits above the defaults the passes need (name -> value)
    structure: str | None = None  # issue 18: written only for a structure other than separable

    def texture(self, role: str) -> Texture:
        return next(t for t in self.textures if t.role == role)

    def file(self, path: str) -> ShaderFile | None:
        return next((f for f in self.files if f.path == path), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "sepgen": self.sepgen,
            "generated": f"generated by sepgen {self.sepgen} - do not edit",
            "command": self.command,
            "filter": self.filter,
            "rank": self.rank,
            "kernel_size": list(self.kernel_size),
            "origin": list(self.origin),
            "metrics": self.metrics,
            "options": self.options,
            "extensions": list(self.extensions),
            **({"limits": self.limits} if self.limits is not None else {}),
            "files": [f.to_dict() for f in sorted(self.files, key=lambda f: f.path)],
            "textures": {t.name: t.to_dict() for t in self.textures},
            "passes": [p.to_dict() for p in self.passes],
            "fetches_per_pixel": self.fetches_per_pixel,
            **({"intermediate_bytes_per_pixel": self.intermediate_bytes_per_pixel}
               if self.intermediate_bytes_per_pixel is not None else {}),
            **({"scale": self.scale.to_dict()} if self.scale is not None else {}),
            **({"structure": self.structure} if self.structure is not None else {}),
        }

    def to_json(self) -> str:
        return dumps(self.to_dict())


def load(out_dir: str | os.PathLike) -> Manifest:
    """Read and validate `out_dir/manifest.json` (one-line SepgenError naming file and key)."""
    path = Path(out_dir) / MANIFEST
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SepgenError(f"{path} does not exist (run `sepgen emit` first)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SepgenError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
    except json.JSONDecodeError as exc:
        raise SepgenError(f"{path} is not valid JSON: {exc.msg} at line {exc.lineno}") from None
    return parse(doc, str(path))


def parse(doc: Any, where: str = MANIFEST) -> Manifest:
    """A `Manifest` from parsed JSON; only what the runner needs is required."""
    _check_document(doc, where)
    textures = tuple(Texture(n, t.get("role", ""), t.get("format"), t.get("component"),
                             layers=t["layers"] if _count(t.get("layers")) else None)
                     for n, t in doc["textures"].items())
    names = {t.name for t in textures}
    return Manifest(
        files=tuple(ShaderFile(f["path"], f.get("lang", "glsl"), f.get("stage", ""), f.get("entry"), f.get("pass"),
                               f.get("kind", "standalone")) for f in doc["files"]),
        textures=textures,
        passes=tuple(_parse_pass(p, f"{where}: pass {p.get('name')!r}", names) for p in doc["passes"]),
        sepgen=doc.get("sepgen", ""), command=doc.get("command", ""), filter=doc.get("filter", ""),
        rank=doc.get("rank", 0), kernel_size=tuple(doc.get("kernel_size", (0, 0))),
        origin=tuple(doc.get("origin", (0, 0))), metrics=doc.get("metrics", {}), options=doc.get("options", {}),
        fetches_per_pixel=doc.get("fetches_per_pixel", {}),
        extensions=tuple(doc.get("extensions", ())),
        intermediate_bytes_per_pixel=doc.get("intermediate_bytes_per_pixel"),
        scale=_parse_scale(doc.get("scale"), where, names),
        limits=_parse_limits(doc.get("limits"), where),
        structure=doc.get("structure"),
    )


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _parse_limits(limits: Any, where: str) -> dict[str, int] | None:
    """The optional `limits` entry (WGSL): WebGPU limit names -> positive integers."""
    if limits is None:
        return None
    def positive(v: Any) -> bool:
        return isinstance(v, int) and not isinstance(v, bool) and v > 0

    if not (isinstance(limits, dict) and all(isinstance(k, str) and positive(v) for k, v in limits.items())):
        raise SepgenError(f"{where}: 'limits' must map WebGPU limit names to positive integers")
    return dict(limits)


def _parse_scale(scale: Any, where: str, textures: set[str]) -> ScaleEntry | None:
    """The optional `scale` entry of a scaled filter's manifest (docs/manifest.md)."""
    if scale is None:
        return None
    ok = isinstance(scale, dict) and (
        (scale.get("source") == "uniform" and isinstance(scale.get("uniform"), str))
        or (scale.get("source") == "texture" and scale.get("texture") in textures))
    if not ok:
        raise SepgenError(f"{where}: 'scale' must be {{source: uniform, uniform: NAME}} "
                          "or {source: texture, texture: NAME}")
    text = {k: scale.get(k) if isinstance(scale.get(k), str) else None
            for k in ("uniform", "texture", "channel", "block")}
    ints = {k: scale.get(k) if isinstance(scale.get(k), int) and not isinstance(scale.get(k), bool) else None
            for k in ("set", "binding")}
    fitted = scale.get("fitted_scales")
    if fitted is not None and not (isinstance(fitted, list) and all(
            isinstance(x, (int, float)) and not isinstance(x, bool) for x in fitted)):
        raise SepgenError(f"{where}: 'scale': 'fitted_scales' must be a list of numbers or null")
    return ScaleEntry(scale["source"], text["uniform"] or "", text["texture"], text["channel"], text["block"],
                      ints["set"], ints["binding"], None if fitted is None else tuple(float(x) for x in fitted))


def _check_document(doc: Any, where: str) -> None:
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise SepgenError(f"{where} is not a {FORMAT} manifest")
    for key in ("files", "textures", "passes"):
        if not isinstance(doc.get(key), (list, dict)) or not doc[key]:
            raise SepgenError(f"{where}: {key!r} is missing or empty")
    if not isinstance(doc["textures"], dict) or not all(isinstance(t, dict) for t in doc["textures"].values()):
        raise SepgenError(f"{where}: 'textures' must map names to objects")
    if not all(isinstance(f, dict) and isinstance(f.get("path"), str) for f in doc["files"]):
        raise SepgenError(f"{where}: every entry of 'files' needs a 'path'")
    if not isinstance(doc["passes"], list) or not all(isinstance(p, dict) for p in doc["passes"]):
        raise SepgenError(f"{where}: 'passes' must be a list of objects")
    for tex in doc["textures"].values():
        fmt = tex.get("format")
        if tex.get("role") not in ("input", "scale") and fmt not in TEXTURE_FORMATS:
            raise SepgenError(f"{where}: texture format {fmt!r} is not one of {', '.join(TEXTURE_FORMATS)}")
    roles = {t.get("role") for t in doc["textures"].values()}
    for role in ("input", "output"):
        if role not in roles:
            raise SepgenError(f"{where}: no texture with role {role!r}")


def _check_pass(spec: dict[str, Any], where: str, textures: set[str]) -> None:
    for key in ("inputs", "outputs"):
        if not isinstance(spec.get(key), list) or not spec[key]:
            raise SepgenError(f"{where} has no {key}")
    if "compute" in spec:
        wg = spec.get("workgroup_size")
        if not (isinstance(wg, list) and len(wg) >= 2 and all(isinstance(n, int) and n > 0 for n in wg)):
            raise SepgenError(f"{where} needs a positive 'workgroup_size'")
    elif not (isinstance(spec.get("vertex"), str) and isinstance(spec.get("fragment"), str)):
        raise SepgenError(f"{where} needs 'vertex' and 'fragment' files (or 'compute')")
    if not all(isinstance(io, dict) and isinstance(io.get("binding"), int) for io in spec["inputs"]):
        raise SepgenError(f"{where}: every input needs an integer 'binding'")
    if not all(isinstance(io, dict) and isinstance(io.get("binding", io.get("location")), int)
               for io in spec["outputs"]):
        raise SepgenError(f"{where}: every output needs an integer 'location' or 'binding'")
    for io in spec["inputs"] + spec["outputs"]:
        for key in ("set", "sampler_binding"):
            if key in io and not (isinstance(io[key], int) and not isinstance(io[key], bool) and io[key] >= 0):
                raise SepgenError(f"{where}: {key!r} must be a non-negative integer, got {io[key]!r}")
        if io.get("texture") not in textures:
            raise SepgenError(f"{where} uses unknown texture {io.get('texture')!r}")
    blends = ("none", "accumulate") if "compute" in spec else ("none", "additive")
    if spec.get("blend", "none") not in blends:
        kind = "compute" if "compute" in spec else "fragment"
        raise SepgenError(f"{where}: blend {spec.get('blend')!r} is not valid for a {kind} pass")
    if "compute" not in spec:
        if not all(isinstance(o.get("location"), int) for o in spec["outputs"]):
            raise SepgenError(f"{where}: every output of a fragment pass needs an integer 'location'")
        locations = sorted(int(o["location"]) for o in spec["outputs"])
        if locations != list(range(len(locations))):
            raise SepgenError(f"{where} output locations {locations} are not 0..n-1")


def _parse_pass(spec: dict[str, Any], where: str, textures: set[str]) -> Pass:
    _check_pass(spec, where, textures)
    inputs = tuple(PassInput(i["texture"], i.get("uniform", ""), i["binding"], i.get("filter", "nearest"),
                             i.get("sampler"), i.get("wrap", "clamp_to_edge"), i.get("set"), i.get("sampler_binding"))
                   for i in spec["inputs"])
    outputs = tuple(PassOutput(o["texture"], o.get("location", o.get("binding")), o.get("format") or "rgba32f",
                               o.get("component"), o.get("binding"), o.get("uniform"), o.get("set"),
                               o["layer"] if isinstance(o.get("layer"), int) else None)
                    for o in spec["outputs"])
    wg = spec.get("workgroup_size")
    return Pass(spec.get("index", 0), spec.get("name", ""), spec.get("direction", ""),
                tuple(spec.get("components", ())),
                inputs, outputs, spec.get("blend", "none"), spec.get("fetches_per_pixel", 0), spec.get("vertex"),
                spec.get("fragment"), spec.get("compute"), tuple(wg) if wg else None)
