"""The bundled example registry: deterministic, valid, and made of networks that really run."""

from __future__ import annotations

import numpy as np

from tests.helpers import PROJECT, script, validate_json


def test_examples_regenerate_byte_identical() -> None:
    done = script("scripts/make_examples.py", "--check")
    assert done.returncode == 0, done.stdout + done.stderr


def test_example_registry_is_valid() -> None:
    code, report = validate_json(PROJECT)
    assert code == 0, report["findings"]
    formats = {v["format"] for v in report["versions"]}
    assert formats == {"onnx", "torchscript", "tflite"}
    ids = [v["id"] for v in report["versions"]]
    assert {"iris-mlp@1.0.0", "iris-mlp@1.1.0", "iris-mlp@1.2.0"} <= set(ids)


def test_examples_run_in_their_runtimes() -> None:
    import onnxruntime
    import torch
    from ai_edge_litert.interpreter import Interpreter

    models = PROJECT / "models"
    session = onnxruntime.InferenceSession(str(models / "iris-mlp/1.1.0/model.onnx"))
    (probabilities,) = session.run(None, {"features": np.ones((2, 4), np.float32)})
    assert probabilities.shape == (2, 3)
    assert np.allclose(probabilities.sum(axis=1), 1.0)
    # 1.2.0: the same network, with the most probable class as an added output.
    session = onnxruntime.InferenceSession(str(models / "iris-mlp/1.2.0/model.onnx"))
    same, label = session.run(None, {"features": np.ones((2, 4), np.float32)})
    assert np.array_equal(same, probabilities)
    assert label.dtype == np.int64 and list(label) == list(probabilities.argmax(axis=1))

    net = torch.jit.load(str(models / "tiny-convnet/0.1.0/model.pt"))  # type: ignore[no-untyped-call]
    assert tuple(net(torch.zeros(3, 1, 8, 8)).shape) == (3, 2)

    interpreter = Interpreter(model_path=str(models / "keyword-dense/2.0.0/model.tflite"))
    interpreter.allocate_tensors()
    interpreter.set_tensor(0, np.ones((1, 16), np.float32))
    interpreter.invoke()
    scores = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
    assert scores.shape == (1, 4)
    assert np.isclose(scores.sum(), 1.0) and scores.max() > 0.3
