"""wgpu's multi-line reports as one line."""

from __future__ import annotations

import re

__all__ = ["validator_message", "first_line"]


def first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def validator_message(log: str) -> str:
    """naga's first error with its line and column, from wgpu's multi-line report."""
    lines = [line.rstrip() for line in log.splitlines() if line.strip()]
    message = next((ln.split("error:", 1)[1].strip() for ln in lines if "error:" in ln), None)
    where = next((m for ln in lines if (m := re.search(r":(\d+):(\d+)\s*$", ln.strip()))), None)
    if message is None:
        message = lines[-1].strip() if lines else "rejected"
    return f"line {where.group(1)} column {where.group(2)}: {message}" if where else message
