"""``compress``: baseline -> prune -> fine-tune -> quantize -> export -> verify -> bench.

Each link is a function of its own; this module only chains them and collects the figures.
"""

from __future__ import annotations

import copy
import gzip
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tinykit.data import DataSet
from tinykit.recipe import Recipe


@dataclass
class ModelSource:
    """A model and what it was built from (arch name, constructor args), for checkpoints."""

    model: Any
    arch: str
    arch_kwargs: dict[str, Any]
    name: str


def gzip_size(path: Path) -> int:
    return len(gzip.compress(Path(path).read_bytes(), compresslevel=9))


def model_metrics(model, data: DataSet, x_test: np.ndarray) -> dict[str, Any]:
    """Accuracy (test split), params, nonzero params, dense and effective MACs."""
    import torch

    from tinykit.bench.macs import count_macs, param_counts
    from tinykit.train import predict

    pred = predict(model, x_test)
    params, nonzero = param_counts(model)
    macs = count_macs(model, torch.zeros(data.spec.shape))
    return {
        "accuracy": float((pred == data.test.y).mean()),
        "params": params,
        "nonzero_params": nonzero,
        **macs.to_dict(),
        "_pred": pred,
    }


class Compressor:
    """Runs one recipe on one model and data set, writing into ``out_dir`` (a staging folder)."""

    def __init__(
        self,
        source: ModelSource,
        data: DataSet,
        recipe: Recipe,
        out_dir: Path,
        *,
        progress: bool = True,
        log=print,
    ):
        self.src, self.data, self.recipe, self.out = source, data, recipe, Path(out_dir)
        self.progress, self.log = progress, log
        self.x_test = data.inputs("test")
        self.stages: list[dict[str, Any]] = []

    # --- links -------------------------------------------------------------------------
    def measure_stage(self, stage: str, model, *, onnx_encoding=None, precision="fp32") -> dict:
        """PyTorch figures of ``model`` plus size and latency of its ONNX form."""
        from tinykit.exporters.onnx import export_onnx
        from tinykit.prune.sparse import sparse_size_bytes

        m = model_metrics(model, self.data, self.x_test)
        path = self.out / "stages" / f"{stage}.onnx"
        art = export_onnx(model, self.data.spec, path, precision=precision, encoding=onnx_encoding)
        m["size_bytes"] = art.size_bytes
        m["size_gzip_bytes"] = gzip_size(path)
        m["size_sparse_bytes"] = sparse_size_bytes(model)["bitmask"]
        m["latency_ms"] = self._bench(path)
        m["stage"] = stage
        m["onnx"] = os.path.relpath(path, self.out)
        self.stages.append(m)
        self.log(
            f"  {stage:<10} accuracy {100 * m['accuracy']:.2f}%  nonzero {m['nonzero_params']:,}"
            f"  MACs {m['macs']:,}"
        )
        return m

    def _bench(self, path: Path) -> dict:
        from tinykit.bench.latency import bench

        r = self.recipe
        return bench(path, threads=r.threads, runs=r.bench_runs, warmup=r.bench_warmup)

    def prune(self, model) -> Any:
        from tinykit.train import TrainConfig, fit

        r = self.recipe
        cfg = TrainConfig(epochs=r.finetune_epochs, lr=r.finetune_lr, seed=r.seed)
        if r.prune == "fine":
            from tinykit.prune.fine import prune_fine

            sparsity = self.auto_sparsity(model) if r.sparsity == "auto" else r.sparsity
            masks = prune_fine(model, sparsity)
            self.targets = {n: _as_target(sparsity, n) for n in _layer_names(model)}
            fit(
                model,
                self.data,
                cfg,
                after_step=masks.apply,
                desc="fine-tune (masks held)",
                progress=self.progress,
            )
            masks.apply()
            self.masks = masks
        elif r.prune == "channel":
            import torch

            from tinykit.prune.channel import prune_channels

            prune_channels(
                model,
                torch.zeros(self.data.spec.shape),
                r.ratio,
                importance=r.importance,
                round_to=r.round_to,
            )
            fit(model, self.data, cfg, desc="fine-tune (channel-pruned)", progress=self.progress)
        return model.eval()

    def validate(self, model) -> None:
        """Check per-layer tables against the model before any work is done."""
        r = self.recipe
        if r.prune == "fine" and isinstance(r.sparsity, dict):
            from tinykit.prune.fine import resolve_sparsities

            resolve_sparsities(model, r.sparsity)
        if r.prune == "channel" and isinstance(r.ratio, dict):
            names = dict(model.named_modules())
            for name in r.ratio:
                if name not in names:
                    from tinykit.errors import TinykitError

                    raise TinykitError(f"no layer named '{name}' in the model (per-layer ratios)")

    def pruning_summary(self, model) -> dict[str, Any]:
        """Per-layer result of pruning: for fine-grained, each layer's sparsity checked exactly
        against its target; for channels, the new channel counts."""
        from tinykit.prune.sparse import layer_sparsity_table, sparse_size_bytes

        r = self.recipe
        if r.prune == "fine":
            table = layer_sparsity_table(model, self.targets)
            weights = sum(t["weights"] for t in table)
            return {
                "method": "fine",
                "layers": table,
                "overall_sparsity": sum(t["zeros"] for t in table) / weights,
                "all_exact": all(t["exact"] for t in table),
                "sparse_size_bytes": sparse_size_bytes(model),
                **({"sensitivity": "sensitivity.json"} if r.sparsity == "auto" else {}),
            }
        from tinykit.transforms import module_shapes

        return {"method": "channel", "layers": module_shapes(model)}

    def auto_sparsity(self, model) -> dict[str, float]:
        """Per-layer sparsities from a validation-split sensitivity scan (saved with plots)."""
        from tinykit.fileio import write_json
        from tinykit.plots import param_bars, sensitivity_curves
        from tinykit.prune.sensitivity import choose_sparsities, overall_sparsity, scan_sensitivity

        r = self.recipe
        scan = scan_sensitivity(
            model,
            self.data.inputs("val"),
            self.data.val.y,
            sparsities=r.scan_grid,
            progress=self.progress,
        )
        chosen = choose_sparsities(scan, max_drop=r.max_drop, target=r.target_sparsity)
        write_json(self.out / "sensitivity.json", {**scan.to_dict(), "chosen": chosen})
        sensitivity_curves(scan, self.out / "sensitivity.png", chosen=chosen)
        param_bars(scan.params, self.out / "params.png")
        self.log(
            f"  auto sparsity: {100 * overall_sparsity(chosen, scan.params):.1f}% overall "
            f"({', '.join(f'{n} {s:.2f}' for n, s in chosen.items())})"
        )
        return chosen

    def quantize(self, model) -> tuple[Any, str, Any]:
        """Fold batch norm, quantize, fine-tune within the quantized structure."""
        from tinykit.train import TrainConfig, fit
        from tinykit.transforms import fold_batchnorm

        r = self.recipe
        model.eval()
        fold_batchnorm(model)
        cfg = TrainConfig(epochs=r.qat_epochs, lr=r.finetune_lr / 2, seed=r.seed)
        if r.quant == "kmeans":
            from tinykit.quant.kmeans import CodebookUpdate, quantize_kmeans

            books = quantize_kmeans(model, r.bits, per_channel=r.per_channel)
            if r.qat_epochs:
                fit(
                    model,
                    self.data,
                    cfg,
                    after_step=CodebookUpdate(model, books),
                    desc=f"k-means {r.bits}-bit fine-tune",
                    progress=self.progress,
                )
            return model.eval(), f"kmeans{r.bits}", books
        from tinykit.quant.linear import quantize_weights_linear

        quants = quantize_weights_linear(model, r.bits)
        return model.eval(), "int8-weights" if r.bits == 8 else f"int{r.bits}-weights", quants

    # --- the chain ---------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        from tinykit.bench.env import environment

        r = self.recipe
        model = self.src.model.eval()
        self.validate(model)
        self.log(f"compress {self.src.name} on {self.data.summary()}")
        baseline = self.measure_stage("baseline", model)
        work = copy.deepcopy(model)
        if r.quant != "none":  # compare like with like: batch norm folded on both sides
            from tinykit.transforms import fold_batchnorm

            fold_batchnorm(work)
        before_w = _weights(work)
        work = copy.deepcopy(model)
        pruning = None
        if r.prune != "none":
            work = self.prune(work)
            self.measure_stage("pruned", work)
            pruning = self.pruning_summary(work)
        encoding, precision = None, "fp32"
        if r.quant != "none":
            work, precision, encoding = self.quantize(work)
            onnx_prec = "kmeans" if r.quant == "kmeans" else "int8-weights"
            self.measure_stage("quantized", work, onnx_encoding=encoding, precision=onnx_prec)
        final = self.stages[-1]
        artifacts = self.export_and_verify(work, precision, encoding, final)
        self.save_outputs(work, before_w)
        report = {
            "tinykit_report": 1,
            "model": self.src.name,
            "data": self.data.name,
            "baseline": _public(baseline),
            "compressed": _public(final),
            "stages": [_public(s) for s in self.stages],
            "artifacts": artifacts,
            "pruning": pruning,
            "recipe": r.to_dict(),
            "environment": environment(),
            "notes": {"size_bytes": _size_note()},
        }
        return report

    def export_and_verify(self, model, precision: str, encoding, final: dict) -> list[dict]:
        from tinykit.exporters import export
        from tinykit.exporters.bundle import (
            artifact_entry,
            copy_runtime_files,
            manifest,
            write_bundle,
        )
        from tinykit.exporters.verify import verify_artifact

        r = self.recipe
        bundle = self.out / "bundle" / self.src.name
        bundle.mkdir(parents=True, exist_ok=True)
        entries, results = [], []
        for fmt in r.formats:
            if fmt == "onnx":
                onnx_prec = {"kmeans": "kmeans", "linear": "int8-weights"}.get(r.quant, "fp32")
                art = export(
                    model,
                    self.data.spec,
                    bundle / f"model.{precision}.onnx",
                    format="onnx",
                    precision=onnx_prec,
                    encoding=encoding,
                )
                art.precision = precision
            else:
                art = export(
                    model,
                    self.data.spec,
                    bundle / f"model.{precision}.tflite",
                    format="tflite",
                    precision="fp32",
                )
                art.precision = "fp32" if r.quant != "none" else "fp32"
            extra = {}
            if fmt == "tflite" and r.quant != "none":
                extra["weights"] = f"{precision} values stored decoded as fp32"
            entries.append(artifact_entry(art.path, bundle, fmt, art.precision, **extra))
            results.append(art)
        output_shape = [1, self.data.spec.num_classes]
        man = manifest(
            self.src.name,
            self.data.spec,
            entries,
            output_shape=output_shape,
            metrics={k: final[k] for k in ("accuracy", "macs", "nonzero_params")},
        )
        copy_runtime_files(bundle)
        out = []
        for art, entry in zip(results, entries, strict=True):
            v = verify_artifact(
                art,
                self.data.test.x,
                self.data.test.y,
                man["input"],
                final["_pred"],
                progress=self.progress,
            )
            rec = {
                "path": os.path.relpath(art.path, self.out),
                "format": entry["format"],
                "precision": entry["precision"],
                **({"weights": entry["weights"]} if "weights" in entry else {}),
                "accuracy": v["accuracy"],
                "agreement": v["agreement"],
                "size_bytes": art.size_bytes,
                "size_gzip_bytes": gzip_size(art.path),
                "params": final["params"],
                "nonzero_params": final["nonzero_params"],
                "macs": final["macs"],
                "effective_macs": final["effective_macs"],
                "latency_ms": self._bench(art.path),
            }
            out.append(rec)
            entry.update(
                accuracy=rec["accuracy"], agreement=rec["agreement"], size_bytes=rec["size_bytes"]
            )
            self.log(
                f"  {entry['path']:<24} accuracy {100 * v['accuracy']:.2f}%  "
                f"agreement {100 * v['agreement']:.2f}%"
            )
        man["metrics"]["size_bytes"] = min(o["size_bytes"] for o in out) if out else None
        write_bundle(bundle, man)
        return out

    def save_outputs(self, model, before_w) -> None:
        from tinykit.checkpoint import Checkpoint, save_checkpoint
        from tinykit.plots import weight_histograms

        save_checkpoint(
            self.out / "model.pt",
            model,
            Checkpoint(
                arch=self.src.arch,
                spec=self.data.spec,
                state_dict={},
                arch_kwargs=self.src.arch_kwargs,
                recipe=self.recipe.to_dict(),
                metrics=_public(self.stages[-1]),
            ),
        )
        after = _weights(model)
        weight_histograms(
            before_w,
            _match_layers(before_w, after),
            self.out / "weights.png",
            title=f"{self.src.name}: weights before (grey) and after compression"
            + (" (batch norm folded into both)" if self.recipe.quant != "none" else ""),
        )


def _weights(model) -> dict[str, np.ndarray]:
    from tinykit.plots import layer_weights

    return layer_weights(model)


def _match_layers(before: dict, after: dict) -> dict:
    return {k: v for k, v in after.items() if k in before}


def _layer_names(model) -> list[str]:
    from tinykit.prune.fine import prunable_layers

    return list(prunable_layers(model))


def _as_target(sparsity, name: str) -> float:
    return float(sparsity.get(name, 0.0)) if isinstance(sparsity, dict) else float(sparsity)


def _public(m: dict) -> dict:
    return {k: v for k, v in m.items() if not k.startswith("_")}


def _size_note() -> str:
    from tinykit.report import SIZE_NOTE

    return SIZE_NOTE


def compress(
    source: ModelSource,
    data: DataSet,
    recipe: Recipe,
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
