"""`models status`: for each role, found or missing, where, how big, in which format."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engine.models.checkpoints import file_format
from engine.models.config import ROLE_DESCRIPTIONS, ModelsConfig, RoleSpec
from engine.models.errors import ModelError, cli_name
from engine.models.locate import resolve


@dataclass(frozen=True)
class RoleStatus:
    role: str
    found: bool
    path: str
    size_bytes: int
    format: str
    problem: str = ""


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def role_status(spec: RoleSpec) -> RoleStatus:
    try:
        path = resolve(spec)
    except ModelError as error:
        return RoleStatus(spec.role, False, str(spec.local_path()), 0, "", str(error))
    return RoleStatus(spec.role, True, str(path), _size(path), file_format(path))


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"


def format_status(rows: list[RoleStatus], config: ModelsConfig) -> str:
    source = config.source or "built-in defaults (no models.toml)"
    lines = [f"models file: {source}", ""]
    width = max(len(r.role) for r in rows)
    for row in rows:
        if row.found:
            lines.append(
                f"{row.role:<{width}}  found    {human_size(row.size_bytes):>9}  {row.format}  {row.path}"
            )
        else:
            lines.append(f"{row.role:<{width}}  MISSING  {'':>9}  {ROLE_DESCRIPTIONS[row.role]}  {row.path}")
    missing = [r for r in rows if not r.found]
    if missing:
        fetch = f"`{cli_name()} models download ROLE` fetches them, or the app's first-run dialog finds them"
        lines += ["", f"{len(missing)} role(s) missing: {fetch}."]
    return "\n".join(lines)
