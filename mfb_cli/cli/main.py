"""The ``mfb`` group and its entry point: every library error becomes one line here.

Each command lives in a module of its own (``cli/weights.py``...) and is added to the
group below; ``cli/messages.cli_text`` spells a library error's parameters as flags.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from typing import Any

import click

from .._version import __version__
from ..errors import MfbError, spelled_with
from ..show.output import one_line, stdout_begun, stdout_error_text
from .messages import cli_text, spell

#: Each command and the module that defines it, in the order --help lists them. A command's
#: module is imported only when that command runs (or --help lists them all): a run of
#: ``mfb weights`` does not pay for the imports of check, report or sampling.
COMMANDS = {
    "weights": "weights",
    "histogram": "histogram",
    "check": "check",
    "scan": "scan",
    "merge": "merge",
    "sampling": "sampling",
    "priors": "sampling",
    "split": "split",
    "report": "report",
}


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so every cleanup path (threads, temporary file) runs."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated


#: Set by main(): this is the mfb process itself, not a test calling the group.
_IN_PROCESS = False


def _exit_at_once(signum: int, frame: object) -> None:
    # A second signal while the first one's cleanup runs: no traceback, no waiting.
    os._exit(128 + signum)


def _interrupted(error: BaseException) -> int:
    """Report Ctrl-C / SIGTERM in one line; the exit status a shell gives for the signal."""
    if _IN_PROCESS:
        signal.signal(signal.SIGINT, _exit_at_once)
        signal.signal(signal.SIGTERM, _exit_at_once)
    terminated = isinstance(error, Terminated)
    with contextlib.suppress(OSError, ValueError):
        what = "the output on stdout is incomplete" if stdout_begun() else "no output was written"
        click.echo(f"\n{'Terminated' if terminated else 'Interrupted'}; {what}.", err=True)
    # 128 + signal number, as a shell reports a process the signal ended.
    return 143 if terminated else 130


def _pipe_closed() -> int:
    """The reader went away (`mfb ... | head`): stop quietly with 141, as tools killed by
    SIGPIPE do, and point stdout at nothing so the final flush at exit cannot fail again.
    """
    _drop_stdout()
    return 141


def _drop_stdout() -> None:
    """Point stdout at nothing: what a failed write left in its buffer goes nowhere at exit,
    instead of failing again there with a second message."""
    with contextlib.suppress(OSError, ValueError):
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)


def _write_error(error: OSError) -> click.ClickException:
    """A one-line error for an OSError: the file it names, what went wrong."""
    if not error.filename:  # an error without a file: writing to stdout (or --help)
        return click.ClickException(stdout_error_text(error))
    return click.ClickException(f"{one_line(str(error.filename))}: {error.strerror or error}")


def _without_secrets(message: str, args: Any) -> str:
    """The last guard on every message shown: the credentials and query of each URL on the
    command line blanked wherever they stand (a library's message may quote a password
    that the reading code did not foresee)."""
    from ..read.base.urls import safe_text

    given = sys.argv[1:] if args is None else list(args)
    urls = [a for a in given if isinstance(a, str) and "://" in a]
    if not urls:
        return message
    urls += [u for a in urls for u in (a[a.find("=") + 1 :],) if "=" in a.split("://")[0]]
    return safe_text(message, *urls)


def _show_traceback(error: BaseException, args: Any) -> None:
    """The traceback --debug asks for, on stderr, with the secrets of the command line's
    URLs blanked on every line, as in every other message (a backend's exception may
    quote a URL with its password or token)."""
    import traceback

    lines = []
    for line in "".join(traceback.format_exception(error)).splitlines():
        indent = line[: len(line) - len(line.lstrip())]
        lines.append(indent + _without_secrets(line.strip(), args) if line.strip() else "")
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.write("\n".join(lines) + "\n")
        sys.stderr.flush()


#: The error Click raises to show the help of a group run without a command (8.2+).
_HELP_AS_ERROR: tuple[type[click.ClickException], ...] = tuple(
    getattr(click.exceptions, name)
    for name in ("NoArgsIsHelpError",)
    if hasattr(click.exceptions, name)
)


class MfbGroup(click.Group):
    """Turns library errors into one-line messages, Ctrl-C into 130 and SIGTERM into 143;
    imports a command's module when the command is looked up (COMMANDS)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *super().list_commands(ctx)})

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        try:
            return super().resolve_command(ctx, args)
        except click.UsageError as error:
            # Click (8.4+) suggests the loaded commands only; every command is a candidate.
            missing = getattr(click.exceptions, "NoSuchCommand", None)
            if missing is None or not isinstance(error, missing):
                raise
            raise missing(
                error.command_name, possibilities=self.list_commands(ctx), ctx=ctx
            ) from None

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module = COMMANDS.get(cmd_name)
        if module is None or cmd_name in self.commands:
            return super().get_command(ctx, cmd_name)
        import importlib

        command = getattr(importlib.import_module(f"{__package__}.{module}"), cmd_name)
        if not isinstance(command, click.Command):  # pragma: no cover - a wiring mistake
            raise TypeError(f"{module}.{cmd_name} is not a command")
        self.add_command(command)
        return command

    def invoke(self, ctx: click.Context) -> Any:
        try:
            with spelled_with(spell):  # messages the library builds read in flags here
                return super().invoke(ctx)
        except MfbError as error:
            if ctx.meta.get("mfb.debug"):
                raise
            raise click.ClickException(cli_text(error)) from error
        except KeyboardInterrupt as error:
            raise click.exceptions.Exit(_interrupted(error)) from None
        except BrokenPipeError:
            raise click.exceptions.Exit(_pipe_closed()) from None
        except OSError as error:  # disk full, output folder removed mid-run...
            if ctx.meta.get("mfb.debug"):
                raise
            raise _write_error(error) from error
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as error:
            # A bug, ours or a library's: still one line (and the way to the traceback).
            if ctx.meta.get("mfb.debug"):
                raise
            raise click.ClickException(
                f"internal error: {type(error).__name__}: {error} "
                "(run with --debug for the traceback, and please report it)"
            ) from error

    def get_help(self, ctx: click.Context) -> str:
        from .help_render import render_help

        return render_help(self, ctx)

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        # --help and --version print while the context is made, outside invoke().
        try:
            return super().make_context(info_name, args, parent, **extra)
        except BrokenPipeError:
            raise click.exceptions.Exit(_pipe_closed()) from None

    def main(self, args: Any = None, prog_name: str | None = None, *more: Any, **extra: Any) -> Any:
        """Click's main, with every message on one line and no traceback on output errors.

        The message of every error Click shows (ours, usage errors, bad parameters) has
        its control characters escaped: a file name holding a newline stays on its line.
        """
        if extra.get("standalone_mode", True) is False or more:
            return super().main(args, prog_name, *more, **extra)
        extra["standalone_mode"] = False
        try:
            try:
                code = super().main(args, prog_name, **extra)
            except click.ClickException as error:
                # Bare 'mfb' shows the help through an error (Click 8.2+): keep its lines.
                if not isinstance(error, _HELP_AS_ERROR):
                    text = _without_secrets(error.message, args)
                    error.message = one_line(text)  # type: ignore[misc]
                error.show()
                code = error.exit_code
            except click.Abort as error:
                if isinstance(error.__context__, KeyboardInterrupt):
                    code = _interrupted(error.__context__)
                else:
                    click.echo("Aborted!", err=True)
                    code = 1
        except BrokenPipeError:
            code = _pipe_closed()
        except OSError as error:  # --help to a full device or a closed stdout
            message = click.ClickException(stdout_error_text(error))
            with contextlib.suppress(OSError, ValueError):
                message.show()
            code = 1
        except Exception as error:  # --debug lets errors through: their traceback, scrubbed
            _show_traceback(error, args)
            code = 1
        sys.exit(code if isinstance(code, int) else 0)


