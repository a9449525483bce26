"""Recipe files: wrong types and stray tables are one clear error; the file gives only what it
says, so defaults follow the final settings as they do for flags."""

import pytest

from tinykit.errors import TinykitError
from tinykit.recipe import Recipe


def _file(tmp_path, text):
    p = tmp_path / "r.toml"
    p.write_text(text)
    return p


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('[recipe]\nbits = "four"\n', "'bits' must be a whole number, got 'four'"),
        ('[recipe]\nfinetune_epochs = "1"\n', "'finetune_epochs' must be a whole number"),
        ('[recipe]\nformats = "onnx"\n', "'formats' must be a list, got 'onnx'"),
        ("[recipe]\nper_channel = 1\n", "'per_channel' must be true or false"),
        ("[recipe]\nsparsity = true\n", "'sparsity' must be a number or a table or a string"),
        ('[recipe]\nprune = "fine"\n[quant]\nbits = 2\n', "unknown table or key 'quant'"),
        ("[recipe]\nsparsty = 0.5\n", "unknown recipe key 'sparsty'"),
    ],
)
def test_bad_recipe_files(tmp_path, text, needle):
    with pytest.raises(TinykitError, match=needle.replace("(", r"\(")):
        Recipe.from_toml(_file(tmp_path, text))


def test_file_gives_only_what_it_says(tmp_path):
    raw = Recipe.read_toml(_file(tmp_path, "[recipe]\nbits = 2\nsparsity = 0.5\n"))
    assert raw == {"bits": 2, "sparsity": 0.5}  # no qat_epochs or quant filled in
    r = Recipe.from_dict({**raw, "bits": 8})  # as --bits 8 on the command line would do
    assert r.quant == "linear" and r.qat_epochs == 0  # linear's default, not k-means' 5
    assert Recipe.from_toml(_file(tmp_path, "bits = 3\n")).qat_epochs == 5  # no [recipe] header
