"""python -m plumb ...: the plumb command-line tool, run in this process
through the extension (the same code as the `plumb` binary)."""
import os
import sys

from . import _core


def main() -> int:
    # plumb mem runs this very package's recorder inside the program; the
    # tool finds it beside its binary, which here is the interpreter
    os.environ.setdefault("PLUMB_PYTHON_DIR", os.path.dirname(
        os.path.dirname(os.path.abspath(__file__))))
    return _core.cli_main(["plumb", *sys.argv[1:]])


if __name__ == "__main__":
    sys.exit(main())
