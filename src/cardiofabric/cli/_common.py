"""What every command shares: error reporting, JSON output, atomic output files."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from cardiofabric.errors import CardioFabricError, InputError

if TYPE_CHECKING:
    from cardiofabric.genomics.resources import KnowledgeBase

__all__ = [
    "console",
    "err_console",
    "handle_errors",
    "print_json",
    "progress_bars",
    "write_output",
]

# soft_wrap: never break a line at the terminal width. Messages carry paths, SAIDs and JSON
# pointers that must stay whole to be copied or grepped (tables still fit the width).
console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)

P = ParamSpec("P")
R = TypeVar("R")

#: Exit codes: 1 = the thing checked does not hold (e.g. a bad digest); 2 = usage or input error.
EXIT_FAILED = 1
EXIT_ERROR = 2


def handle_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn :class:`CardioFabricError` into a clear message and exit code, never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except CardioFabricError as exc:
            err_console.print(
                f"[bold red]error:[/] {escape(str(exc))}", markup=True, highlight=False
            )
            raise typer.Exit(EXIT_ERROR) from None
        except KeyboardInterrupt:
            err_console.print("interrupted")
            raise typer.Exit(130) from None

    return wrapper


@contextlib.contextmanager
def progress_bars(show: bool = True) -> Iterator[Callable[[str, int, int | None], None]]:
    """A progress-bar hook ``hook(label, done, total)``: one bar per label, on stderr."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskID,
        TextColumn,
        TimeElapsedColumn,
    )

    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        disable=not show,
        transient=True,
    )
    tasks: dict[str, TaskID] = {}

    def hook(label: str, done: int, total: int | None) -> None:
        if label not in tasks:
            tasks[label] = bar.add_task(label, total=total)
        bar.update(tasks[label], completed=done, total=total)

    with bar:
        yield hook


def print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n")


def write_output(text: str, out: Path | None) -> None:
    """Write to ``out`` atomically (temp file + rename), or to stdout when ``out`` is None."""
    if out is None:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text if text.endswith("\n") else text + "\n")
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def open_knowledge_base(stack: contextlib.ExitStack, db: Path | None) -> KnowledgeBase | None:
    """The site's knowledge base opened read-only for the life of ``stack`` (None without one)."""
    if db is None:
        return None
    from cardiofabric.genomics.resources import KnowledgeBase

    if not db.is_file():
        raise InputError(
            "no such knowledge database",
            path=db,
            hint=(
                "build one with: cardiofabric genomics resource add KIND FILE "
                "(gnomad, clinvar, revel, cadd, spliceai)"
            ),
        )
    return stack.enter_context(KnowledgeBase.open(db, read_only=True))
