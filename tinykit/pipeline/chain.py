"""The chain of ``compress``: measure each stage, then export, verify and bench."""

from __future__ import annotations

import copy
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tinykit.pipeline.metrics import gzip_size, model_metrics, public


@dataclass
class ModelSource:
    """A model and what it was built from (arch name, constructor args), for checkpoints."""

    model: Any
    arch: str
    arch_kwargs: dict[str, Any]
    name: str


class Compressor:
    """Runs one recipe on one model and data set, writing into ``out_dir`` (a staging folder)."""

    def __init__(
        self, source: ModelSource, data, recipe, out_dir: Path, *, progress: bool = True, log=print
    ):
        self.src, self.data, self.recipe, self.out = source, data, recipe, Path(out_dir)
        self.progress, self.log = progress, log
        self.x_test = data.inputs("test")
        self.stages: list[dict[str, Any]] = []

    def bench(self, path: Path) -> dict:
        from tinykit.bench.latency import bench

        r = self.recipe
        return bench(path, threads=r.threads, runs=r.bench_runs, warmup=r.bench_warmup)

    def bench_board(self, path: Path) -> dict | None:
        """The same file on the recipe's board (measured over SSH/adb, or estimated)."""
        r = self.recipe
        if r.board == "host":
            return None
        from tinykit.bench.board import bench_on_board

        opts = {k: v for k, v in (("port", r.port), ("identity", r.identity)) if v is not None}
        return bench_on_board(
            path,
            r.board,
            r.host,
            threads=r.threads,
            runs=r.bench_runs,
            warmup=r.bench_warmup,
            **opts,
        )

    def measure_stage(self, stage: str, model, *, eval_model=None, write_onnx=None) -> dict:
        """PyTorch figures of ``model`` plus the size and latency of its ONNX form."""
        from tinykit.exporters.onnx import export_onnx
        from tinykit.prune.sparse import sparse_size_bytes

        m = model_metrics(model, self.data, self.x_test, eval_model=eval_model)
        path = self.out / "stages" / f"{stage}.onnx"
        if write_onnx is None:
            export_onnx(model, self.data.spec, path)
        else:
            write_onnx(path, self.data.spec)
        m.update(
            stage=stage,
            size_bytes=path.stat().st_size,
            size_gzip_bytes=gzip_size(path),
            size_sparse_bytes=sparse_size_bytes(model)["bitmask"],
            latency_ms=self.bench(path),
            onnx=os.path.relpath(path, self.out),
        )
        board = self.bench_board(path)
        if board is not None:
            m["board_latency_ms"] = board
        self.stages.append(m)
        self.log(
            f"  {stage:<10} accuracy {100 * m['accuracy']:.2f}%  nonzero "
            f"{m['nonzero_params']:,}  MACs {m['macs']:,}"
        )
        return m

    def run(self) -> dict[str, Any]:
        from tinykit.bench.env import environment
        from tinykit.pipeline.export_stage import export_and_verify
        from tinykit.pipeline.prune_stage import run_pruning, validate_tables
        from tinykit.pipeline.quant_stage import run_quantization

        r = self.recipe
        model = self.src.model.eval()
        validate_tables(model, r)
        if r.board != "host":
            from tinykit.bench.board import resolve_board

            resolve_board(r.board)  # an unknown board fails before any work
        self.log(f"compress {self.src.name} on {self.data.summary()}")
        baseline = self.measure_stage("baseline", model)
        before = copy.deepcopy(model)
        if r.quant == "linear":  # compare like with like: batch norm folded on both sides
            from tinykit.transforms import fold_batchnorm

            fold_batchnorm(before)
        work = copy.deepcopy(model)
        pruning = None
        if r.prune != "none":
            pruning = run_pruning(
                work, self.data, r, self.out, progress=self.progress, log=self.log
            )
            self.measure_stage("pruned", work.eval())
        quantized = None
        if r.quant != "none":
            quantized = run_quantization(work, self.data, r, progress=self.progress)
            work = quantized.model
            self.measure_stage(
                "quantized", work, eval_model=quantized.eval_model, write_onnx=quantized.write_onnx
            )
        final = self.stages[-1]
        artifacts = export_and_verify(
            work,
            quantized,
            self.data,
            r,
            self.out,
            self.src.name,
            final,
            bench=self.bench,
            progress=self.progress,
            log=self.log,
        )
        if r.board != "host":
            for rec in artifacts:
                rec["board_latency_ms"] = self.bench_board(self.out / rec["path"])
        self.save_outputs(work, before)
        self.plot_latency(artifacts)
        return {
            "tinykit_report": 1,
            "model": self.src.name,
            "data": self.data.name,
            "baseline": public(baseline),
            "compressed": public(final),
            "stages": [public(s) for s in self.stages],
            "artifacts": artifacts,
            "pruning": pruning,
            "quantization": quantization_summary(quantized),
            "recipe": r.to_dict(),
            "environment": environment(),
            "notes": {"size_bytes": _size_note()},
        }

    def plot_latency(self, artifacts: list[dict]) -> None:
        """latency_vs_macs.png: one point per stage and artifact (and board), dense MACs."""
        from tinykit.bench.plot import latency_vs_macs_plot

        points = []
        for item in [*self.stages, *artifacts]:
            label = item.get("stage") or Path(item["path"]).name
            for key, where in (("latency_ms", "this CPU"), ("board_latency_ms", self.recipe.board)):
                lat = item.get(key)
                if lat:
                    points.append(
                        {
                            "stage": label,
                            "macs": item["macs"],
                            "latency_ms": lat,
                            "runtime": f"{lat.get('runtime', '?')} ({where})",
                        }
                    )
        latency_vs_macs_plot(
            points,
            self.out / "latency_vs_macs.png",
            title=f"{self.src.name}: latency against MACs, batch 1",
        )

    def save_outputs(self, model, before) -> None:
        from tinykit.checkpoint import Checkpoint, save_checkpoint
        from tinykit.plots import layer_weights, weight_histograms

        save_checkpoint(
            self.out / "model.pt",
            model,
            Checkpoint(
                arch=self.src.arch,
                spec=self.data.spec,
                state_dict={},
                arch_kwargs=self.src.arch_kwargs,
                recipe=self.recipe.to_dict(),
                metrics=public(self.stages[-1]),
            ),
        )
        w0, w1 = layer_weights(before), layer_weights(model)
        folded = " (batch norm folded into both)" if self.recipe.quant == "linear" else ""
        weight_histograms(
            w0,
            {k: v for k, v in w1.items() if k in w0},
            self.out / "weights.png",
            title=f"{self.src.name}: weights before (grey) and after compression" + folded,
        )


