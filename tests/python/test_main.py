"""python -m plumb runs the plumb tool (the same C code as build/plumb)."""
import json
import os
import subprocess
import sys

import pytest

PACKAGE_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..",
                                            "..", "python"))


def run(*args, cwd=None):
    env = dict(os.environ)
    env["PYTHONPATH"] = PACKAGE_ROOT
    return subprocess.run([sys.executable, "-m", "plumb", *args],
                          capture_output=True, text=True, env=env, cwd=cwd,
                          timeout=120, stdin=subprocess.DEVNULL)


def test_version_and_help():
    import plumb
    p = run("--version")
    assert p.returncode == 0
    assert p.stdout == f"plumb {plumb.__version__} (JSON schema 1)\n"
    p = run("--help")
    assert p.returncode == 0 and "usage: plumb COMMAND" in p.stdout


def test_unknown_command_is_a_usage_error():
    p = run("frobnicate")
    assert p.returncode == 2
    assert "unknown command 'frobnicate'" in p.stderr


def test_bench_runs_commands_and_exports_json(tmp_path):
    p = run("bench", "--no-store", "--no-progress", "--runs", "3",
            "--export-json", "-", "true", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert doc["schema_version"] == 1
    [run_] = doc["runs"]
    assert len(run_["samples"]) == 3


@pytest.mark.parametrize("args", [["bench"], ["bench", "--runs", "x", "true"]])
def test_bench_usage_errors_exit_2(args, tmp_path):
    p = run(*args, cwd=tmp_path)
    assert p.returncode == 2
    assert p.stderr.startswith("plumb: error:") or "usage" in p.stderr
