from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from langir.data import LangIRDataset
from langir.evaluate.inference import predict_dataset
from langir.models import create_model
from tests.data.helpers import make_tree


def test_batched_equals_one_at_a_time_with_mixed_sizes(tmp_path: Path) -> None:
    make_tree(tmp_path / "a", ["s0", "s1", "s2"], "images/{id}.png", "masks/{id}.png", size=(40, 56))
    make_tree(tmp_path / "a", ["t0", "t1"], "images/{id}.png", "masks/{id}.png", size=(33, 47))
    ds = LangIRDataset.open(tmp_path / "a")
    torch.manual_seed(0)
    model = create_model("unet").eval()
    meta = {"language_prior": "never"}
    single = dict(predict_dataset((model, meta), ds, ds.ids(), device="cpu", batch_size=1))
    batched = dict(predict_dataset((model, meta), ds, ds.ids(), device="cpu", batch_size=2))
    assert single.keys() == batched.keys() == set(ds.ids())
    for sample_id, prob in single.items():
        assert prob.shape == ds.read_image(sample_id).shape
        np.testing.assert_allclose(batched[sample_id], prob, atol=1e-5)
