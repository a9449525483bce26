"""``earlyexit``: heads -> training -> compression -> calibration -> figures -> stages -> bench.

Each step is a function of its own module; this one strings them together for one model and
data set, and collects the figures into the report (``earlyexit.json``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tinykit.earlyexit.calibrate import SWEEP, Target
from tinykit.earlyexit.heads import HeadConfig
from tinykit.earlyexit.train import HeadTrainConfig
from tinykit.errors import TinykitError

FORMATS = ("onnx", "tflite")


@dataclass
class EarlyExitRecipe:
    """Every setting of an early-exit run (JSON-able, recorded in the report)."""

    exits: list[str] | None = None  # blocks carrying heads (None: default blocks but the last)
    probe_blocks: list[str] | None = None  # blocks probed for prediction depth
    head: HeadConfig = field(default_factory=HeadConfig)
    train: HeadTrainConfig = field(default_factory=HeadTrainConfig)
    target: Target = field(default_factory=lambda: Target(max_drop=0.5))
    thresholds: list[float] | None = None  # fixed thresholds instead of calibration
    sweep: tuple[float, ...] = SWEEP
    k: int = 30
    sparsity: float = 0.0
    finetune_epochs: int = 3
    kmeans_bits: int | None = None
    int8_heads: bool = False
    formats: tuple[str, ...] = FORMATS
    bench: bool = True
    passes: int = 5
    threads: int = 1
    seed: int = 0

    def __post_init__(self) -> None:
        from tinykit.earlyexit.decide import check_thresholds

        if not self.formats:
            raise TinykitError(f"no export format given: use --formats with {', '.join(FORMATS)}")
        for f in self.formats:
            if f not in FORMATS:
                raise TinykitError(f"unknown format '{f}': use {', '.join(FORMATS)}")
        for t in self.sweep:
            if not 0 < t <= 1:
                raise TinykitError(f"sweep threshold {t:g} is outside (0, 1]")
        if self.thresholds is not None:
            check_thresholds(self.thresholds, len(self.thresholds))
        if not 0 <= self.sparsity < 1:
            raise TinykitError(f"sparsity must be in [0, 1), got {self.sparsity}")

    def to_dict(self) -> dict:
        return {
            "exits": self.exits,
            "probe_blocks": self.probe_blocks,
            "head": self.head.to_dict(),
            "train": self.train.to_dict(),
            "target": self.target.to_dict(),
            "thresholds": self.thresholds,
            "sweep": list(self.sweep),
            "k": self.k,
            "sparsity": self.sparsity,
            "finetune_epochs": self.finetune_epochs,
            "kmeans_bits": self.kmeans_bits,
            "int8_heads": self.int8_heads,
            "formats": list(self.formats),
            "bench": self.bench,
            "passes": self.passes,
            "threads": self.threads,
            "seed": self.seed,
        }


def resolve_exits(model, exits: list[str] | None) -> list[str]:
    """The named exits, or the architecture's blocks without the last (whose output already
    feeds the network's own classifier)."""
    from tinykit.earlyexit.blocks import check_block_names, default_blocks

    if exits is None:
        blocks = default_blocks(model)
        exits = blocks[:-1]
        if not exits:
            raise TinykitError(
                f"{type(model).__name__} has no blocks to hang heads on: it has one block only"
            )
    check_block_names(model, exits)
    return exits


def rank_correlation(a: np.ndarray, b: np.ndarray) -> float | None:
    """Spearman's rho (average ranks for ties); None when either side is constant."""

    def ranks(v):
        v = np.asarray(v, dtype=np.float64)
        order = np.argsort(v, kind="stable")
        r = np.empty(len(v))
        r[order] = np.arange(len(v))
        for u in np.unique(v):
            r[v == u] = r[v == u].mean()
        return r

    if len(a) < 2 or np.all(a == a[0]) or np.all(b == b[0]):
        return None
    return float(np.corrcoef(ranks(a), ranks(b))[0, 1])


def exit_vs_depth(depth: np.ndarray, exits: np.ndarray, n_depths: int, n_exits: int) -> dict:
    """Counts of test inputs by (prediction depth, exit taken), and their rank correlation."""
    m = np.zeros((n_depths, n_exits), dtype=np.int64)
    np.add.at(m, (depth, exits), 1)
    return {"counts": m.tolist(), "spearman": rank_correlation(depth, exits)}


