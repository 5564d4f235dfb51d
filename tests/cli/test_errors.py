"""What users get when something goes wrong: a message naming the problem
and the fix, a non-zero exit, and nothing stored half-way."""
import signal
import time


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
    for cmd in ("bench", "runs", "show", "compare", "profile"):
        assert cmd in text
        assert "usage: plumb " + cmd in plumb.run(cmd, "--help",
                                                   check=0).stdout
    for missing in ("mem", "sql", "advise", "check", "report"):
        assert f"  {missing} " not in text
    assert "--param" in plumb.run("bench", "--help", check=0).stdout
