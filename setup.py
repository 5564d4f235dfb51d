"""Builds the plumb Python package with the project's own build: `make
python-ext` compiles libplumb, the tool and python/plumb/*.c for the
interpreter running this script (found through its sysconfig), and the
extension it makes is what gets installed. Offline, with the system's
setuptools:

    pip install --no-build-isolation .
"""
import os
import shutil
import subprocess
import sys
import sysconfig

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = os.path.dirname(os.path.abspath(__file__))


class MakeBuildExt(build_ext):
    """build_ext through the Makefile, so that the flags (-Wall -Wextra
    -Werror) and the sources are the ones every other build uses."""

    def build_extension(self, ext):
        make = os.environ.get("MAKE", "make")
        subprocess.check_call([make, "--no-print-directory",
                               f"PYTHON={sys.executable}", "python-ext"],
                              cwd=ROOT)
        built = os.path.join(ROOT, "python", "plumb",
                             "_core" + sysconfig.get_config_var("EXT_SUFFIX"))
        target = self.get_ext_fullpath(ext.name)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(built, target)


setup(
    ext_modules=[Extension("plumb._core", sources=["python/plumb/_core.c"])],
    cmdclass={"build_ext": MakeBuildExt},
)
