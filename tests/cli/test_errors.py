"""What users get when something goes wrong: a message naming the problem
and the fix, a non-zero exit, and nothing stored half-way."""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pytest

from conftest import PLUMB


def assert_nothing_stored(plumb):
    assert "no stored runs" in plumb.run("runs", check=0).stdout


def test_missing_command(plumb):
    proc = plumb.run("bench", "true", "no-such-program --flag", check=1)
    assert "command not found: 'no-such-program'" in proc.stderr
    assert "PATH" in proc.stderr
    assert_nothing_stored(plumb)


def test_failing_command_shows_its_stderr(plumb):
    proc = plumb.run("bench", "--runs", "3",
                     "sh -c 'echo first >&2; echo boom >&2; exit 3'",
                     check=1)
    assert "exited with status 3" in proc.stderr
    assert "| boom" in proc.stderr
    assert "--ignore-failure" in proc.stderr
    assert_nothing_stored(plumb)


def test_ignore_failure_keeps_failed_runs(plumb):
    doc = plumb.bench_json("--runs", "3", "-i", "sh -c 'exit 2'")
    [run] = doc["runs"]
    assert run["failures"] == 3
    assert all(s["exit_code"] == 2 for s in run["samples"])
    assert any("failed" in w for w in doc["warnings"])


def test_timeout_kills_the_process_group(plumb):
    start = time.monotonic()
    proc = plumb.run("bench", "--timeout", "0.3", "sleep 30", check=1)
    assert time.monotonic() - start < 10
    assert "timed out after 0.3 s" in proc.stderr
    assert_nothing_stored(plumb)


def test_signal_is_named(plumb):
    proc = plumb.run("bench", "sh -c 'kill -TERM $$'", check=1)
    assert "killed by signal 15" in proc.stderr


def test_interrupt_prints_and_stores_partial_results(plumb):
    child = plumb.popen("bench", "--runs", "1000", "sleep 0.05")
    time.sleep(2.0)
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=30)
    assert child.returncode == 130, err
    assert "interrupted" in err and "partial" in err
    assert "median" in out
    runs = plumb.run("runs", check=0).stdout
    assert "(partial)" in runs


def test_bad_arguments(plumb):
    assert "--runs" not in plumb.run("bench", "-r", "x", "true",
                                     check=2).stdout
    assert "no command to measure" in plumb.run("bench", check=2).stderr
    assert "--param takes NAME=" in plumb.run("bench", "-P", "n", "true",
                                              check=2).stderr
    assert "unknown command" in plumb.run("frobnicate", check=2).stderr
    assert "names no --param" in plumb.run(
        "bench", "--compare-param", "x", "true", check=2).stderr
    assert_nothing_stored(plumb)


def test_unusable_store_fails_before_measuring(plumb, tmp_path):
    bad = tmp_path / "not-a-db"
    bad.write_text("hello, I am not SQLite\n" * 100)
    start = time.monotonic()
    proc = plumb.run("bench", "--store", str(bad), "sleep 5", check=1)
    assert time.monotonic() - start < 4
    assert str(bad) in proc.stderr
    assert bad.read_text().startswith("hello")


def test_help_lists_only_what_exists(plumb):
    text = plumb.run("--help", check=0).stdout
    for cmd in ("bench", "runs", "show", "compare", "profile", "mem"):
        assert cmd in text
        assert "usage: plumb " + cmd in plumb.run(cmd, "--help",
                                                   check=0).stdout
    for missing in ("advise", "check", "report"):
        assert f"  {missing} " not in text
    assert "--param" in plumb.run("bench", "--help", check=0).stdout


# ---- plumb profile: targets it cannot read ---------------------------------

def sleeper(*argv):
    return subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def test_profile_to_an_unwritable_output(plumb, tmp_path):
    out = tmp_path / "no-such-dir" / "profile.txt"
    proc = plumb.run("profile", "-o", str(out), "--", sys.executable, "-c",
                     "pass", check=1)
    assert (f"cannot write {out}: No such file or directory; check the "
            "directory exists and is writable") in proc.stderr
    # the profile is not lost: it is in the store
    assert "stored as run 1" in proc.stderr
    assert "profile" in plumb.run("runs", check=0).stdout


def test_profile_a_pid_that_is_gone(plumb):
    gone = sleeper("true")
    gone.wait()
    proc = plumb.run("profile", "-p", str(gone.pid), timeout=30, check=1)
    assert f"no process with pid {gone.pid}: it has exited" in proc.stderr, \
        proc.stderr
    assert "pgrep -a python" in proc.stderr
    assert_nothing_stored(plumb)


def test_profile_attach_to_a_program_that_is_not_python(plumb):
    target = sleeper("sleep", "30")
    try:
        start = time.monotonic()
        proc = plumb.run("profile", "-p", str(target.pid), timeout=30,
                         check=1)
        assert time.monotonic() - start < 10
        assert f"process {target.pid} (sleep) is not a CPython interpreter" \
            in proc.stderr, proc.stderr
        assert target.poll() is None, "plumb must leave the target running"
    finally:
        target.kill()
        target.wait()
    assert_nothing_stored(plumb)


def test_profile_launch_a_program_that_is_not_python(plumb):
    proc = plumb.run("profile", "--", "sleep", "1", timeout=30, check=1)
    assert "(sleep) is not a CPython interpreter" in proc.stderr
    assert "the program exited before it ran CPython" in proc.stderr
    assert_nothing_stored(plumb)


NOBODY = 65534


@pytest.mark.skipif(os.geteuid() != 0,
                    reason="needs root: a root-owned Python process read by "
                           "an unprivileged user (uid 65534)")
@pytest.mark.skipif(shutil.which("setpriv") is None,
                    reason="needs setpriv (util-linux) to drop to uid 65534")
def test_profile_permission_denied(plumb):
    # The store sits where uid 65534 can write it, so that what is checked
    # is the refusal to read the process, not a store it cannot open.
    store_dir = tempfile.mkdtemp(prefix="plumb-eacces-")
    os.chmod(store_dir, 0o777)
    store = os.path.join(store_dir, "plumb.db")
    target = sleeper(sys.executable, "-c", "import time; time.sleep(60)")
    try:
        time.sleep(0.3)
        proc = subprocess.run(
            ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}",
             "--clear-groups", PLUMB, "profile", "--store", store,
             "-p", str(target.pid)],
            capture_output=True, text=True, timeout=30, cwd="/",
            stdin=subprocess.DEVNULL)
        assert target.poll() is None, "plumb must leave the target running"
    finally:
        target.kill()
        target.wait()
    try:
        assert proc.returncode == 1, (proc.returncode, proc.stderr)
        err = proc.stderr
        assert "permission denied reading the memory of process " \
               f"{target.pid}" in err, err
        assert "same user as the process or as root" in err
        assert "CAP_SYS_PTRACE" in err
        runs = plumb.run("runs", "--store", store, check=0).stdout
        assert "no stored runs" in runs, runs
    finally:
        shutil.rmtree(store_dir)
