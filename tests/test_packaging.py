"""What gets installed: every package folder, under names that cannot collide."""

from pathlib import Path

import tomllib

ROOT = Path(__file__).resolve().parents[1]


def test_every_package_folder_is_installed():
    """pyproject lists packages by hand (for minivae_kernels): a new folder must be listed."""
    listed = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    found = {
        ".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "minivae").rglob("__init__.py")
    }
    assert found <= listed, f"package folders missing from pyproject.toml: {sorted(found - listed)}"
    assert "minivae_kernels" in listed and "kernels" not in listed


def test_the_kernels_import_as_minivae_kernels():
    import minivae_kernels

    assert Path(minivae_kernels.__file__).parent.name == "kernels"
