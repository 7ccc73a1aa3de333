"""Small helpers shared by several test modules."""

from __future__ import annotations

from pathlib import Path


def write_dist(site: Path, name: str, version: str, entry_points: dict[str, dict[str, str]]) -> None:
    """A minimal installed distribution: METADATA and entry_points.txt, as pip writes them."""
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    lines = []
    for group, eps in entry_points.items():
        lines += [f"[{group}]"] + [f"{n} = {target}" for n, target in eps.items()] + [""]
    (info / "entry_points.txt").write_text("\n".join(lines))


def one_line_error(result, *fragments):
    """Exit 1, exactly one `Error:` line and nothing else, no traceback, every fragment in it."""
    assert result.code == 1, result.err
    assert result.err.startswith("Error: ") and result.err.count("\n") == 1, result.err
    assert "Traceback" not in result.err and result.out == ""
    for fragment in fragments:
        assert fragment in result.err
