"""One per-user cache folder (issue 19): CLIP embeddings and the review page's files share its rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from langir.data.user_cache import user_cache_dir


@pytest.fixture
def no_cache_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LANGIR_CACHE", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)


def test_langir_cache_moves_every_user_of_the_cache(no_cache_env, tmp_path: Path, monkeypatch) -> None:
    """$LANGIR_CACHE used to move only `predict`'s embeddings: training on a read-only set and `review`
    ignored it (and XDG_CACHE_HOME moved all three differently)."""
    from langir.evaluate.inference import embedding_cache
    from langir.language.cache import EmbeddingCache

    monkeypatch.setenv("LANGIR_CACHE", str(tmp_path / "mine"))
    (tmp_path / "file").write_text("x")
    read_only = tmp_path / "file" / "ds"  # under a file: nothing can be created there
    trained = EmbeddingCache(read_only, "langir-tiny", None)
    loose = embedding_cache(None, {"clip_model": "langir-tiny"}, "cpu")
    assert trained.dir.parent == loose.dir.parent == tmp_path / "mine" / "embeddings"
    assert user_cache_dir("review") == tmp_path / "mine" / "review"


def test_xdg_and_home_defaults(no_cache_env, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert user_cache_dir("embeddings") == tmp_path / "xdg" / "langir" / "embeddings"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert user_cache_dir() in (tmp_path / "home" / ".cache" / "langir", tmp_path / "home" / "Library" / "Caches" / "langir")


def test_the_review_server_uses_it(no_cache_env, tmp_path: Path, monkeypatch) -> None:
    import inspect

    from langir.review import server

    assert 'user_cache_dir("review")' in inspect.getsource(server)
