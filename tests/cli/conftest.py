"""Fixtures for the end-to-end tests of the plumb tool.

Every test gets its own store (PLUMB_STORE in a temporary directory) and
runs the binary named by $PLUMB (make cli-test sets it)."""
import json
import os
import subprocess

import pytest

PLUMB = os.environ.get("PLUMB", os.path.join(os.path.dirname(__file__),
                                              "..", "..", "build", "plumb"))


class Plumb:
    def __init__(self, store, cwd):
        self.store = store
        self.cwd = cwd

    def env(self):
        env = dict(os.environ)
        env["PLUMB_STORE"] = self.store
        env.pop("NO_COLOR", None)
        return env

    def run(self, *args, timeout=120, check=None, env=None, merged=False):
        """plumb ARGS in the test's directory and store; env: variables
        set on top of the test's environment; merged: stderr into stdout,
        on one pipe (as 2>&1 in a CI log)."""
        e = self.env()
        e.update(env or {})
        proc = subprocess.run([PLUMB, *args], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT if merged
                              else subprocess.PIPE, text=True,
                              env=e, cwd=self.cwd, timeout=timeout,
                              stdin=subprocess.DEVNULL)
        if check is not None:
            assert proc.returncode == check, (proc.returncode, proc.stdout,
                                              proc.stderr)
        return proc

    def bench_json(self, *args, timeout=120):
        """Runs plumb bench with --export-json - and returns the document."""
        proc = self.run("bench", "--no-progress", "--export-json", "-",
                        *args, timeout=timeout, check=0)
        return json.loads(proc.stdout)

    def popen(self, *args):
        return subprocess.Popen([PLUMB, *args], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True,
                                env=self.env(), cwd=self.cwd,
                                stdin=subprocess.DEVNULL)


@pytest.fixture
def plumb(tmp_path):
    return Plumb(str(tmp_path / "store" / "plumb.db"), str(tmp_path))


def wall(doc, metric="wall_ns"):
    """The comparisons of a document on one metric."""
    return [c for c in doc["comparisons"] if c["metric"] == metric]
