"""Options shared by several commands, defined once."""

from __future__ import annotations

import inspect

import click

MODEL_HELP = (
    "A tinykit checkpoint (.pt), or an architecture name: resnet8, cifar_resnet18 or any "
    "torchvision classification model (resnet18, mobilenet_v2, ...) together with --weights. "
    "Default: the embedded ResNet-8 trained on the digits."
)


def model_options(f):
    for opt in reversed(
        [
            click.option("--model", "model", metavar="CKPT|ARCH", help=MODEL_HELP),
            click.option(
                "--weights",
                type=click.Path(dir_okay=False),
                metavar="FILE",
                help="state_dict file (.pt/.pth) for an architecture given by --model; "
                "loaded with weights_only=True.",
            ),
            click.option(
                "--num-classes",
                type=click.IntRange(min=2),
                metavar="N",
                help="Classes of an architecture given by --model (default: from the data; "
                "1000 for inspect, which takes no data).",
            ),
            click.option(
                "--trust-pickle",
                is_flag=True,
                help="Allow full-pickle loading of --model/--weights files. Only for files "
                "you trust: unpickling can run arbitrary code.",
            ),
        ]
    ):
        f = opt(f)
    return f


def data_options(f):
    from tinykit.data import DATA_HELP  # light: numpy only

    for opt in reversed(
        [
            click.option(
                "--data", metavar="PATH", help="Your data set; layouts below. Default: digits."
            ),
            click.option(
                "--image-size",
                type=click.IntRange(min=4),
                metavar="PX",
                help="Resize ImageFolder images to PX x PX (default: the first image's size).",
            ),
            click.option(
                "--seed",
                type=int,
                default=0,
                show_default=True,
                help="Seed for splits, training and every random choice.",
            ),
        ]
    ):
        f = opt(f)
    # dedent first: the appended block has no indentation, so click would keep the docstring's
    f.__doc__ = inspect.cleandoc(f.__doc__ or "") + "\n\n\b\n" + DATA_HELP
    return f


def output_options(f):
    for opt in reversed(
        [
            click.option(
                "--out",
                type=click.Path(file_okay=False),
                metavar="DIR",
                help="Output folder (must not exist or be empty). "
                "Default: a new folder under ./tinykit-out/.",
            ),
            click.option(
                "--json",
                "as_json",
                is_flag=True,
                help="Print report.json to stdout instead of the table.",
            ),
            click.option("--quiet", is_flag=True, help="No progress bars or step log."),
        ]
    ):
        f = opt(f)
    return f


class SparsityType(click.ParamType):
    """A number in [0, 1) or the word 'auto'."""

    name = "S|auto"

    def convert(self, value, param, ctx):
        if isinstance(value, float) or value == "auto":
            return value
        try:
            v = float(value)
        except ValueError:
            self.fail(f"{value!r} is neither a number in [0, 1) nor 'auto'", param, ctx)
        if not 0.0 <= v < 1.0:
            self.fail(f"{v} is not in the range 0<=x<1", param, ctx)
        return v


def float_list(value: str, what: str) -> list[float]:
    try:
        return [float(v) for v in value.split(",") if v.strip()]
    except ValueError as e:
        raise click.BadParameter(f"{what} must be comma-separated numbers, got {value!r}") from e
