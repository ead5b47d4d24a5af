"""One emitted file: its manifest entry (`passmodel.ShaderFile`) and its text."""

from __future__ import annotations

from dataclasses import dataclass

from ..plan.passmodel import ShaderFile


@dataclass(frozen=True)
class EmittedFile:
    file: ShaderFile
    text: str | bytes  # bytes for binary modules (.spv)

    @property
    def path(self) -> str:
        return self.file.path
