"""CLIP loading with the tiny offline config, the embedding cache and flip-consistent descriptors."""

from __future__ import annotations

import numpy as np
import pytest

from langir.data.dataset import LangIRDataset
from langir.errors import ConfigError
from langir.language.cache import EmbeddingCache, compute_descriptors, descriptor, flipped_text
from langir.language.clip import clip_key, load_clip
from tests.train.tiny import make_dataset


@pytest.fixture(scope="module")
def ds(tmp_path_factory):
    return LangIRDataset.open(make_dataset(tmp_path_factory.mktemp("lang") / "ds", n=4), "auto", None, None, None, None)


def test_tiny_clip_loads_offline_and_is_deterministic():
    model, preprocess, tokenizer = load_clip("langir-tiny", None)
    again, _, _ = load_clip("langir-tiny", None)
    emb = model.encode_text(tokenizer(["a small target on the left"]))
    assert emb.shape == (1, 64)
    # Untrained weights are seeded, so cached embeddings stay valid between processes.
    assert all((a == b).all() for a, b in zip(model.state_dict().values(), again.state_dict().values(), strict=True))


def test_unknown_clip_and_missing_checkpoint_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="unknown CLIP model"):
        load_clip("no-such-clip")
    with pytest.raises(ConfigError, match="not found"):
        load_clip("langir-tiny", str(tmp_path / "missing.pt"))


def test_local_checkpoint_key_depends_on_content(tmp_path):
    a, b = tmp_path / "a.pt", tmp_path / "b.pt"
    a.write_bytes(b"one")
    b.write_bytes(b"two")
    assert clip_key("langir-tiny", str(a)) != clip_key("langir-tiny", str(b))
    assert clip_key("langir-tiny", None) != clip_key("langir-tiny", "openai")


def test_flip_swaps_position_words():
    text = "The small target is in the upper left region."
    assert "right" in flipped_text(text, True, False) and "upper" in flipped_text(text, True, False)
    assert "lower" in flipped_text(text, False, True) and "left" in flipped_text(text, False, True)
    assert flipped_text(text, False, False) == text


def test_cache_reuse_and_invalidation(ds, tmp_path):
    cache = EmbeddingCache(ds.root, "langir-tiny", None, cache_dir=tmp_path / "c")
    ids = ds.all_ids()
    first = compute_descriptors(ds, ids, cache)
    assert cache.computed > 0
    second_cache = EmbeddingCache(ds.root, "langir-tiny", None, cache_dir=tmp_path / "c")
    second = compute_descriptors(ds, ids, second_cache)
    assert second_cache.computed == 0
    for i in ids:
        assert np.array_equal(first[i]["image"], second[i]["image"])
        assert np.isclose(np.linalg.norm(first[i]["image"]), 1.0, atol=1e-5)
    # Editing one description recomputes only its text embeddings.
    ds.write_description(ids[0], "The small target is at the center.", overwrite=True)
    third_cache = EmbeddingCache(ds.root, "langir-tiny", None, cache_dir=tmp_path / "c")
    compute_descriptors(ds, ids, third_cache)
    assert 1 <= third_cache.computed <= 4


def test_descriptor_uses_swapped_text_embedding(ds, tmp_path):
    cache = EmbeddingCache(ds.root, "langir-tiny", None, cache_dir=tmp_path / "c")
    sid = ds.all_ids()[-1]  # an unedited description with "right"
    entry = compute_descriptors(ds, [sid], cache)[sid]
    text = ds.read_description(sid)
    swapped = cache.text(flipped_text(text, True, False))
    assert np.allclose(descriptor(entry, hflip=True), entry["image"] + swapped)
    assert not np.allclose(descriptor(entry, hflip=True), descriptor(entry))
    assert np.allclose(descriptor(entry, use_text=False), entry["image"])


def test_missing_descriptions_name_the_ids(tmp_path):
    root = make_dataset(tmp_path / "nodesc", n=4, descriptions=False)
    nodesc = LangIRDataset.open(root, "auto", None, None, None, None)
    cache = EmbeddingCache(root, "langir-tiny", None)
    with pytest.raises(ConfigError, match="XDU0"):
        compute_descriptors(nodesc, nodesc.all_ids(), cache)
