"""A throwaway PostgreSQL server for plumb's tests.

    with PgServer() as pg:
        connect(pg.dsn)   # "host=127.0.0.1 port=N dbname=plumb_test user=plumb"
        connect(pg.url)   # "postgresql://plumb@127.0.0.1:N/plumb_test"

    python3 tests/pgserver.py run -- CMD ARGS...

The script form starts a server, runs CMD with PLUMB_TEST_PG set to the
dsn, stops the server and exits with CMD's status.

The server lives in a temporary directory (under $TMPDIR) that is removed
with it: its data, its log and its unix socket. It listens on 127.0.0.1
only, on a free port, trusts the user `plumb` (its superuser) and runs with
fsync off: it is for tests, never for data. PostgreSQL refuses to run as
root, so as root initdb and pg_ctl run as the `postgres` user. The server
is stopped and the directory removed however the with-block or CMD ends:
an exception, a failing status, SIGINT, SIGTERM or SIGHUP.

Only the standard library is used. A server that cannot be started raises
PgServerError (the script exits 1) with the reason: tests that need one
fail rather than skip.
"""

import glob
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

USER = "plumb"
DBNAME = "plumb_test"
START_ATTEMPTS = 5
START_TIMEOUT_S = 60


class PgServerError(RuntimeError):
    """The server could not be started; the message says why."""


class _Terminated(BaseException):
    """SIGTERM or SIGHUP, raised so that the server is cleaned up."""

    def __init__(self, signum):
        super().__init__(signum)
        self.signum = signum


def _version_key(path):
    m = re.search(r"/(\d+(?:\.\d+)?)/bin$", path)
    return float(m.group(1)) if m else 0.0