@click.group(cls=MfbGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="mfb")
@click.option("--debug", is_flag=True, help="Show the full traceback of an error.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Class balance statistics and loss weights for segmentation label masks.

    \b
    Examples:
      mfb weights ./labels --void 11 -o weights.json
      mfb weights ./labels --ignore 255 | jq .weights
      mfb histogram ./labels --void 11
      mfb COMMAND --help
    """
    ctx.meta["mfb.debug"] = debug


def main() -> None:
    """Console-script entry point: signals, closed or broken stdout, a prompt exit.

    SIGTERM stops a run as cleanly as Ctrl-C does. The process then ends at once even if
    a worker thread is still blocked (a FIFO swapped in for a mask, a hung network file):
    the pool's threads are joined at exit, which would otherwise keep it alive.
    """
    global _IN_PROCESS
    _IN_PROCESS = True
    signal.signal(signal.SIGTERM, _raise_terminated)
    _guard_standard_streams()
    _buffer_stdout()
    try:
        cli.main(prog_name="mfb")
        code: Any = 0
    except SystemExit as done:
        code = done.code
    signal.signal(signal.SIGINT, _exit_at_once)
    signal.signal(signal.SIGTERM, _exit_at_once)
    if not isinstance(code, int):
        code = 0 if code is None else 1
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        code = _pipe_closed()
    except (OSError, ValueError):
        code = code or 1
        _drop_stdout()
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.flush()
    # A run that failed or was stopped may leave a worker blocked; after a success every
    # worker has finished its files and the pool's threads end by themselves.
    if code != 0 and any(
        t.is_alive() and not t.daemon
        for t in threading.enumerate()
        if t is not threading.current_thread()
    ):
        os._exit(code)
    sys.exit(code)


def _guard_standard_streams() -> None:
    """Give descriptors 0-2 a file when the process started with one closed (``>&-``).

    Otherwise the next file opened (a mask, the -o temporary file) would become stdout and
    receive the data; data meant for a closed stdout is an error instead (ClosedStdout).
    """
    from ..show.output import ClosedStdout

    for number in (0, 1, 2):
        try:
            os.fstat(number)
        except OSError:
            null = os.open(os.devnull, os.O_RDWR)
            if null != number:
                os.dup2(null, number)
                os.close(null)
            if number == 1:
                sys.stdout = ClosedStdout()
            elif number == 2:
                sys.stderr = open(number, "w", closefd=False)  # noqa: SIM115


def _buffer_stdout() -> None:
    """Give stdout a buffered binary layer when Python runs unbuffered (PYTHONUNBUFFERED=1,
    as many container images set, or ``python -u``).

    Unbuffered, a text write goes straight to the file descriptor, and when the system
    writes only part of it (a disk that fills up, a file size limit, a reader that went
    away) the rest is dropped without an error: the output is cut short and the exit
    status is 0. A buffered writer writes the rest, so the failure is raised and reported.
    """
    import io

    stream = sys.stdout
    if not isinstance(stream, io.TextIOWrapper) or not isinstance(stream.buffer, io.RawIOBase):
        return
    stream.flush()
    sys.stdout = io.TextIOWrapper(
        io.BufferedWriter(io.FileIO(stream.fileno(), "w", closefd=False)),
        encoding=stream.encoding,
        errors=stream.errors,
        line_buffering=stream.line_buffering,
        write_through=True,
    )
