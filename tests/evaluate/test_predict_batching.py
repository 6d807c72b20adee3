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


def test_batches_stay_within_the_pixel_budget(tmp_path: Path) -> None:
    from langir.evaluate.inference import predict_arrays

    calls: list[int] = []

    class Counting(torch.nn.Module):
        def forward(self, x, td=None):
            calls.append(x.shape[0])
            return x

    images = [(f"i{k}", np.zeros((10, 10), np.float32)) for k in range(7)]
    list(predict_arrays(Counting(), {}, images, batch_size=4, max_pixels=250))
    assert calls == [2, 2, 2, 1]  # 250 px budget / 100 px images → at most 2 per batch
    calls.clear()
    list(predict_arrays(Counting(), {}, images, batch_size=4, max_pixels=None))
    assert calls == [4, 3]


def test_resize_checkpoints_batch_frames_of_any_size_together() -> None:
    """A checkpoint trained with --input resize sees every frame at size×size: frames of three sizes run in one
    batch (on CUDA by default; forced here), each comes back at its native size, and the probabilities equal
    those of a batch of one."""
    from langir.evaluate.inference import predict_arrays

    torch.manual_seed(0)
    model = create_model("unet").eval()
    calls: list[tuple[int, ...]] = []
    inner = model.forward
    model.forward = lambda x, td=None: (calls.append(tuple(x.shape)), inner(x, td=td))[1]
    rng = np.random.default_rng(0)
    images = [(f"i{k}", rng.random(shape, dtype=np.float32)) for k, shape in enumerate([(40, 56), (33, 47), (64, 20)])]
    meta = {"language_prior": "never", "input": "resize", "size": 32}
    batched = {p.id: p.prob for p in predict_arrays(model, meta, images, batch_size=8, pad_batches=True)}
    assert calls == [(3, 1, 32, 32)]
    calls.clear()
    list(predict_arrays(model, meta, images, batch_size=8))  # the CPU default: one exact size per batch
    assert calls == [(1, 1, 32, 32)] * 3
    single = {p.id: p.prob for p in predict_arrays(model, meta, images, batch_size=1)}
    for sample_id, image in images:
        assert batched[sample_id].shape == image.shape
        np.testing.assert_allclose(batched[sample_id], single[sample_id], atol=1e-5)


def test_frames_that_pad_alike_share_a_batch_and_see_what_they_see_alone() -> None:
    """Every langir model pads bottom/right to its pad_multiple (replicate) and crops back: frames of different
    sizes that pad to the same canvas run in one batch, and each gets exactly what a batch of one gives — LGNet's
    global pooling (its fusion blocks) included. (The default does this on CUDA only; forced on here.)"""
    from langir.evaluate.inference import predict_arrays

    rng = np.random.default_rng(0)
    shapes = [(40, 56), (33, 47), (64, 64), (17, 20), (50, 63)]
    images = [(f"i{k}", rng.random(shape, dtype=np.float32)) for k, shape in enumerate(shapes)]
    for name in ("unet", "lgnet_no_language"):
        torch.manual_seed(0)
        model = create_model(name).eval()
        calls: list[tuple[int, ...]] = []
        inner = model.forward
        model.forward = lambda x, td=None, inner=inner, calls=calls: (calls.append(tuple(x.shape)), inner(x, td=td))[1]
        meta = {"language_prior": "never", "model": name}
        batched = {p.id: p.prob for p in predict_arrays(model, meta, images, batch_size=8, pad_batches=True)}
        m = model.pad_multiple
        expected = sorted({(-(-h // m) * m, -(-w // m) * m) for h, w in shapes})
        assert sorted(c[2:] for c in calls) == expected and sum(c[0] for c in calls) == len(shapes)
        assert len(calls) < len(shapes)  # some frames of different sizes shared a batch
        for sample_id, image in images:  # against the model padding the frame itself, alone
            with torch.inference_mode():
                alone = torch.sigmoid(inner(torch.from_numpy(image)[None, None], td=None))[0, 0].numpy()
            assert batched[sample_id].shape == image.shape
            np.testing.assert_allclose(batched[sample_id], alone, atol=1e-5)


def test_every_model_pads_to_its_registered_multiple() -> None:
    """The registry's pad_multiple is the model's own (what predict batches by), at the default settings."""
    from langir.models import list_models, model_info

    for name in list_models():
        info = model_info(name)
        if info.needs_clip:  # builds a CLIP tower: covered by its own tests
            continue
        model = create_model(name)
        if type(model).__module__.startswith("langir.models"):  # not the toy nets other tests register
            assert model.pad_multiple == info.pad_multiple, name
