"""`sepgen apply --backend gpu` on a machine without a Vulkan driver: one line, exit 2, no output (a real process)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.support import DISK, ROOT, cli_process


@pytest.mark.parametrize("lang", ["spirv", "wgsl"])
def test_apply_without_a_vulkan_driver_is_one_line_exit_2(tmp_path, lang) -> None:
    np.save(tmp_path / "in.npy", np.zeros((8, 9, 3), dtype=np.float32))
    r = cli_process("apply", DISK, "-i", tmp_path / "in.npy", "-o", tmp_path / "out.npy", "--backend", "gpu",
                    "--lang", lang,
                    env={"VK_ICD_FILENAMES": str(tmp_path / "no-driver.json"), "PYTHONPATH": str(ROOT)})
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()  # apply's progress lines may come first; one error line, last
    assert lines[-1].startswith("sepgen: error: ") and not any("error" in ln for ln in lines[:-1]), r.stderr
    assert "mesa-vulkan-drivers libvulkan1" in lines[-1]
    assert not (tmp_path / "out.npy").exists()
