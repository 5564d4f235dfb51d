"""python -m plumb ...: the plumb command-line tool, run in this process
through the extension (the same code as the `plumb` binary)."""
import sys

from . import _core


def main() -> int:
    return _core.cli_main(["plumb", *sys.argv[1:]])


if __name__ == "__main__":
    sys.exit(main())