def find_bindir():
    """The directory of initdb and pg_ctl: $PG_BINDIR, `pg_config --bindir`,
    the newest /usr/lib/postgresql/*/bin, or PATH."""
    candidates = []
    if os.environ.get("PG_BINDIR"):
        candidates.append(os.environ["PG_BINDIR"])
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            out = subprocess.run([pg_config, "--bindir"], capture_output=True,
                                 text=True, timeout=30, check=False)
            if out.returncode == 0 and out.stdout.strip():
                candidates.append(out.stdout.strip())
        except (OSError, subprocess.SubprocessError):
            pass
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                         key=_version_key, reverse=True)
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(os.path.dirname(initdb))
    for d in candidates:
        if all(os.access(os.path.join(d, tool), os.X_OK)
               for tool in ("initdb", "pg_ctl", "postgres")):
            return d
    raise PgServerError(
        "no PostgreSQL server programs (initdb, pg_ctl, postgres) found in "
        + (", ".join(candidates) or "pg_config --bindir, "
           "/usr/lib/postgresql/*/bin or PATH")
        + "; on Debian: apt-get install postgresql (scripts/deps.sh)")


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgServer:
    """A PostgreSQL server for the length of a with-block."""

    def __init__(self, dbname=DBNAME, user=USER):
        self.dbname = dbname
        self.user = user
        self.host = "127.0.0.1"
        self.port = None
        self.dir = None
        self.bindir = None
        self._started = False
        self._as_user = None  # the account the server runs as, when root

    # ---- what tests use ----------------------------------------------------
    @property
    def dsn(self):
        return (f"host={self.host} port={self.port} dbname={self.dbname} "
                f"user={self.user}")

    @property
    def url(self):
        return f"postgresql://{self.user}@{self.host}:{self.port}/{self.dbname}"

    # ---- life --------------------------------------------------------------
    def __enter__(self):
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def _command(self, args):
        if self._as_user:
            return ["runuser", "-u", self._as_user, "--"] + args
        return args

    def _run(self, args, what, timeout=120):
        try:
            out = subprocess.run(self._command(args), cwd=self.dir,
                                 stdin=subprocess.DEVNULL,
                                 capture_output=True, text=True,
                                 timeout=timeout, check=False)
        except (OSError, subprocess.SubprocessError) as e:
            raise PgServerError(f"{what}: {e}") from None
        if out.returncode != 0:
            raise PgServerError(f"{what} failed (status {out.returncode}): "
                                + (out.stderr or out.stdout).strip())
        return out

    def _tool(self, name):
        return os.path.join(self.bindir, name)

    def start(self):
        self.bindir = find_bindir()
        self.dir = tempfile.mkdtemp(prefix="plumb-pg-")
        if os.geteuid() == 0:
            try:
                account = pwd.getpwnam("postgres")
            except KeyError:
                raise PgServerError(
                    "running as root, and PostgreSQL refuses root: no "
                    "`postgres` user to run it as (apt-get install "
                    "postgresql creates one)") from None
            if not shutil.which("runuser"):
                raise PgServerError("running as root without runuser to "
                                    "start PostgreSQL as `postgres`")
            os.chown(self.dir, account.pw_uid, account.pw_gid)
            self._as_user = "postgres"
            if subprocess.run(self._command(["test", "-w", self.dir]),
                              check=False).returncode != 0:
                # $TMPDIR is not reachable by postgres (under /root, say).
                shutil.rmtree(self.dir, ignore_errors=True)
                self.dir = tempfile.mkdtemp(prefix="plumb-pg-", dir="/tmp")
                os.chown(self.dir, account.pw_uid, account.pw_gid)
        data = os.path.join(self.dir, "data")
        self._run([self._tool("initdb"), "-D", data, "-U", self.user,
                   "--auth=trust", "--encoding=UTF8", "--locale=C",
                   "--no-sync"], "initdb")
        # A unix socket path has at most 107 bytes; past that, TCP only.
        socket_dir = self.dir if len(self.dir) < 80 else ""
        last_error = None
        for _ in range(START_ATTEMPTS):
            self.port = _free_port()
            conf = (f"\n# plumb tests\nlisten_addresses = '127.0.0.1'\n"
                    f"port = {self.port}\n"
                    f"unix_socket_directories = '{socket_dir}'\n"
                    "fsync = off\nsynchronous_commit = off\n"
                    "full_page_writes = off\n")
            with open(os.path.join(data, "postgresql.auto.conf"), "a") as f:
                f.write(conf)
            try:
                self._run([self._tool("pg_ctl"), "-D", data, "-l",
                           os.path.join(self.dir, "server.log"), "-w",
                           "-t", str(START_TIMEOUT_S), "start"],
                          "pg_ctl start", timeout=START_TIMEOUT_S + 30)
                self._started = True
                break
            except PgServerError as e:
                # Most likely the port was taken between choosing and
                # binding it: choose another.
                last_error = e
                self._started = self._postmaster_pid() is not None
                if self._started:
                    break
        if not self._started:
            log = self._log_tail()
            raise PgServerError(f"{last_error}" + (f"\n{log}" if log else ""))
        self._run([self._tool("createdb"), "-h", self.host, "-p",
                   str(self.port), "-U", self.user, self.dbname], "createdb")

    def _log_tail(self):
        try:
            with open(os.path.join(self.dir, "server.log")) as f:
                return "".join(f.readlines()[-20:]).strip()
        except OSError:
            return ""

    def _postmaster_pid(self):
        try:
            with open(os.path.join(self.dir, "data", "postmaster.pid")) as f:
                pid = int(f.readline())
            os.kill(pid, 0)
            return pid
        except (OSError, ValueError):
            return None

    def stop(self):
        """Stops the server (immediately: its data is thrown away) and
        removes its directory. Safe to call more than once."""
        if self.dir is None:
            return
        # A second Ctrl-C must not leave the server running: signals wait
        # until it is gone.
        blocked = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, blocked)
        try:
            self._stop()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)

    def _stop(self):
        try:
            if self._started or self._postmaster_pid():
                try:
                    self._run([self._tool("pg_ctl"), "-D",
                               os.path.join(self.dir, "data"), "-m",
                               "immediate", "-w", "-t", "30", "stop"],
                              "pg_ctl stop", timeout=60)
                except PgServerError:
                    pass
                pid = self._postmaster_pid()
                if pid:
                    # pg_ctl could not stop it: the postmaster ends its
                    # children itself on SIGQUIT; SIGKILL if it will not.
                    os.kill(pid, signal.SIGQUIT)
                    for _ in range(100):
                        if self._postmaster_pid() is None:
                            break
                        time.sleep(0.05)
                    else:
                        os.kill(pid, signal.SIGKILL)
        finally:
            self._started = False
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None


def _raise_terminated(signum, frame):
    raise _Terminated(signum)


def run(argv):
    """Runs argv with PLUMB_TEST_PG set; its exit status (128 + signal when
    it was interrupted or killed)."""
    if not argv:
        print("usage: pgserver.py run -- CMD [ARGS...]", file=sys.stderr)
        return 2
    old = {s: signal.signal(s, _raise_terminated)
           for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        with PgServer() as pg:
            env = dict(os.environ, PLUMB_TEST_PG=pg.dsn)
            return _run_child(argv, env)
    except PgServerError as e:
        print(f"pgserver: cannot start PostgreSQL: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 128 + signal.SIGINT
    except _Terminated as e:
        return 128 + e.signum
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)


def _run_child(argv, env):
    """argv's exit status; when we are interrupted, the child is ended first
    (the server is still up for it meanwhile)."""
    try:
        child = subprocess.Popen(argv, env=env)
    except OSError as e:
        print(f"pgserver: cannot run {argv[0]}: {e}", file=sys.stderr)
        return 127
    try:
        status = child.wait()
    except (KeyboardInterrupt, _Terminated) as e:
        signum = e.signum if isinstance(e, _Terminated) else signal.SIGINT
        # Ctrl-C reached the child too (same process group); a signal sent
        # to us alone is passed on.
        if signum != signal.SIGINT:
            child.send_signal(signum)
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        raise
    return 128 - status if status < 0 else status


def main(argv):
    if len(argv) >= 2 and argv[1] == "run":
        rest = argv[2:]
        if rest and rest[0] == "--":
            rest = rest[1:]
        return run(rest)
    print(__doc__.strip(), file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
