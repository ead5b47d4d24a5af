"""One emitted file: its path, text and its entry in the manifest's `files`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class EmittedFile:
    path: str
    text: str
    lang: str
    stage: str  # "vertex" | "fragment" | "compute"
    entry: str | None
    pass_index: int | None
    kind: str  # "standalone" | "include"

    def manifest_entry(self) -> dict[str, Any]:
        return {"path": self.path, "lang": self.lang, "stage": self.stage, "entry": self.entry,
                "pass": self.pass_index, "kind": self.kind}