class EarlyExitRun:
    """One recipe on one model and data set, written into ``out`` (a staging folder)."""

    def __init__(
        self,
        source,
        data,
        recipe: EarlyExitRecipe,
        out: Path,
        *,
        progress: bool = True,
        log=print,
        ssh=None,
    ):
        """``ssh``: a :class:`tinykit.bench.ssh.SshTarget`; the stages are then also timed on
        that board."""
        self.src, self.data, self.recipe, self.out = source, data, recipe, Path(out)
        self.progress, self.log, self.ssh = progress, log, ssh

    def build(self):
        import torch

        from tinykit.earlyexit.heads import attach_heads
        from tinykit.earlyexit.train import exit_accuracies, train_heads

        r, ds = self.recipe, self.data
        backbone = self.src.model
        exits = resolve_exits(backbone, r.exits)
        if r.thresholds is not None:  # before any training: a wrong count fails at once
            from tinykit.earlyexit.decide import check_thresholds

            check_thresholds(r.thresholds, len(exits))
        model = attach_heads(
            backbone,
            exits,
            torch.zeros(ds.spec.shape),
            num_classes=ds.spec.num_classes,
            config=r.head,
            seed=r.seed,
        )
        self.log(f"heads after {', '.join(exits)} ({r.train.mode} training)")
        train_heads(model, ds, r.train, progress=self.progress)
        self.trained_accuracy = exit_accuracies(model, ds.inputs("test"), ds.test.y)
        return model

    def compress(self, model):
        from tinykit.earlyexit.compress import compress_early_exit

        r = self.recipe
        return compress_early_exit(
            model,
            self.data,
            sparsity=r.sparsity,
            finetune_epochs=r.finetune_epochs,
            kmeans_bits=r.kmeans_bits,
            int8=r.int8_heads,
            seed=r.seed,
            progress=self.progress,
        )

    def run(self) -> dict[str, Any]:
        import torch

        from tinykit.bench.env import environment
        from tinykit.earlyexit.calibrate import ExitOutputs, calibrate, evaluate, sweep
        from tinykit.earlyexit.decide import check_thresholds, exit_index, exit_predictions
        from tinykit.earlyexit.macs import exit_macs
        from tinykit.earlyexit.train import exit_logits

        r, ds = self.recipe, self.data
        model = self.build()
        comp = self.compress(model)
        macs = exit_macs(model, torch.zeros(ds.spec.shape))
        val_logits, test_logits = (
            exit_logits(model, ds.inputs("val")),
            exit_logits(model, ds.inputs("test")),
        )
        val = ExitOutputs.from_logits(val_logits, ds.val.y)
        test = ExitOutputs.from_logits(test_logits, ds.test.y)
        path = None
        if r.thresholds is not None:
            thresholds = check_thresholds(r.thresholds, len(model.heads))
        else:
            thresholds, path = calibrate(val, macs.cumulative, r.target, macs.full)
        test_eval = evaluate(test, thresholds, macs.cumulative, macs.full)
        self.log(
            f"test: accuracy {100 * test_eval['accuracy']:.2f}% (full network "
            f"{100 * test_eval['full_accuracy']:.2f}%), average MACs "
            f"{100 * test_eval['mac_ratio']:.1f}% of the full network's"
        )
        torch_exits = exit_index(test.conf, thresholds)
        torch_preds = exit_predictions(test.preds, torch_exits)
        test_eval["exits"] = torch_exits.tolist()  # per test input, in split order
        depth = self.difficulty(model)
        report: dict[str, Any] = {
            "model": self.src.name,
            "data": ds.summary(),
            "exits": model.exits,
            "recipe": r.to_dict(),
            "compression": comp.to_dict(),
            "macs": macs.to_dict(),
            "exit_accuracy": {
                "test": [float((p == test.labels).mean()) for p in test.preds],
                "val": [float((p == val.labels).mean()) for p in val.preds],
                "test_before_compression": self.trained_accuracy,
            },
            "thresholds": thresholds,
            "calibration": {
                "split": "validation",
                "target": None if r.thresholds is not None else r.target.to_dict(),
                "fixed": r.thresholds is not None,
                "val": evaluate(val, thresholds, macs.cumulative, macs.full),
                "path": path,
            },
            "test": test_eval,
            "sweep": {
                "test": sweep(test, macs.cumulative, r.sweep, macs.full),
                "val": sweep(val, macs.cumulative, r.sweep, macs.full),
            },
            "difficulty": {
                **{k: v for k, v in depth.to_dict().items() if k != "examples"},
                "exit_vs_depth": exit_vs_depth(
                    depth.depth, torch_exits, depth.num_blocks + 1, model.num_exits
                ),
            },
        }
        report.update(self.deploy(model, comp, thresholds, macs, torch_exits, torch_preds))
        report["environment"] = environment()
        return report

    def difficulty(self, model):
        from tinykit.earlyexit.blocks import default_blocks
        from tinykit.earlyexit.difficulty import prediction_depth

        r, ds = self.recipe, self.data
        blocks = r.probe_blocks
        if blocks is None:
            try:
                blocks = default_blocks(model.backbone)
            except TinykitError:
                blocks = list(model.exits)
        return prediction_depth(
            model.backbone,
            blocks,
            ds.inputs("train"),
            ds.train.y,
            ds.inputs("test"),
            ds.test.y,
            k=r.k,
            num_classes=ds.spec.num_classes,
            progress=self.progress,
        )

    def deploy(self, model, comp, thresholds, macs, torch_exits, torch_preds) -> dict:
        from tinykit.earlyexit.bundle import write_early_exit_bundle
        from tinykit.earlyexit.measure import RUNTIMES, bench_stages, verify_stages

        r, ds = self.recipe, self.data
        name = f"{self.src.name}-earlyexit"
        bundle, artifacts = write_early_exit_bundle(
            model,
            ds.spec,
            thresholds,
            macs,
            self.out / "bundle" / name,
            name=name,
            formats=r.formats,
            compression=comp,
            progress=self.progress,
        )
        inputs = self.out / "test_inputs.npz"
        from tinykit.fileio import atomic_path

        with atomic_path(inputs) as tmp, open(tmp, "wb") as f:
            np.savez(f, x=ds.inputs("test"), y=ds.test.y)
        verification, latency = {}, {}
        for fmt in r.formats:
            rt = RUNTIMES[fmt]
            verification[rt] = verify_stages(
                bundle,
                ds.inputs("test"),
                ds.test.y,
                torch_exits,
                torch_preds,
                runtime=rt,
                progress=self.progress,
            )
            v = verification[rt]
            self.log(
                f"  {rt:<12} stages: exit agreement {100 * v['exit_agreement']:.2f}%, "
                f"accuracy {100 * v['accuracy']:.2f}%"
            )
            if r.bench:
                self.log(f"  timing the {rt} stages and full model ({r.passes} passes)")
                latency[rt] = bench_stages(
                    bundle, inputs, runtime=rt, threads=r.threads, passes=r.passes
                )
            if self.ssh is not None:
                from tinykit.earlyexit.remote import ssh_bench_stages

                self.log(f"  timing the {rt} stages on {self.ssh.host} over SSH")
                latency[f"{rt}@{self.ssh.host}"] = ssh_bench_stages(
                    bundle, inputs, self.ssh, runtime=rt, threads=r.threads, passes=r.passes
                )
        return {
            "bundle": os.path.relpath(bundle, self.out),
            "test_inputs": os.path.relpath(inputs, self.out),
            "artifacts": artifacts,
            "verification": verification,
            "latency": latency,
        }

    def plots(self, report: dict) -> None:
        """accuracy_vs_macs.png and exit_vs_depth.png into the output folder."""
        from tinykit.earlyexit.plots import accuracy_vs_macs, exit_vs_depth_plot

        macs = report["macs"]
        names = [*report["exits"], "final"]
        accuracy_vs_macs(
            report["sweep"]["test"],
            report["test"],
            list(zip(macs["cumulative"], report["exit_accuracy"]["test"], strict=True)),
            macs["full"],
            report["test"]["full_accuracy"],
            self.out / "accuracy_vs_macs.png",
            exit_names=names,
        )
        ev = report["difficulty"]["exit_vs_depth"]
        exit_vs_depth_plot(
            ev["counts"],
            report["difficulty"]["blocks"],
            names,
            self.out / "exit_vs_depth.png",
            spearman=ev["spearman"],
        )
