"""``compress``: baseline -> prune -> fine-tune -> quantize -> export -> verify -> bench.

One module per link (prune_stage, quant_stage, export_stage); chain.py only strings them
together and collects the figures.
"""

from tinykit.pipeline.chain import Compressor, ModelSource, compress

__all__ = ["Compressor", "ModelSource", "compress"]
