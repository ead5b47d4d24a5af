"""Prove the emitted shaders: emit every variant, run it on its driver, compare with NumPy.

Each variant (language × stage × strategy × sampling × precision) is emitted into a
temporary folder and run by `sepgen.verify.runfilter.run_variants` on the driver its language
targets (OpenGL, WebGL2, Vulkan or WebGPU: `routes.backend_for`) on an image and
compared with `sepgen.filters.reference.apply_filter` (float64).

A scalable filter (fitted with scales) runs its fragment variants with scaled taps instead:
the scale from a uniform at each of `VERIFY_SCALES` and from a per-pixel `scale_map`,
against the NumPy model of scaled taps (`sepgen.filters.scaling.apply_scaled`).

Errors are relative to the reference's largest magnitude: rel = max|gpu − ref| / max|ref|.
Tolerances follow from the formats (u = unit roundoff):

    a     = max|img| · Σ_k ‖v_k‖₁‖h_k‖₁ / max|ref|   largest partial sum, in output units
    tol   = a · (2·(H + W + rank)·2⁻²⁴              fp32 sums over H + W taps and rank components
                 + 2⁻¹⁰   with fp16 intermediates    one rounding of each intermediate to half
                 + 2·δ    with linear sampling       two passes of bilinear weights, each off by
                          or scaled taps)            at most δ, the runner's measured error
                 + n·ε    with --output-format       each of the n writes of the output (n = rank with
                          rgba16f or r11g11b10f)     per-component, else one per group of 8) rounds
                                                     the sum to the format: ε = one ulp of its
                                                     coarsest channel, 2⁻¹⁰ (half float) or 2⁻⁵
                                                     (the 10-bit blue channel of r11g11b10f: 5 mantissa bits)

An output format without a sign or alpha (r11g11b10f) is compared with the reference as it
would store it: negative values 0, alpha 1; `channels="rgb"` writes alpha 1 (`stored_reference`).

δ is measured once per runner (and image size) by `sepgen.verify.probe`: a tiny emitted filter
whose output is the driver's bilinear weights. llvmpipe, lavapipe and SwiftShader interpolate
in float32, so δ is the float32 resolution of the texel coordinate: 2⁻¹⁷ for the built-in
131-wide image. Without a measurement (the probe cannot run) δ = 2⁻⁸, the D3D10+ minimum of
8 fractional bits for filter weights.

For a 50x50 disk at rank 4 and an image in [0, 1], a ≈ 1-2, so point-sampled fp32 variants
must match to ~1e-5, fp16 to ~1e-3 and linear sampling on llvmpipe to ~4e-5. The fp16 term is one
half-float ulp, not half of one: llvmpipe rounds toward zero when it stores to rgba16f
(render targets and images alike: 1 + 0.75 ulp is stored as 1), so errors above 2⁻¹¹ occur.
"""

from __future__ import annotations

import difflib
import math
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..common.errors import SepgenError
from ..common.images import check_image
from ..filters import reference
from ..options import EMIT_OPTIONS, EmitOptions
from . import rows_check
from .jobs import first_line
from .needs import missing_tool
from .variant import Variant, scale_map

if TYPE_CHECKING:  # pragma: no cover
    from ..filters.filterfile import SeparableFilter
    from ..run.registry import Runner
    from .runfilter import Runners

LANGS: tuple[str, ...] = tuple(EMIT_OPTIONS["lang"].choices or ())
FP32_U = 2.0**-24
FP16_ULP = 2.0**-10  # one half-float ulp: covers round-to-nearest and round-toward-zero stores
BILINEAR_FRACTION = 2.0**-8
OUTPUT_ULP = {"rgba16f": 2.0**-10, "r11g11b10f": 2.0**-5}  # --output-format: one ulp of the coarsest channel
MRT_GROUP = 8  # components per MRT pass pair (the output is written once per group)
VERIFY_SCALES = (0.3, 0.5, 1.0)  # uniform scales a scalable filter is verified at (plus a scale map)
DEFAULT_IMAGE_SIZE = (77, 131)  # H, W: odd, wider than one 64-wide workgroup, not a multiple of 8

__all__ = ["Variant", "VariantResult", "variants", "variants_for", "scaled_variants", "scaled_targets",
           "scale_map", "select", "verify", "verify_set", "check_tolerance", "default_image",
           "tolerance_for", "uses_bilinear", "format_table", "stored_reference"]


