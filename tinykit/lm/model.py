"""A frozen causal language model and its tokenizer, loaded from a local folder.

``--lm PATH`` takes any local Hugging Face causal-LM folder (config.json, weights and a
tokenizer); without it tinykit uses its own small GPT-2, pretrained once and cached.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tinykit.errors import TinykitError


def quiet_transformers() -> None:
    """Silence import-time chatter (torchao's pytree notices, transformers' advice)."""
    logging.getLogger("torch.utils._pytree").setLevel(logging.ERROR)
    import transformers

    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()


@dataclass
class LanguageModel:
    """A causal LM (eval mode, weights frozen) with the tokenizer it was trained with."""

    model: Any
    tokenizer: Any
    name: str

    def encode(self, text: str) -> list[int]:
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def decode(self, ids: list[int]) -> str:
        return self.tokenizer.decode(
            list(ids), skip_special_tokens=False, clean_up_tokenization_spaces=False
        )

    @property
    def pad_id(self) -> int:
        """Any valid id: padded positions are masked, their value never matters."""
        for tid in (self.tokenizer.pad_token_id, self.tokenizer.eos_token_id):
            if tid is not None:
                return int(tid)
        return 0

    @property
    def embedding_dim(self) -> int:
        return int(self.model.get_input_embeddings().weight.shape[1])

    def embed(self, ids):
        """Token embeddings (the input layer only; positions are added inside the model)."""
        return self.model.get_input_embeddings()(ids)

    def num_params(self) -> int:
        return sum(p.numel() for p in self.model.parameters())


def freeze(model) -> None:
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)


def load_lm(path: str | None = None, *, progress: bool = True) -> LanguageModel:
    """Load ``path`` (a local HF causal-LM folder) or tinykit's default LM when None."""
    if path is None:
        from tinykit.lm.pretrain import default_lm_dir

        return _load_dir(default_lm_dir(progress=progress), name="tinykit-gpt2-mini")
    p = Path(path)
    if not p.is_dir():
        raise TinykitError(f"--lm {p}: not a folder (give a local Hugging Face causal-LM folder)")
    if not (p / "config.json").is_file():
        raise TinykitError(f"--lm {p}: no config.json, so not a Hugging Face model folder")
    return _load_dir(p, name=p.name)


def _load_dir(p: Path, *, name: str) -> LanguageModel:
    quiet_transformers()
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    try:
        config = AutoConfig.from_pretrained(p, local_files_only=True)
    except (OSError, ValueError, KeyError) as e:
        raise TinykitError(f"--lm {p}: cannot read config.json ({str(e).splitlines()[0]})") from e
    try:
        model = AutoModelForCausalLM.from_pretrained(p, local_files_only=True)
    except ValueError as e:
        raise TinykitError(
            f"--lm {p}: a {type(config).__name__} is not a causal language model "
            "(give a GPT-2-like model folder)"
        ) from e
    except OSError as e:
        raise TinykitError(f"--lm {p}: cannot load the weights ({str(e).splitlines()[0]})") from e
    try:
        tok = AutoTokenizer.from_pretrained(p, local_files_only=True)
    except (OSError, ValueError, TypeError) as e:
        raise TinykitError(f"--lm {p}: no usable tokenizer in the folder ({e})") from e
    if isinstance(tok, bool) or tok is None:
        raise TinykitError(f"--lm {p}: no tokenizer files in the folder")
    freeze(model)
    return LanguageModel(model, tok, name)
