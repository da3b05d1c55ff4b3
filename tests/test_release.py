"""Release hygiene: the tree builds a wheel and an sdist that install and work elsewhere."""

from __future__ import annotations

import importlib.metadata
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
from packaging.version import Version

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


def _released_versions(changelog: str) -> list[Version]:
    """The versions of the dated sections of CHANGELOG.md (``## [X] - YYYY-MM-DD``)."""
    return [
        Version(v) for v in re.findall(r"^## \[([^\]]+)\] - \d{4}-\d{2}-\d{2}$", changelog, re.M)
    ]


def test_version_is_defined_once_and_matches_the_changelog() -> None:
    """__version__ comes from _version.py only and is above every released version. A
    development build (``X.devN``) is what ``## [Unreleased]`` announces ("ships as X");
    any other version has a dated section of its own."""
    sources = [
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "itnio_async").rglob("*.py")
        if re.search(r"^__version__\s*=", p.read_text(encoding="utf-8"), re.M)
    ]
    assert sources == ["itnio_async/_version.py"]
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "## [Unreleased]" in changelog
    version = Version(itnio_async.__version__)
    released = _released_versions(changelog)
    assert released, "CHANGELOG.md has no released section"
    if version.is_devrelease:
        assert version > max(released)
        unreleased = changelog.split("## [Unreleased]", 1)[1].split("\n## [", 1)[0]
        assert f"ships as {version.base_version}" in unreleased
    else:
        assert version in released
        assert version == max(released)


def test_project_urls_share_one_repository() -> None:
    """The Project-URLs all point into one repository, the one the docs site names."""
    meta = importlib.metadata.metadata("itnio-async")
    urls = dict(u.split(", ", 1) for u in meta.get_all("Project-URL") or [])
    assert set(urls) == {"Homepage", "Documentation", "Source", "Issues", "Changelog"}
    repository = urls["Source"]
    assert urls["Homepage"] == repository
    assert urls["Issues"] == f"{repository}/issues"
    assert urls["Changelog"] == f"{repository}/blob/main/CHANGELOG.md"
    assert urls["Documentation"] == f"{repository}/tree/main/docs"
    mkdocs = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    assert f"repo_url: {repository}\n" in mkdocs


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
    # What the test suite reads beside the package and the tests.
    for read_by_tests in (
        "/examples/fastapi_app.py",
        "/tests/fixtures/record_by_order_id.json",
        "/docs/index.md",
        "/mkdocs.yml",
        "/benchmarks/README.md",
        "/.ci/run",
        "/CHANGELOG.md",
    ):
        assert any(m.endswith(read_by_tests) for m in members), read_by_tests


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


#: The part of the suite an unpacked sdist runs on its own: every test that reads a file
#: beside the package (README, docs, CHANGELOG, examples, fixtures, CI's script) and the
#: packaging checks. The whole suite takes minutes more and reads nothing else.
SDIST_SUITE = [
    "tests/test_release.py",
    "tests/test_package.py",
    "tests/test_docs_blocks.py",
    "tests/test_docs_site.py",
    "tests/test_readme_as_written.py",
    "tests/test_converter.py",
    "tests/test_sdk_over_sockets.py",
    "tests/test_contrib_opentelemetry.py",
    "tests/examples",
    "tests/testing/test_plugin.py",
]


@pytest.mark.timeout(1200)
@pytest.mark.skipif(
    os.environ.get("ITNIO_SDIST_CHECK") == "1",
    reason="this run is the unpacked sdist's own (the check does not repeat itself)",
)
def test_unpacked_sdist_passes_its_own_tests(dist: Path, tmp_path: Path) -> None:
    """The sdist, unpacked in an empty folder and installed with its ``dev`` extra into a
    fresh venv (from the package index), passes its own tests there: it ships every file
    they read."""
    (sdist,) = dist.glob("itnio_async-*.tar.gz")
    with tarfile.open(sdist) as archive:
        archive.extractall(tmp_path, filter="data")
    (tree,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / ("Scripts" if os.name == "nt" else "bin") / "python"
    # Editable, as a contributor installs a clone: the tests import the unpacked copy and
    # the wheel test's fresh venv can tell its own installation from this one.
    install = subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-e",
            f"{tree}[dev]",
        ],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert install.returncode == 0, install.stdout[-3000:] + install.stderr[-3000:]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "PYTHON"))}
    env["ITNIO_SDIST_CHECK"] = "1"
    env["PATH"] = f"{python.parent}{os.pathsep}{env.get('PATH', '')}"
    run = subprocess.run(
        [str(python), "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *SDIST_SUITE],
        cwd=tree,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        env=env,
    )
    assert run.returncode == 0, run.stdout[-5000:] + run.stderr[-3000:]
    assert " passed" in run.stdout.splitlines()[-1]