@dataclass
class VariantResult:
    variant: Variant
    max_abs: float = math.nan
    max_rel: float = math.nan
    tolerance: float = math.nan
    error: str | None = None  # emit/compile/run failure: the variant fails
    renderer: str = ""  # the runner and device it ran on ("Vulkan: llvmpipe …": `Runner.device`)
    backend: str = ""  # the runner: "gl", "webgl", "vulkan", "webgpu" (sepgen.run.registry.RUNNERS)
    not_run: str | None = None  # why it did not run (a missing driver or tool; names what to install)

    @property
    def ok(self) -> bool:
        return self.error is None and self.max_rel <= self.tolerance

    @property
    def name(self) -> str:
        return self.variant.name


def variants(langs: Iterable[str] = ("glsl",)) -> list[Variant]:
    """Every combination of emit options the emitter supports, for these languages.

    Taken from `EmitOptions.combinations()`, so a new option value is verified
    as soon as the emitter accepts it. (Compute has no linear-sampling variant and GLSL
    300 es no compute variant: `EmitOptions.__constraints__` rule those out.)
    """
    langs = tuple(langs)
    for lang in langs:
        if lang not in LANGS:
            raise SepgenError(f"unknown shader language {lang!r} (known: {', '.join(LANGS)})")
    return [Variant(o.to_dict()) for o in EmitOptions.combinations() if o.lang in langs]


def scaled_variants(langs: Iterable[str] = ("glsl",)) -> list[Variant]:
    """A scalable filter's variants: every fragment variant with scaled taps, the scale from a
    uniform at each of `VERIFY_SCALES`, and from a per-pixel map (`scale_map`)."""
    from ..emit import scaled_languages

    out = []
    for v in variants([lang for lang in langs if lang in scaled_languages()]):
        o = v.options
        if o["stage"] != "fragment" or o["linear_sampling"]:
            continue  # scaled taps are bilinear fetches of fragment passes
        out += [Variant({**o, "scale_source": "uniform"}, s) for s in VERIFY_SCALES]
        out.append(Variant({**o, "scale_source": "texture"}, "map"))
    return out


def default_image(channels: int = 4, size: tuple[int, int] = DEFAULT_IMAGE_SIZE, seed: int = 0) -> np.ndarray:
    """Deterministic test image in [0, 1]: noise (every tap matters) plus a few bright spots."""
    rng = np.random.default_rng(seed)
    img = rng.random((size[0], size[1], channels)) * 0.5
    ys = rng.integers(0, size[0], 6)
    xs = rng.integers(0, size[1], 6)
    img[ys, xs] = 1.0  # highlights, the bokeh case
    img[0, :] = 1.0  # a bright first row and last column: border clamping shows
    img[:, -1] = 0.9
    return img.astype(np.float32)


def uses_bilinear(options: dict[str, Any]) -> bool:
    """Whether a variant fetches bilinearly: linear sampling (given, or the target's default) or scaled taps."""
    linear = options.get("linear_sampling")
    return bool(linear or (linear is None and EmitOptions.linear_by_default(options))
                or options.get("scale_source", "auto") != "auto")


def tolerance_for(filt: SeparableFilter, options: dict[str, Any], img: np.ndarray, ref: np.ndarray,
                  bilinear: float = BILINEAR_FRACTION, scale: float | str | None = None) -> float:
    """Relative tolerance (of max|ref|) a variant with these options must meet; see the module doc.
    `bilinear`: the largest bilinear weight error of the runner (`probe.measure`); without it
    the 8-bit hardware minimum."""
    if rows_check.is_rows(filt):  # issue 18
        return rows_check.tolerance(filt, img, ref, bilinear, scale)  # type: ignore[arg-type]  # a RowsFilter
    norms = float(np.sum(np.abs(filt.vertical).sum(axis=1) * np.abs(filt.horizontal).sum(axis=1)))
    peak = float(np.max(np.abs(ref))) or 1.0
    amplification = max(float(np.max(np.abs(img))) * norms / peak, 1.0)
    taps = filt.shape[0] + filt.shape[1] + filt.rank
    bound = 2.0 * taps * FP32_U
    if options.get("precision") == "fp16":
        bound += FP16_ULP
    if uses_bilinear(options):
        bound += 2.0 * bilinear  # scaled taps are bilinear fetches too
    if options.get("output_format") in OUTPUT_ULP:
        writes = filt.rank if options.get("strategy") == "per-component" else math.ceil(filt.rank / MRT_GROUP)
        bound += writes * OUTPUT_ULP[options["output_format"]]
    return amplification * bound


