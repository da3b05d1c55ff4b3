"""Release hygiene: the tree builds a wheel and an sdist that install and work elsewhere."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import sysconfig
import tarfile
import venv
import zipfile
from pathlib import Path

import pytest

import itnio_async

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel and an sdist built from this tree (without network: --no-isolation)."""
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=180,
    )
    return out


def test_version_is_defined_once_and_released_in_the_changelog() -> None:
    """__version__ comes from _version.py only, and CHANGELOG.md has a section for it."""
    sources = [
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "itnio_async").rglob("*.py")
        if re.search(r"^__version__\s*=", p.read_text(encoding="utf-8"), re.M)
    ]
    assert sources == ["itnio_async/_version.py"]
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "## [Unreleased]" in changelog
    assert f"## [{itnio_async.__version__}] - " in changelog


def test_wheel_and_sdist_contents(dist: Path) -> None:
    """The wheel ships the typed package, the kit, the CLI and both entry points."""
    (wheel,) = dist.glob("itnio_async-*.whl")
    (sdist,) = dist.glob("itnio_async-*.tar.gz")
    assert wheel.name.startswith(f"itnio_async-{itnio_async.__version__}-")
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in (
        "itnio_async/__init__.py",
        "itnio_async/py.typed",
        "itnio_async/testing/__init__.py",
        "itnio_async/testing/_plugin.py",
        "itnio_async/_cli/__init__.py",
    ):
        assert required in names
    (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "itnio = itnio_async._cli:main" in text
    assert "itnio_async = itnio_async.testing._plugin" in text
    with tarfile.open(sdist) as archive:
        members = archive.getnames()
    assert any(m.endswith("/itnio_async/_client.py") for m in members)
    assert any(m.endswith("/tests/test_release.py") for m in members)


def test_wheel_installs_into_a_fresh_venv_and_works(dist: Path, tmp_path: Path) -> None:
    """Installed from the wheel alone, it imports from the new venv and its demo passes."""
    (wheel,) = dist.glob("itnio_async-*.whl")
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)  # ensurepip: offline, bundled with Python
    bindir = env_dir / ("Scripts" if os.name == "nt" else "bin")
    python = bindir / "python"
    target = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    # No network: the new venv's own pip installs the wheel alone (never this environment's pip,
    # which would uninstall the editable install it manages).
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-index",
            "--quiet",
            "--disable-pip-version-check",
            str(wheel),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    # Dependencies (httpx, attrs, ...) come from this test environment via PYTHONPATH;
    # its editable-install .pth is not processed there, so itnio_async must come from the wheel.
    env = {**os.environ, "PYTHONPATH": sysconfig.get_paths()["purelib"]}
    probe = subprocess.run(
        [
            str(python),
            "-c",
            "import itnio_async, itnio_async.testing; "
            "print(itnio_async.__version__); print(itnio_async.__file__)",
        ],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,  # not the repository root, whose itnio_async/ would shadow the wheel's
    )
    version, location = probe.stdout.split()
    assert version == itnio_async.__version__
    assert Path(location).is_relative_to(Path(target))
    assert (bindir / "itnio").exists()  # the console script was installed
    demo = subprocess.run(
        [str(python), "-m", "itnio_async._cli", "demo", "--bulk", "20"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "behaved as expected" in demo.stdout
