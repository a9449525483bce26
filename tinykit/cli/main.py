"""The ``tinykit`` command: a thin click layer over the Python API.

Subcommands are imported only when invoked, so ``tinykit --help`` never imports torch.
Known errors become one line on stderr and exit status 2 (TINYKIT_DEBUG=1 shows tracebacks).
"""

from __future__ import annotations

import importlib
import os
import signal
import sys

import click

# name -> one-line help shown by `tinykit --help`; the command is `tinykit.cli.<name>.<name>`
COMMANDS: dict[str, str] = {
    "compress": "Prune, quantize, export, verify and bench a model.",
    "train": "Train a model on your data (or the digits) and save a checkpoint.",
    "sensitivity": "Scan how much each layer can be pruned alone (validation split).",
    "inspect": "Per-layer table of a model and its weight histograms.",
    "bench": "Latency, MACs and memory of artifacts, here or on a board.",
    "boards": "List the board profiles (CPU, peaks, how to connect).",
    "maml": "Meta-learning (MAML): 1-D functions, closed form to GD.",
    "prompt": "Ask a frozen language model by prompting.",
    "softprompt": "Train a soft prompt for a frozen LM.",
    "finetune": "Fine-tune one block on corrupted inputs (surgical fine-tuning).",
    "difficulty": "Prediction depth of each example, from k-NN probes per block.",
    "earlyexit": "Exit heads: train, calibrate, export and time as stages.",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        return getattr(importlib.import_module(f"tinykit.cli.{name}"), name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="tinykit")
def cli() -> None:
    """tinykit: take a trained PyTorch model to an edge device.

    Prune it, quantize it, export it to ONNX and TFLite, and measure what you get there:
    accuracy, size, MACs and latency. Without --model and --data, commands use the embedded
    default: a ResNet-8 trained on scikit-learn's bundled handwritten digits.

    Set TINYKIT_DEBUG=1 to see full tracebacks.
    """


def _fail(msg: str, code: int = 2) -> None:
    click.echo(f"tinykit: error: {msg}", err=True)
    sys.exit(code)


def _one_line_warnings() -> None:
    """Show tinykit's warnings as ``tinykit: warning: ...`` lines; silence library chatter."""
    import warnings

    def show(message, category, filename, lineno, file=None, line=None):
        if "tinykit" in str(filename) or "left in float" in str(message):
            click.echo(f"tinykit: warning: {message}", err=True)

    warnings.showwarning = show


class _Terminated(BaseException):
    """SIGTERM as an exception, so that half-built outputs are removed on the way out."""


def _raise_terminated(signum, frame) -> None:
    raise _Terminated


def main(argv: list[str] | None = None) -> None:
    from tinykit.errors import TinykitError

    debug = os.environ.get("TINYKIT_DEBUG") == "1"
    if not debug:
        _one_line_warnings()
    signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        cli.main(args=argv, prog_name="tinykit", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as e:
        click.echo(e.ctx.get_help() if e.ctx else str(e))
        sys.exit(2)
    except click.UsageError as e:
        cmd = e.ctx.command_path if e.ctx else "tinykit"
        _fail(f"{e.format_message()} (see '{cmd} --help')")
    except click.Abort:
        _fail("aborted", 130)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except click.ClickException as e:
        _fail(e.format_message())
    except TinykitError as e:
        if debug:
            raise
        _fail(str(e).splitlines()[0] if str(e) else type(e).__name__)
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    except _Terminated:
        _fail("terminated", 143)


if __name__ == "__main__":
    main()