def stored_reference(ref: np.ndarray, options: dict[str, Any]) -> np.ndarray:
    """The reference as the variant's output stores it: r11g11b10f keeps no negative value and no
    alpha (read back as 1); channels="rgb" filters colour only and writes alpha 1."""
    unsigned = options.get("output_format") == "r11g11b10f"
    if not (unsigned or options.get("channels") == "rgb") or ref.ndim != 3:
        return ref
    out = np.maximum(ref, 0.0) if unsigned else ref.copy()
    if out.shape[2] == 4:
        out[..., 3] = 1.0
    return out


def check_tolerance(tolerance: float | None) -> None:
    """A one-line SepgenError unless `tolerance` is None or a positive finite number."""
    if tolerance is not None and not (math.isfinite(tolerance) and tolerance > 0):
        raise SepgenError(f"tolerance must be a positive number, got {tolerance!r}")


def verify(
    filt: SeparableFilter,
    langs: Iterable[str] = ("glsl",),
    image: np.ndarray | None = None,
    tolerance: float | None = None,
    runner: Runner | Runners | None = None,
    progress: Callable[[str], None] | None = None,
    only: Iterable[Variant] | None = None,
    *,
    jobs: int = 1,
    templates_dir: str | os.PathLike | None = None,
) -> list[VariantResult]:
    """Run every variant of `filt` (or those in `only`) on its runner (`routes.backend_for`);
    one result per variant, in order.

    `tolerance` overrides the derived per-variant tolerance (relative to max|ref|; the derived
    one measures each runner's bilinear weights once: `sepgen.verify.probe`).
    `progress` gets one line per variant ("[3/44] glsl330 fragment mrt fp16 point").
    `jobs` > 1 runs the variants in that many worker processes, each with its own runners
    (`sepgen.verify.jobs`); what is checked and the results do not depend on it.
    `templates_dir` overrides templates as `sepgen emit --templates` does.
    A variant that fails to emit, compile or run is a failed result, not an exception; so is
    one whose runner or compiler is missing here (`VariantResult.not_run` says what to install),
    while every other variant still runs. The GLSL ES 300 variants run first, together, in one
    browser start.
    """
    todo = list(only) if only is not None else variants_for(filt, langs)
    return verify_set([(filt, todo)], image, tolerance, runner, progress, jobs=jobs, templates_dir=templates_dir)[0]


Task = tuple["SeparableFilter", Variant]


def verify_set(
    items: Sequence[tuple[SeparableFilter, Sequence[Variant]]],
    image: np.ndarray | None = None,
    tolerance: float | None = None,
    runner: Runner | Runners | None = None,
    progress: Callable[[str], None] | None = None,
    *,
    jobs: int = 1,
    templates_dir: str | os.PathLike | None = None,
) -> list[list[VariantResult]]:
    """`verify` for several filters, each with its own variants, sharing runners and workers
    (`sepgen verify --config`); one result list per item."""
    from .runfilter import Runners

    check_tolerance(tolerance)
    img = default_image() if image is None else check_image(image)
    tasks: list[Task] = [(filt, v) for filt, todo in items for v in todo]
    runners = runner if isinstance(runner, Runners) else Runners(runner)
    backends = [v.backend for _, v in tasks]
    not_run = _not_runnable(tasks, backends, runners)  # a missing driver or tool: the rest still runs
    ran = [i for i in range(len(tasks)) if i not in not_run]
    got = _execute(img, [tasks[i] for i in ran], runners, jobs, templates_dir, progress)
    outs: dict[int, Any] = {ran[k]: out for k, out in got.items()}
    bilinear = _bilinear_bounds(tasks, ran, runners, img) if tolerance is None else {}
    results: list[list[VariantResult]] = []
    i = 0
    for filt, todo in items:
        reference_at = _references(filt, img)  # scaled variants: the NumPy model at their scale
        results.append([_result(filt, v, img, reference_at(v.scale)[0], tolerance, outs.get(i + k), runners,
                                backends[i + k], bilinear.get(backends[i + k], BILINEAR_FRACTION), not_run.get(i + k))
                        for k, v in enumerate(todo)])
        i += len(todo)
    return results


