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


def test_the_wheel_carries_the_license_and_no_top_level_kernels(tmp_path):
    import importlib.metadata
    import importlib.util
    import subprocess
    import sys
    import zipfile

    # Build with the installed setuptools when it is new enough for the license metadata
    # (PEP 639: 77); a fresh venv's bundled one is older, and pip then fetches one in isolation.
    isolation = []
    if importlib.util.find_spec("setuptools") is not None:
        major = int(importlib.metadata.version("setuptools").split(".")[0])
        isolation = ["--no-build-isolation"] if major >= 77 else []
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", *isolation, "-w", tmp_path, ROOT],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("minivae-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert any(n.startswith("minivae_kernels/") for n in names)
    assert not any(n.startswith("kernels/") for n in names)
