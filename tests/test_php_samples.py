"""Cross-check with a client nobody here wrote: the vendor's PHP samples against the sandbox.

The PHP request samples of the five seed pages are kept in the repository, verbatim,
in ``tests/fixtures/vendor_php/`` (each file names its source page and what is changed
when it runs). Each is run with ``php`` unchanged except for the credentials, the base
URL, the ``{{...}}`` placeholders (filled from seeded data) and no-break spaces. Every
sample must get ``"status": "0"`` from ``FakeItnio.serve()``, and ``"-1"`` when signed
with a wrong secret.

Without ``php`` (and its curl extension) the tests skip, except when the ``CI``
environment variable is set: then they fail, because CI installs php. Where the seed
pages themselves are at hand (``../shared/seeds`` beside the clone), the fixtures are
checked to be verbatim copies of their PHP blocks.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from itnio_async.testing import FakeItnio, SeedData

FIXTURES = Path(__file__).parent / "fixtures" / "vendor_php"
#: The line after which a fixture is the vendor's sample, verbatim.
VERBATIM = "// ---- verbatim vendor sample below ----\n"
SEEDS = Path(__file__).parents[1].parent / "shared" / "seeds"
VENDOR_BASE = "https://api.itniotech.com/otp"
KEY = "php-sample-key"
SECRET = "php-sample-secret"

#: What each seed page's PHP sample calls (method, path with the seeded ids filled in).
EXPECTED = {
    "000_fce3eb22157da344": ("GET", "/flow/details/{flow_id}"),
    "001_ca04bd638280c32d": ("PUT", "/flow/update/90"),
    "002_3664d1c0a411eed3": ("GET", "/template/details/{template_id}"),
    "003_79145c8884914dab": ("POST", "/verification/orderId/record"),
    "004_11f036a36a0d662d": ("GET", "/app/details/{app_id}"),
}
SAMPLES = sorted(FIXTURES.glob("*.php"))


def sample_of(fixture: Path) -> str:
    """The vendor's sample in a fixture: everything after its header."""
    header, marker, sample = fixture.read_text(encoding="utf-8").partition(VERBATIM)
    assert marker, f"{fixture.name} has no '{VERBATIM.strip()}' line"
    assert header.startswith("// Source: the vendor's page ")
    return sample.removesuffix("\n")


def php_block(page: str) -> str:
    """The PHP sample of a page: after the second ``REQUEST`` line, up to ``RESPONSEEXAMPLE``."""
    lines = page.splitlines()
    markers = [i for i, line in enumerate(lines) if line == "REQUEST"]
    assert len(markers) >= 2, "a seed page has a Java and a PHP REQUEST block"
    end = lines.index("RESPONSEEXAMPLE", markers[1])
    return "\n".join(lines[markers[1] + 1 : end])


def prepare(block: str, base_url: str, secret: str, ids: SeedData) -> str:
    """Substitute credentials, base URL, placeholders and no-break spaces; prepend ``<?php``."""
    values = {
        "appId": ids.app_id,
        "templateId": str(ids.template_id),
        "flowId": str(ids.flow_id),
        "orderId": ids.order_id,
    }
    script = (
        block.replace("\u00a0", " ")
        .replace("your api key", KEY)
        .replace("your api secret", secret)
        .replace(VENDOR_BASE, base_url)
    )
    script = re.sub(r"\{\{(\w+)\}\}", lambda m: values[m.group(1)], script)
    assert "{{" not in script
    assert VENDOR_BASE not in script
    return "<?php\n" + script + "\n"


def write_script(fixture: Path, directory: Path, base_url: str, secret: str, ids: SeedData) -> Path:
    """Write the prepared PHP sample of ``fixture`` into ``directory``."""
    script = directory / "sample.php"
    script.write_text(prepare(sample_of(fixture), base_url, secret, ids), encoding="utf-8")
    return script


def parse_var_dump(output: str) -> dict[str, object]:
    """The JSON inside PHP's ``var_dump`` of a string: ``string(N) "..."``."""
    match = re.fullmatch(r'string\((\d+)\) "(.*)"\s*', output, re.DOTALL)
    assert match is not None, f"not a var_dump'ed string: {output[:200]!r}"
    text = match.group(2)
    assert len(text.encode()) == int(match.group(1))
    parsed = json.loads(text)
    assert isinstance(parsed, dict)
    return parsed


@pytest.fixture(scope="module")
def php() -> str:
    """The php binary with the curl extension; skip (or fail under CI) without it."""
    binary = shutil.which("php")
    problem = None
    if binary is None:
        problem = "php is not installed (apt-get install -y php-cli php-curl)"
    else:
        modules = subprocess.run(
            [binary, "-m"], capture_output=True, text=True, check=False, timeout=30
        ).stdout
        if "curl" not in modules.split():
            problem = "php has no curl extension (apt-get install -y php-curl)"
    if problem is not None:
        if os.environ.get("CI"):
            pytest.fail(f"{problem}; CI must provide it")
        pytest.skip(problem)
    assert binary is not None
    return binary


def test_every_vendor_sample_is_kept_in_the_repository() -> None:
    """The five samples are fixtures of the repository, each a curl call with the
    vendor's credential placeholders (no folder beside the clone is needed)."""
    assert [p.stem for p in SAMPLES] == sorted(EXPECTED)
    for fixture in SAMPLES:
        sample = sample_of(fixture)
        assert "curl_init" in sample
        assert "your api secret" in sample


@pytest.mark.parametrize("fixture", SAMPLES, ids=[p.stem[:3] for p in SAMPLES])
def test_fixtures_are_verbatim_copies_of_the_seed_pages(fixture: Path) -> None:
    """Where the seed pages are at hand, each fixture is its page's PHP block, verbatim."""
    page = SEEDS / (fixture.stem + ".txt")
    if not page.is_file():
        pytest.skip(f"no seed page {page} to compare with (the fixture is the copy)")
    assert sample_of(fixture) == php_block(page.read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("signed_right", "expected_status"), [(True, "0"), (False, "-1")], ids=["signed", "bad-secret"]
)
@pytest.mark.parametrize("fixture", SAMPLES, ids=[p.stem[:3] for p in SAMPLES])
async def test_php_sample_against_the_sandbox(
    php: str, fixture: Path, signed_right: bool, expected_status: str, tmp_path: Path
) -> None:
    """The vendor's PHP sample gets status "0" from the sandbox ("-1" with a wrong secret)."""
    fake = FakeItnio(KEY, SECRET)
    ids = fake.seed()
    async with fake.serve() as base_url:
        secret = SECRET if signed_right else "wrong-secret"
        script = write_script(fixture, tmp_path, base_url, secret, ids)
        process = await asyncio.create_subprocess_exec(
            php,
            str(script),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 0, stderr.decode(errors="replace")
    answer = parse_var_dump(stdout.decode())
    assert answer["status"] == expected_status, answer
    method, path = EXPECTED[fixture.stem]
    [request] = fake.requests
    assert (request.method, request.path) == (
        method,
        path.format(app_id=ids.app_id, template_id=ids.template_id, flow_id=ids.flow_id),
    )
    assert request.headers["api-key"] == KEY
    assert request.headers["content-type"] == "application/json;charset=UTF-8"
    if signed_right:
        assert isinstance(answer["data"], dict)
    else:
        assert "data" not in answer
