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
