"""The pytest plugin: ``itnio_fake`` and ``itnio_client`` in a user's test suite (pytester)."""

from __future__ import annotations

import sys
import textwrap

import pytest

USER_TEST = '''
from itnio_async.testing import FakeItnio

async def test_login(itnio_client, itnio_fake):
    """A user's login flow: send a code, verify a wrong one, then the delivered one."""
    app = await itnio_client.apps.create(name="my-shop")
    template = await itnio_client.templates.create(
        app_id=app.app_id, name="login", text="Your code is ##code##"
    )
    sent = await itnio_client.verifications.send(
        app_id=app.app_id, template_id=template.template_id, to="8613512345678"
    )
    assert not (await itnio_client.verifications.verify(sent.verification_id, "zzzz")).ok
    code = itnio_fake.last_code("8613512345678")
    assert (await itnio_client.verifications.verify(sent.verification_id, code)).ok
    assert len(itnio_fake.sent_to("8613512345678")) == 1
    assert isinstance(itnio_fake, FakeItnio)
'''

INI = """
[pytest]
asyncio_mode = {mode}
asyncio_default_fixture_loop_scope = function
filterwarnings = error
"""


def test_fixtures_in_auto_mode(pytester: pytest.Pytester) -> None:
    """Auto mode: the login test passes, each test gets a fresh fake, clients are closed."""
    pytester.makeini(INI.format(mode="auto"))
    pytester.makepyfile(
        test_user=USER_TEST
        + textwrap.dedent(
            """

            seen = []

            async def test_first(itnio_client, itnio_fake):
                itnio_fake.seed()
                seen.append((itnio_client, itnio_fake))
                assert len(await itnio_client.templates.list()) == 2

            async def test_second(itnio_client, itnio_fake):
                itnio_fake.seed()  # a fresh fake: the seed's names are free again
                old_client, old_fake = seen[0]
                assert old_client.is_closed
                assert old_fake is not itnio_fake
                assert not itnio_client.is_closed
            """
        )
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)


def test_fixtures_in_strict_mode(pytester: pytest.Pytester) -> None:
    """Under strict mode the async fixture still works for @pytest.mark.asyncio tests."""
    pytester.makeini(INI.format(mode="strict"))
    pytester.makepyfile(test_user="import pytest\n\npytestmark = pytest.mark.asyncio\n" + USER_TEST)
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_plugin_loads_without_pytest_asyncio(pytester: pytest.Pytester) -> None:
    """Without pytest-asyncio the plugin still loads; the anyio plugin runs the async fixture."""
    pytester.makepyfile(
        test_user=textwrap.dedent(
            """
            import sys

            import pytest

            @pytest.fixture
            def anyio_backend():
                return "asyncio"

            def test_no_pytest_asyncio(itnio_fake):
                assert "pytest_asyncio" not in sys.modules
                assert itnio_fake.seed().flow_id == 90

            @pytest.mark.anyio
            async def test_with_anyio(itnio_client, itnio_fake):
                ids = itnio_fake.seed()
                assert (await itnio_client.flows.get(ids.flow_id)).name == "sms-then-call"
            """
        )
    )
    # Shadows the installed package: on pytester's PYTHONPATH, importing it fails.
    pytester.makepyfile(
        **{"pytest_asyncio/__init__": "raise ImportError('pytest-asyncio is hidden by the test')"}
    )
    runner = (
        "import sys, pytest; sys.exit(pytest.main(['-p', 'no:asyncio', '-p', "
        "'no:cacheprovider', '-W', 'error', 'test_user.py']))"
    )
    result = pytester.run(sys.executable, "-c", runner)
    result.stdout.fnmatch_lines(["*2 passed*"])
    assert result.ret == 0


#: Loads the plugin the way pytest does (its ``pytest11`` entry point) in a fresh
#: interpreter and reports which modules that brought in.
LOAD_PLUGIN = """
import importlib.metadata, json, sys
(entry_point,) = [
    ep for ep in importlib.metadata.entry_points(group="pytest11") if ep.name == "itnio_async"
]
plugin = entry_point.load()
print(json.dumps({"plugin": plugin.__name__, "modules": sorted(sys.modules)}))
"""


def test_loading_the_plugin_imports_nothing_of_the_sdk() -> None:
    """The pytest11 entry point loads the plugin without the client, the fake or httpx:
    a test session that never uses the fixtures pays nothing for them."""
    import json
    import subprocess

    done = subprocess.run(
        [sys.executable, "-c", LOAD_PLUGIN], capture_output=True, text=True, check=True, timeout=60
    )
    report = json.loads(done.stdout)
    assert report["plugin"] == "itnio_async.testing._plugin"
    loaded = set(report["modules"])
    ours = sorted(m for m in loaded if m == "itnio_async" or m.startswith("itnio_async."))
    assert ours == [
        "itnio_async",
        "itnio_async._lazy",  # the first-use loader itself (no import of its own)
        "itnio_async._version",
        "itnio_async.testing",
        "itnio_async.testing._plugin",
    ]
    assert "itnio_async._client" not in loaded
    assert "httpx" not in loaded
