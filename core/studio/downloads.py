"""Downloads in a Studio session: the verified rewrite packed as an archive (once per rewrite,
format and layout), under a name that says what it is. ``RewriteDownloads`` is that part of
``StudioSession``.

Example:
    >>> ArchiveFormat.TAR_GZ.mime_type
    'application/gzip'
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from core.errors import OutputError
from core.rewrite.publish import package_model
from core.sources.stage import source_stem
from core.studio.applying import AppliedRewrite
from core.studio.loading import LoadedModel
from core.studio.workspace import Purpose, Workspace, folder_bytes


class ArchiveFormat(StrEnum):
    """The archives a rewrite downloads as."""

    ZIP = "zip"
    TAR_GZ = "tar.gz"

    @property
    def mime_type(self) -> str:
        return "application/zip" if self is ArchiveFormat.ZIP else "application/gzip"


class RewriteDownloads:
    """Archives of the rewrite in a ``StudioSession`` (which holds the state these methods use)."""

    workspace: Workspace
    model: LoadedModel | None
    rewrite: AppliedRewrite | None
    _packages: dict[tuple[str, ArchiveFormat, int | None], Path]

    def package(self, archive_format: ArchiveFormat | str, version: int | None = None) -> Path:
        """The verified rewrite packed as ``zip`` or ``tar.gz`` (optionally in ``N/``); made once.

        Raises:
            OutputError: nothing applied yet, or an unknown format.
        """
        rewrite = self.rewrite
        if rewrite is None:
            raise OutputError("nothing to download yet: apply a rewrite first")
        if archive_format not in {f.value for f in ArchiveFormat}:
            raise OutputError(f"unknown archive format '{archive_format}'; choose one of {[f.value for f in ArchiveFormat]}")
        archive_format = ArchiveFormat(archive_format)
        key = (rewrite.digest, archive_format, version)
        if key not in self._packages or not self._packages[key].exists():
            # One archive at a time: the one asked for now replaces the one made before.
            self.workspace.remove_folders(Purpose.DOWNLOAD)
            self._packages.clear()
            self.workspace.require_space(folder_bytes(rewrite.model_dir), "the archive")
            archive = self.workspace.new_folder(Purpose.DOWNLOAD) / f"{self.download_stem(rewrite)}.{archive_format.value}"
            package_model(rewrite.model_dir, archive, version=version)
            self._packages[key] = archive
        return self._packages[key]

    def model_stem(self) -> str:
        """A file-name stem from the loaded model's label (``house_price.tar.gz`` → ``house_price``)."""
        label = self.model.label if self.model else "model"
        return source_stem(label.split(" ")[0])

    def download_stem(self, rewrite: AppliedRewrite) -> str:
        """What a rewrite's archive is: model, signature, key, and a short id of the rewrite.

        ``house_price_serving_default_key-instance_key_3f9a1c``
        """
        plan = rewrite.result.plan
        key = f"_key-{plan.key}" if plan.key else ""
        return f"{self.model_stem()}_{plan.result_name}{key}_{rewrite.digest[:6]}"
