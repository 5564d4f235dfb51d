"""The package's tests import plumb from python/ in this checkout, with the
extension make built there for this interpreter (make python-test does
both; by hand: make python-ext PYTHON=/usr/bin/python3, then
PYTHONPATH=python /usr/bin/python3 -m pytest tests/python)."""
import os
import sys
import sysconfig

PACKAGE_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..",
                                            "..", "python"))
if PACKAGE_ROOT not in sys.path:
    sys.path.insert(0, PACKAGE_ROOT)

extension = os.path.join(PACKAGE_ROOT, "plumb",
                         "_core" + sysconfig.get_config_var("EXT_SUFFIX"))
if not os.path.exists(extension):
    raise RuntimeError(f"{extension} is missing: build it first with "
                       f"make python-ext PYTHON={sys.executable}")


# ---- PostgreSQL -------------------------------------------------------------
# The tests that need a server get one per session: the one whose dsn
# PLUMB_TEST_PG holds (python3 tests/pgserver.py run -- CMD starts it), or
# one started here by tests/pgserver.py. Without one they fail in CI
# (CI=true) and are skipped elsewhere, saying why.
import pytest  # noqa: E402

TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class _GivenServer:
    def __init__(self, dsn):
        self.dsn = dsn
        self.url = None


def _no_server(why):
    if os.environ.get("CI"):
        pytest.fail(f"no PostgreSQL server for this test: {why}")
    pytest.skip(f"no PostgreSQL server: {why}")


@pytest.fixture(scope="session")
def pg():
    """A PostgreSQL server on loopback: .dsn (libpq key=value) and .url
    (None when given by PLUMB_TEST_PG)."""
    dsn = os.environ.get("PLUMB_TEST_PG")
    if dsn:
        yield _GivenServer(dsn)
        return
    if TESTS_DIR not in sys.path:
        sys.path.append(TESTS_DIR)
    try:
        from pgserver import PgServer
    except ImportError as e:
        _no_server(f"tests/pgserver.py cannot be imported ({e})")
    try:
        server = PgServer()
        server.__enter__()
    except Exception as e:  # noqa: BLE001 (any reason is reported)
        _no_server(f"tests/pgserver.py could not start one: "
                   f"{type(e).__name__}: {e}")
    try:
        yield server
    finally:
        server.__exit__(None, None, None)