def _not_runnable(tasks: list[Task], backends: list[str], runners: Runners) -> dict[int, str]:
    """Task index -> why it cannot run here (its runner or a tool it compiles with is missing;
    the message names what to install)."""
    missing = runners.missing({b for b in backends if b})
    out = {}
    for i, ((_, v), backend) in enumerate(zip(tasks, backends)):
        why = missing.get(backend) or missing_tool(v.options["lang"])
        if why:
            out[i] = why
    return out


def _bilinear_bounds(tasks: list[Task], ran: list[int], runners: Runners, img: np.ndarray) -> dict[str, float]:
    """Each runner's measured bilinear weight error (`probe`), for the runners that run a
    bilinear-fetching variant; at the image's larger side (coordinates lose bits as they grow)."""
    used = {tasks[i][1].backend for i in ran if uses_bilinear(tasks[i][1].options)}
    return {b: runners.bilinear(b, max(img.shape[:2])).bound for b in sorted(used) if b}


def _batches(tasks: list[Task]) -> list[list[int]]:
    """Task indices run together: each filter's WebGL2 variants in one batch (one browser start),
    first; every other variant alone."""
    batches = []
    for filt in {id(f): f for f, _ in tasks}.values():
        mine = [i for i, (f, v) in enumerate(tasks) if f is filt and v.backend == "webgl"]
        if mine:
            batches.append(mine)
    return batches + [[i] for i, (_, v) in enumerate(tasks) if v.backend != "webgl"]


def _execute(img: np.ndarray, tasks: list[Task], runners: Runners, jobs: int,
             templates_dir: str | os.PathLike | None, progress: Callable[[str], None] | None) -> dict[int, Any]:
    """Every task's output (array, or one-line error) by task index: the batches in `jobs` worker
    processes (`sepgen.verify.jobs`) or one after the other in this process."""
    from .jobs import run_batch, run_parallel

    batches = _batches(tasks)
    as_batch = [(tasks[b[0]][0], [tasks[i][1] for i in b]) for b in batches]
    outs: dict[int, Any] = {}
    say = progress or (lambda message: None)
    count = 0

    def counted(i: int, suffix: str = "") -> None:
        nonlocal count
        count += 1
        say(f"[{count}/{len(tasks)}] {_label(*tasks[i], tasks)}{suffix}")

    def finished(k: int) -> None:
        for i in batches[k]:
            counted(i, " done")

    if jobs > 1 and len(batches) > 1:
        for k, got, devices in run_parallel(img, as_batch, jobs, templates_dir, finished):
            outs.update(zip(batches[k], got))
            for name, device in devices.items():
                runners.note(name, device)
        return outs
    for b, batch in zip(batches, as_batch):
        browser = tasks[b[0]][1].backend == "webgl"
        if browser:
            say(f"running the {len(b)} GLSL ES 300 variants in WebGL2 (one browser start)")
        else:
            counted(b[0])
        outs.update(zip(b, run_batch(batch, img, runners, templates_dir)))
        for i in b if browser else ():
            counted(i)
    return outs


def _label(filt: SeparableFilter, variant: Variant, tasks: list[Task]) -> str:
    """The variant's name, after the filter's when several filters are verified."""
    several = len({id(f) for f, _ in tasks}) > 1
    return f"{filt.name}: {variant.name}" if several else variant.name


def _result(filt: SeparableFilter, variant: Variant, img: np.ndarray, ref: np.ndarray, tolerance: float | None,
            out: Any, runners: Runners, backend: str, bilinear: float = BILINEAR_FRACTION,
            not_run: str | None = None) -> VariantResult:
    """Compare one output (an array, or the SepgenError / message of its failure) with the reference."""
    if not_run is not None:
        return VariantResult(variant, error=f"not run: {not_run}", backend=backend, not_run=not_run)
    tol = (tolerance if tolerance is not None
           else tolerance_for(filt, variant.options, img, ref, bilinear, variant.scale))
    res = VariantResult(variant, tolerance=tol, renderer=runners.device(backend) if backend else "", backend=backend)
    if isinstance(out, np.ndarray):
        peak = float(np.max(np.abs(ref))) or 1.0
        diff = np.abs(out.astype(np.float64) - stored_reference(ref, variant.options))
        res.max_abs = float(np.nan_to_num(diff, nan=np.inf).max())
        res.max_rel = res.max_abs / peak
    else:
        res.error = first_line(out) if isinstance(out, Exception) else str(out)
    return res


