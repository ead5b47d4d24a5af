"""GPU frame time: the emitted separable passes vs a brute-force 2D gather of the same kernel.

    .venv/bin/python benchmarks/bench_gpu.py                      # 1920x1080, disk 50, ranks 2 4 8
    .venv/bin/python benchmarks/bench_gpu.py --width 480 --height 270 --repeats 3

Filters: the 50x50 disk (`sepgen.kernels.disk(50)`, normalised to sum 1) truncated to
rank r by NumPy SVD, not `sepgen.fit`: frame time depends only on the tap counts, which
SVD and the fitted filters share (both have dense 50-tap components).

Separable variants are emitted with `sepgen.emit.render` (GLSL) and run by
`sepgen.run.gl`; the brute-force shader below gathers every non-zero tap of the 2D disk
(row spans, no zero taps), so it does the least work a direct 2D filter can do.
Each frame is timed two ways, after one warm-up frame (which also triggers lazy shader
compilation): a GL timer query (GL_TIME_ELAPSED) around all passes, and the wall clock
from the first draw until glFinish returns. Medians are printed. On a real GPU the timer
query is the figure to quote; on llvmpipe the timer query reports 0 for compute
dispatches and under-reports long draws, so quote the wall clock there (the script says
which).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sepgen import SeparableFilter, emit, kernels
from sepgen.run.gl import GLRunner

VERT = """#version 330
void main() {
    vec2 p = vec2(float((gl_VertexID << 1) & 2), float(gl_VertexID & 2));
    gl_Position = vec4(p * 2.0 - 1.0, 0.0, 1.0);
}
"""

BRUTE = """#version 330
// Direct 2D gather: out[y,x] = sum_ij K[i,j] in[clamp(y - i + cy), clamp(x - j + cx)], non-zero taps only.
uniform sampler2D u_source;
layout(location = 0) out vec4 o_color;
const int H = {h};
const int W = {w};
const int CY = {cy};
const int CX = {cx};
const int ROW_START[H] = int[H]({starts});
const int ROW_END[H] = int[H]({ends});
const float K[H * W] = float[H * W]({weights});
void main() {{
    ivec2 p = ivec2(gl_FragCoord.xy);
    ivec2 last = textureSize(u_source, 0) - 1;
    vec4 acc = vec4(0.0);
    for (int i = 0; i < H; ++i) {{
        int y = clamp(p.y - i + CY, 0, last.y);
        for (int j = ROW_START[i]; j < ROW_END[i]; ++j) {{
            acc += K[i * W + j] * texelFetch(u_source, ivec2(clamp(p.x - j + CX, 0, last.x), y), 0);
        }}
    }}
    o_color = acc;
}}
"""


def svd_filter(kernel: np.ndarray, rank: int) -> SeparableFilter:
    k = kernel / kernel.sum()
    u, s, vt = np.linalg.svd(k)
    return SeparableFilter(f"disk50_r{rank}", k, (u[:, :rank] * s[:rank]).T, vt[:rank])


def brute_force_folder(kernel: np.ndarray, out: Path) -> tuple[Path, int]:
    """A one-pass manifest folder with the 2D gather shader; returns (folder, fetches per pixel)."""
    import json

    k = kernel / kernel.sum()
    h, w = k.shape
    nz = k != 0
    starts = [int(np.argmax(r)) if r.any() else 0 for r in nz]
    ends = [int(w - np.argmax(r[::-1])) if r.any() else 0 for r in nz]
    text = BRUTE.format(h=h, w=w, cy=h // 2, cx=w // 2, starts=", ".join(map(str, starts)),
                        ends=", ".join(map(str, ends)), weights=", ".join(repr(float(x)) for x in k.ravel()))
    out.mkdir(parents=True, exist_ok=True)
    (out / "vert.glsl").write_text(VERT)
    (out / "brute.frag.glsl").write_text(text)
    manifest = {
        "format": "sepgen-manifest/1",
        "files": [{"path": "brute.frag.glsl", "lang": "glsl", "stage": "fragment", "entry": "main", "pass": 0,
                   "kind": "standalone"},
                  {"path": "vert.glsl", "lang": "glsl", "stage": "vertex", "entry": "main", "pass": None,
                   "kind": "standalone"}],
        "textures": {"source": {"role": "input"}, "output": {"role": "output", "format": "rgba32f"}},
        "passes": [{"index": 0, "name": "brute", "vertex": "vert.glsl", "fragment": "brute.frag.glsl", "blend": "none",
                    "inputs": [{"texture": "source", "uniform": "u_source", "binding": 0, "filter": "nearest",
                                "wrap": "clamp_to_edge"}],
                    "outputs": [{"texture": "output", "location": 0, "format": "rgba32f"}]}],
    }
    (out / "manifest.json").write_text(json.dumps(manifest))
    return out, int(sum(e - s for s, e in zip(starts, ends)))


def _row(name: str, fetches: int, times: list[tuple[float, float]]) -> str:
    timer = statistics.median(t[0] for t in times)
    wall = statistics.median(t[1] for t in times)
    return f"{name:<36} {fetches:>10} {timer:>9.2f} {wall:>9.2f} {len(times):>6}"


def time_folder(runner: GLRunner, folder: Path, img: np.ndarray, repeats: int) -> list[tuple[float, float]]:
    pipe = runner.prepare(folder, img.shape[1], img.shape[0])
    try:
        pipe.upload(img)
        return pipe.time_gpu(repeats=repeats, warmup=1)
    finally:
        pipe.release()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--width", type=int, default=1920)
    ap.add_argument("--height", type=int, default=1080)
    ap.add_argument("--size", type=int, default=50, help="disk diameter")
    ap.add_argument("--ranks", type=int, nargs="+", default=[2, 4, 8])
    ap.add_argument("--repeats", type=int, default=3, help="timed frames per separable variant")
    ap.add_argument("--brute-repeats", type=int, default=1, help="timed frames of the brute-force shader")
    ap.add_argument("--no-brute", action="store_true", help="skip the brute-force shader")
    args = ap.parse_args(argv)

    runner = GLRunner()
    img = np.random.default_rng(0).random((args.height, args.width, 4)).astype(np.float32)
    disk = kernels.disk(args.size)
    print(f"renderer: {runner.renderer}")
    print(f"frame: {args.width}x{args.height} RGBA float32; kernel: disk {args.size}x{args.size} "
          f"({int(np.count_nonzero(disk))} non-zero taps); filters: NumPy SVD truncation")
    software = "llvmpipe" in runner.renderer or "softpipe" in runner.renderer
    if software:
        print("software renderer: quote the wall-clock column; GL timer queries are unreliable on llvmpipe")
    print(f"{'variant':<36} {'fetches/px':>10} {'timer ms':>9} {'wall ms':>9} {'frames':>6}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="sepgen-bench-") as tmp:
        variants = [("fragment mrt", {}), ("fragment mrt linear", {"linear_sampling": True}),
                    ("fragment per-component", {"strategy": "per-component"}),
                    ("compute mrt", {"stage": "compute"})]
        for rank in args.ranks:
            filt = svd_filter(disk, rank)
            for label, opts in variants:
                folder = Path(tmp) / f"r{rank}_{label.replace(' ', '_')}"
                files = emit.render(filt, {"lang": "glsl", **opts})
                emit.write(files, folder)
                fetches = emit.fetch_counts(filt, linear_sampling=bool(opts.get("linear_sampling")),
                                             strategy=opts.get("strategy", "mrt"))["total"]
                times = time_folder(runner, folder, img, args.repeats)
                rows.append((f"rank {rank} {label}", fetches, times))
                print(_row(rows[-1][0], fetches, times), flush=True)
        if not args.no_brute:
            folder, fetches = brute_force_folder(disk, Path(tmp) / "brute")
            times = time_folder(runner, folder, img, args.brute_repeats)
            print(_row("brute-force 2D gather", fetches, times), flush=True)
            col = 1 if software else 0
            brute = statistics.median(t[col] for t in times)
            print(f"speed-up over brute force ({'wall clock' if software else 'timer query'}):")
            for name, _, t in rows:
                print(f"  {name:<34} {brute / statistics.median(x[col] for x in t):6.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
