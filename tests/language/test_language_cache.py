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


def test_batched_embeddings_equal_one_at_a_time(ds, tmp_path):
    ids = ds.all_ids()
    one = EmbeddingCache(ds.root, "langir-tiny", None, cache_dir=tmp_path / "one", batch_size=1)
    many = EmbeddingCache(ds.root, "langir-tiny", None, cache_dir=tmp_path / "many", batch_size=3)
    a = compute_descriptors(ds, ids, one)
    b = compute_descriptors(ds, ids, many)
    for i in ids:
        for key in a[i]:
            np.testing.assert_allclose(a[i][key], b[i][key], atol=1e-5)
        assert np.allclose(a[i]["image"], one.image(ds.image_path(i), lambda s=i: ds.read_image(s)), atol=1e-6)


def test_transposed_descriptions_swap_axes(ds, tmp_path):
    from langir.language.cache import transposed_text

    assert transposed_text("The target is in the upper right.") == "The target is in the left lower."
    assert transposed_text("Top left corner") == "Left upper corner"
    cache = EmbeddingCache(ds.root, "langir-tiny", None, cache_dir=tmp_path / "t")
    sid = ds.all_ids()[0]
    entry = compute_descriptors(ds, [sid], cache, transpose=True)[sid]
    text = ds.read_description(sid)
    assert np.allclose(descriptor(entry, transpose=True), entry["image"] + cache.text(flipped_text(text, False, False, True)))


def test_unwritable_dataset_cache_falls_back_to_user_cache(tmp_path, monkeypatch):
    root = make_dataset(tmp_path / "ro", n=2)
    (root / ".langir").write_text("a file where the cache folder would go")  # cannot create folders under it
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    ro = LangIRDataset.open(root, "auto", None, None, None, None)
    cache = EmbeddingCache(root, "langir-tiny", None)
    assert cache.dir.is_relative_to(tmp_path / "xdg" / "langir" / "embeddings")
    compute_descriptors(ro, ro.all_ids(), cache)
    assert cache.computed > 0 and len(list(cache.dir.rglob("*.npy"))) == cache.computed


def test_skip_bad_leaves_out_unreadable_images(tmp_path):
    from langir.errors import DataError

    root = make_dataset(tmp_path / "bad", n=3)
    (root / "images" / "XDU1.png").write_bytes(b"")
    bad_ds = LangIRDataset.open(root, "auto", None, None, None, None)
    cache = EmbeddingCache(root, "langir-tiny", None, cache_dir=tmp_path / "c")
    with pytest.raises(DataError, match="XDU1"):
        compute_descriptors(bad_ds, bad_ds.all_ids(), cache)
    skipped = []
    done = compute_descriptors(bad_ds, bad_ds.all_ids(), cache, skip_bad=True, on_skip=lambda i, e: skipped.append(i))
    assert skipped == ["XDU1"] and sorted(done) == ["XDU0", "XDU2"]
