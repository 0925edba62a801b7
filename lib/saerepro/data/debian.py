"""Debian packages as a text source: download with ``apt-get``, unpack with ``dpkg-deb``.

Nothing is installed: each package is fetched as a ``.deb`` and unpacked into a folder of its
own, and its name, version and licence are kept as provenance.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

from saerepro.core.atomic import atomic_directory

HUB_ALTERNATIVE = (
    "With Hugging Face hub access, a text dataset such as 'monology/pile-uncopyrighted' or "
    "'HuggingFaceFW/fineweb' can stand in for the Debian corpus."
)


class PackageToolError(RuntimeError):
    """``apt-get`` or ``dpkg-deb`` is missing or failed; the message says what to do instead."""


@dataclass(frozen=True)
class Package:
    """An unpacked Debian package: where its files are and where it came from."""

    name: str
    version: str
    licence: str
    root: Path

    def provenance(self) -> dict[str, str]:
        row = asdict(self)
        row.pop("root")
        return row

    def path(self, inside: str) -> Path:
        """A path inside the unpacked package, e.g. ``usr/share/doc``."""
        return self.root / inside


def _require_tool(tool: str) -> str:
    found = shutil.which(tool)
    if found is None:
        raise PackageToolError(
            f"`{tool}` was not found: the offline corpus is built from Debian packages, which "
            f"needs Debian's apt-get and dpkg-deb. {HUB_ALTERNATIVE}"
        )
    return found


def _run(args: list[str], cwd: Path | None = None) -> str:
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise PackageToolError(f"`{' '.join(args)}` failed: {result.stderr.strip()[-500:]}")
    return result.stdout


def _licence(root: Path, name: str) -> str:
    """The first ``License:`` field of a machine-readable (DEP-5) copyright file, else a pointer."""
    copyright_file = root / "usr/share/doc" / name / "copyright"
    text = copyright_file.read_text(errors="replace") if copyright_file.is_file() else ""
    match = re.search(r"^License:[ \t]*(\S[^\n]*)", text, flags=re.MULTILINE)
    if text.startswith("Format:") and match:
        return match.group(1).strip()
    return f"see /usr/share/doc/{name}/copyright"


def fetch_package(name: str, folder: str | Path) -> Package:
    """Download and unpack ``name`` into ``folder/name`` (kept if already there)."""
    folder = Path(folder)
    root = folder / name
    if not (root / ".version").is_file():
        apt_get, dpkg_deb = _require_tool("apt-get"), _require_tool("dpkg-deb")
        with atomic_directory(root) as tmp:
            _run([apt_get, "download", "-q", name], cwd=tmp)
            (deb,) = sorted(tmp.glob("*.deb"))
            version = _run([dpkg_deb, "-f", str(deb), "Version"]).strip()
            _run([dpkg_deb, "-x", str(deb), str(tmp)])
            deb.unlink()
            (tmp / ".version").write_text(version)
    version = (root / ".version").read_text().strip()
    return Package(name=name, version=version, licence=_licence(root, name), root=root)
