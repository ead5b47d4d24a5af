"""One emitted file: its manifest entry (`passmodel.ShaderFile`) and its text; and what
`render()` returns: every file of a folder with its typed `Manifest`."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from ..plan.passmodel import Manifest, ShaderFile

__all__ = ["EmittedFile", "Rendered"]


@dataclass(frozen=True)
class EmittedFile:
    file: ShaderFile
    text: str | bytes  # bytes for binary modules (.spv)

    @property
    def path(self) -> str:
        return self.file.path


@dataclass(frozen=True, eq=False)
class Rendered(Mapping[str, "str | bytes"]):
    """An emitted folder before it is written: relative path -> text (bytes for `.spv`),
    `manifest.json` included, and the `Manifest` that file serialises (no caller parses it back).

    A read-only mapping of `files`, so `render(...)["manifest.json"]` and `write(render(...))`
    work as they did when `render` returned a dict."""

    files: Mapping[str, str | bytes]
    manifest: Manifest

    def __post_init__(self) -> None:
        object.__setattr__(self, "files", MappingProxyType(dict(self.files)))

    def __getitem__(self, path: str) -> str | bytes:
        return self.files[path]

    def __iter__(self) -> Iterator[str]:
        return iter(self.files)

    def __len__(self) -> int:
        return len(self.files)
