"""Benchmark: `sepgen verify` of a big filter with Mesa's shader cache off.

The case: the 127x127 disk at rank 8 (`sepgen optimize --kernel disk --size 127
--rank 8`), `--lang glsl` (32 variants), MESA_SHADER_CACHE_DISABLE=true: what a
fresh CI machine or any change of coefficients gets. Goal (issue 14): <= 100 s on
the 2-core machine (163 s before).

Sections:
  texts     how many variants share identical pass shader text (exact, and once
            comments are removed): programs that could be shared.
  split     (--split) per variant, in this process: emit, GL program creation,
            first execute (llvmpipe JIT-compiles its shader variants at the first
            draw/dispatch, so this is the compile), second execute (the run),
            readback. Slow: it runs every variant once more.
  process   `sepgen verify F --lang glsl` as whole processes, side by side:
            the baseline code (git REV, exported to a temporary folder) and this
            checkout with --jobs 1 and with --jobs 2 (parallel processes). Each
            run's table must report the same max abs error per variant as the
            baseline's: the faster shaders compute identical results.

Run: python benchmarks/bench_verify.py [--filter F.json] [--baseline REV] [--split] [--no-baseline]
     (default REV: main just before issue 14; F: fitted on first use)
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ["MESA_SHADER_CACHE_DISABLE"] = "true"  # before any GL context: every compile is cold

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
PY = sys.executable
BASELINE_REV = "a9cd6df"  # main just before issue 14's changes; --baseline REV to compare another
ROW = re.compile(r"^(glsl\S+ \S+ \S+ \S+ \S+)\s+(?:[a-z]+\s+)?([-+.e0-9]+)\s")  # name, [runner,] max abs


def arg(name: str, default: str | None = None) -> str | None:
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default


def make_filter(tmp: Path) -> Path:
    path = tmp / "disk127.json"
    subprocess.run([PY, "-m", "sepgen", "optimize", "--kernel", "disk", "--size", "127", "--rank", "8",
                    "-o", str(path)],
                   check=True, env=child_env(ROOT), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return path


def child_env(code: Path) -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(code), MESA_SHADER_CACHE_DISABLE="true")


def texts(filt_path: Path) -> None:
    from sepgen import emit
    from sepgen.filters.filterfile import SeparableFilter
    from sepgen.verify import check as verify

    filt = SeparableFilter.load(filt_path)
    exact: set[str] = set()
    bare: set[str] = set()
    count = 0
    for v in verify.variants(("glsl",)):
        for path, text in emit.render(filt, v.options).items():
            if path.endswith(".glsl") and ("." + "comp" in path or ".frag" in path or ".vert" in path):
                count += 1
                exact.add(text)
                bare.add(re.sub(r"//[^\n]*", "", text))
    print(f"\ntexts: {count} pass shaders in {len(verify.variants(('glsl',)))} variants; {len(exact)} distinct texts, "
          f"{len(bare)} distinct without comments (fp16/fp32 differ only in comments; llvmpipe still compiles "
          f"per render-target format at the first draw, so sharing programs saves only the front end)")


def split(filt_path: Path) -> None:
    from sepgen import emit
    from sepgen.filters.filterfile import SeparableFilter
    from sepgen.run import gl as glrun
    from sepgen.verify import check as verify

    filt = SeparableFilter.load(filt_path)
    img = verify.default_image()
    runner = glrun.GLRunner()
    totals = {"emit": 0.0, "program": 0.0, "compile+run": 0.0, "run": 0.0, "readback": 0.0}
    print(f"\nsplit, one process, {runner.renderer} (seconds)")
    for v in verify.variants(("glsl",)):
        t = [time.perf_counter()]
        files = emit.render(filt, v.options)
        with tempfile.TemporaryDirectory() as tmp:
            emit.write(files, tmp)
            t.append(time.perf_counter())
            pipe = runner.prepare(tmp, img.shape[1], img.shape[0])
            runner.ctx.finish()
            t.append(time.perf_counter())
            for _ in range(2):
                pipe.upload(img)
                pipe.execute()
                runner.ctx.finish()
                t.append(time.perf_counter())
            pipe.read(4)
            t.append(time.perf_counter())
            pipe.release()
        row = dict(zip(totals, (b - a for a, b in zip(t, t[1:]))))
        for k in totals:
            totals[k] += row[k]
        print(f"  {v.name:38s} " + "  ".join(f"{k} {x:6.2f}" for k, x in row.items()), flush=True)
    compile_s = totals["program"] + totals["compile+run"] - totals["run"]
    print(f"  total: compile {compile_s:.1f}, run {totals['run']:.1f}, readback {totals['readback']:.2f}, "
          f"emit {totals['emit']:.1f}")


def export(rev: str, dest: Path) -> Path:
    """The baseline's sepgen package and templates, as of `rev`."""
    dest.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "sepgen", "templates"], check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest


def run_verify(code: Path, filt_path: Path, extra: list[str]) -> tuple[float, dict[str, str], int]:
    t = time.perf_counter()
    res = subprocess.run([PY, "-m", "sepgen", "verify", str(filt_path), "--lang", "glsl", "-q", *extra],
                         env=child_env(code), capture_output=True, text=True, cwd=code)
    wall = time.perf_counter() - t
    rows = {m.group(1): m.group(2) for line in res.stdout.splitlines() if (m := ROW.match(line))}
    return wall, rows, res.returncode


def processes(filt_path: Path, tmp: Path) -> None:
    runs: list[tuple[str, Path, list[str]]] = []
    if "--no-baseline" not in sys.argv:
        rev = arg("--baseline", BASELINE_REV)
        runs.append((f"baseline ({rev})", export(rev, tmp / "baseline"), []))
    runs += [("this checkout, --jobs 1", ROOT, ["--jobs", "1"]), ("this checkout, --jobs 2", ROOT, ["--jobs", "2"])]
    print(f"\nprocess: sepgen verify {filt_path.name} --lang glsl, shader cache off (seconds)")
    first = None
    for label, code, extra in runs:
        wall, rows, rc = run_verify(code, filt_path, extra)
        same = "" if first is None else (
            "  max abs errors identical to the first run" if rows == first
            else f"  DIFFERENT max abs errors: {sorted(k for k in rows if rows.get(k) != first.get(k))[:3]}")
        first = first if first is not None else rows
        print(f"  {label:28s} {wall:7.1f}  exit {rc}, {len(rows)} variants{same}   load {os.getloadavg()[0]:.2f}",
              flush=True)


def main() -> None:
    print(f"{len(os.sched_getaffinity(0))} CPU core(s), load average {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(prefix="sepgen-bench-") as tmp:
        filt_path = Path(arg("--filter") or make_filter(Path(tmp))).resolve()
        texts(filt_path)
        if "--split" in sys.argv:
            split(filt_path)
        processes(filt_path, Path(tmp))


if __name__ == "__main__":
    main()
