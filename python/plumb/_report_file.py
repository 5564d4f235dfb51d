"""A report written to a file: the formats plumb.profile and plumb.memory
save in (text, collapsed, speedscope, json), chosen by format= or told by
the file name's suffix."""
import os
from typing import Callable, Dict, Optional, Union

FORMATS = ("text", "collapsed", "speedscope", "json")
# Longest suffix first: a speedscope file is JSON too.
_SUFFIXES = ((".speedscope.json", "speedscope"), (".json", "json"),
             (".collapsed", "collapsed"), (".folded", "collapsed"),
             (".txt", "text"))


def _format_of(api: str, path: str) -> str:
    lower = path.lower()
    for suffix, fmt in _SUFFIXES:
        if lower.endswith(suffix):
            return fmt
    raise ValueError(f"{api}: cannot tell the format of {path!r} from its "
                     f"name: pass format= (one of {', '.join(FORMATS)}) or "
                     f"name it .txt, .collapsed, .folded, .speedscope.json "
                     f"or .json")


def save(api: str, path: Union[str, "os.PathLike[str]"],
         format: Optional[str], render: Dict[str, Callable[[], str]]) -> str:
    """Writes render[fmt]() to path, fmt being `format` or, without one,
    what the name says; returns fmt. ValueError names the formats when
    neither tells one of FORMATS (render holds a callable for each)."""
    fmt = format if format is not None else _format_of(api, os.fspath(path))
    if fmt not in FORMATS:
        raise ValueError(f"{api}: format must be one of "
                         f"{', '.join(FORMATS)} (got {fmt!r})")
    text = render[fmt]()
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return fmt