def quantization_summary(q) -> dict[str, Any] | None:
    """The scales a report should show: per-tensor activation parameters of a linear model."""
    if q is None:
        return None
    if q.onnx_precision == "kmeans":
        return {
            "method": "kmeans",
            "bits": q.encoding[next(iter(q.encoding))].bits,
            "layers": len(q.encoding),
        }
    g = q.encoding.graph
    return {
        "method": "linear",
        "weight_bits": g.weight_bits,
        "activations": {
            n.name: {
                "scale": n.out.scale,
                "zero_point": n.out.zero_point,
                "kind": n.kind,
                **({"fused": n.act} if n.act else {}),
            }
            for n in g.nodes
        },
        "float_ops": g.float_ops,
        **q.notes,
    }


def _size_note() -> str:
    from tinykit.report import SIZE_NOTE

    return SIZE_NOTE


def compress(
    source: ModelSource,
    data,
    recipe,
    *,
    out_dir: str | os.PathLike[str],
    progress: bool = True,
    log=print,
) -> dict[str, Any]:
    """Run ``recipe`` and write report.json, the bundle, the checkpoint and plots to ``out_dir``.

    The folder appears only when complete (it is built under a temporary name).
    """
    from tinykit.fileio import check_out_dir, staged_dir, write_json

    final = check_out_dir(out_dir)
    with staged_dir(final) as tmp:
        report = Compressor(source, data, recipe, tmp, progress=progress, log=log).run()
        report["out_dir"] = str(final)
        write_json(tmp / "report.json", report)
    return report