def variants_for(filt: SeparableFilter, langs: Iterable[str] = ("glsl",)) -> list[Variant]:
    """`scaled_variants` for a scalable filter (fitted with scales), else `variants`."""
    if rows_check.is_rows(filt):  # issue 18: the targets rows filters are emitted for
        return rows_check.variants(tuple(langs), VERIFY_SCALES if filt.scales is not None else None)
    return scaled_variants(langs) if filt.scales is not None else variants(langs)


def scaled_targets(variants_: Iterable[Variant]) -> list[Variant]:
    """A scalable filter's emitted variants as verify runs them: each scaled variant at every
    verify scale and with the scale map (a fixed-tap variant stays as it is)."""
    out = []
    for v in variants_:
        source = v.options.get("scale_source", "auto")
        v = Variant({**v.options, "scale_source": "uniform" if source == "auto" else source, "linear_sampling": False})
        if v.options["scale_source"] == "texture":
            out.append(Variant(v.options, "map"))
        else:
            out += [Variant(v.options, s) for s in VERIFY_SCALES]
    return out


def select(names: Iterable[str], langs: Iterable[str] = LANGS or (), scaled: bool = False) -> list[Variant]:
    """The variants with these names, as the table prints them ("glsl330 fragment mrt fp32 point";
    with `scaled`, a scalable filter's: "glsl330 fragment mrt fp32 scale 0.5")."""
    known = {v.name: v for v in (scaled_variants(langs) if scaled else variants(langs))}
    chosen = []
    for name in names:
        wanted = " ".join(str(name).split())
        if wanted not in known:
            close = difflib.get_close_matches(wanted, list(known), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f" (known: {', '.join(list(known)[:3])}, …)"
            raise SepgenError(f"unknown variant {name!r}{hint}")
        if known[wanted] not in chosen:
            chosen.append(known[wanted])
    return chosen


def _references(filt: SeparableFilter, img: np.ndarray) -> Callable[[float | str | None], tuple[np.ndarray, Any]]:
    """scale (None, a value or "map") -> (NumPy reference, the scale to run the shaders at); each computed once."""
    from ..filters import scaling

    cache: dict[Any, tuple[np.ndarray, Any]] = {}

    def at(scale: float | str | None) -> tuple[np.ndarray, Any]:
        if scale not in cache:
            if scale is None and rows_check.is_rows(filt):  # issue 18
                cache[scale] = (rows_check.reference(img, filt), None)  # type: ignore[arg-type]  # filt is a RowsFilter here
            elif scale is None:
                cache[scale] = (reference.apply_filter(img, filt), None)
            elif rows_check.is_rows(filt):  # a scalable rows filter (sepgen.filters.rows_scaled)
                s = scale_map(img.shape) if scale == "map" else float(scale)
                cache[scale] = (rows_check.reference(img, filt, s), s)  # type: ignore[arg-type]  # a RowsFilter
            else:
                s = scale_map(img.shape) if scale == "map" else float(scale)
                cache[scale] = (scaling.apply_scaled(img, filt.vertical, filt.horizontal, filt.origin, s), s)
        return cache[scale]

    return at


def format_table(results: list[VariantResult]) -> str:
    """The verification table: one line per variant, with the runner it ran on."""
    width = max([len("variant")] + [len(r.name) for r in results])
    lines = [f"{'variant':<{width}}  {'runner':<6}  {'max abs':>9}  {'max rel':>9}  {'tolerance':>9}  result"]
    for r in results:
        head = f"{r.name:<{width}}  {r.backend or '-':<6}"
        if r.not_run is not None:
            lines.append(f"{head}  {'-':>9}  {'-':>9}  {'-':>9}  NOT RUN: {r.not_run}")
        elif r.error is not None:
            lines.append(f"{head}  {'-':>9}  {'-':>9}  {r.tolerance:9.2e}  FAIL: {r.error}")
        else:
            lines.append(f"{head}  {r.max_abs:9.2e}  {r.max_rel:9.2e}  {r.tolerance:9.2e}  {'ok' if r.ok else 'FAIL'}")
    return "\n".join(lines)
