"""--finetune-text: the untrained tiny CLIP's text encoder trains with the detector, is saved, used, resumed, refused."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from langir.data.dataset import LangIRDataset
from langir.errors import ConfigError, DataError
from langir.evaluate.inference import evaluate_dataset, predict_dataset
from langir.language.text_tower import build_tower
from langir.models.checkpoint import load_checkpoint
from langir.train import engine
from langir.train.config import TrainConfig
from tests.train import tiny


@pytest.fixture(autouse=True)
def registry():
    tiny.register()


@pytest.fixture(scope="module")
def data_root(tmp_path_factory):
    return tiny.make_dataset(tmp_path_factory.mktemp("ft") / "ds")


def cfg(root, out, **kw) -> TrainConfig:
    base = dict(dataset=str(root), out=str(out), model="tiny", epochs=1, batch_size=2, size=32, warmup_epochs=0,
                lr=1e-2, clip_model="langir-tiny", clip_pretrained="", device="cpu", tensorboard=False,
                language_prior="train+test")
    base.update(kw)
    return TrainConfig(**base)


@pytest.fixture(scope="module")
def runs(data_root, tmp_path_factory):
    tiny.register()
    base = tmp_path_factory.mktemp("ftruns")
    engine.train(cfg(data_root, base / "tuned", finetune_text=True, text_lr_scale=1.0), quiet=True)
    engine.train(cfg(data_root, base / "frozen"), quiet=True)
    return base


def test_text_weights_train_and_are_saved_only_for_the_tuned_run(runs):
    tuned = torch.load(runs / "tuned" / "last.pt", weights_only=True)
    frozen = torch.load(runs / "frozen" / "last.pt", weights_only=True)
    assert "text_state" not in frozen and "text_encoder" not in frozen["meta"]
    assert tuned["meta"]["text_encoder"] == {"clip_model": "langir-tiny", "clip_pretrained": None, "layers": 0, "lr_scale": 1.0}
    initial, _ = build_tower("langir-tiny", None)
    start = initial.trained_state()
    saved = tuned["text_state"]
    assert set(saved) == set(start) and "token_embedding.weight" not in saved  # only what trains
    assert any(not torch.equal(saved[k], start[k]) for k in saved)
    # the optimiser has the text group at lr × scale and its state was saved for resume
    groups = tuned["state"]["optimizer"]["param_groups"]
    assert len(groups) == 2 and len(groups[1]["params"]) == len(saved)


def test_eval_with_train_and_test_prior_uses_the_tuned_text(runs, data_root):
    ds = LangIRDataset.open(data_root)
    ids = ds.ids("test")
    probs = {}
    for name in ("tuned", "frozen"):
        model, meta = load_checkpoint(runs / name / "last.pt")
        assert meta["language_prior"] == "train+test"
        probs[name] = dict(predict_dataset((model, meta), ds, ids, device="cpu"))
        assert 0.0 <= evaluate_dataset(model, meta, ds, ids, device="cpu")["iou"] <= 1.0
    # same seed, same detector initialisation: the outputs differ because the text does
    assert any(not np.allclose(probs["tuned"][i], probs["frozen"][i]) for i in ids)
    # and the tuned text matters: replacing the state with the initial tower's changes the output
    model, meta = load_checkpoint(runs / "tuned" / "last.pt")
    model.text_state = build_tower("langir-tiny", None)[0].trained_state()
    again = dict(predict_dataset((model, meta), ds, ids, device="cpu"))
    assert any(not np.allclose(again[i], probs["tuned"][i]) for i in ids)


def test_resume_continues_the_text_optimiser_state(data_root, tmp_path):
    kw = dict(finetune_text=True, text_layers=1, epochs=2)
    engine.train(cfg(data_root, tmp_path / "full", **kw), quiet=True)
    engine.train(cfg(data_root, tmp_path / "cut", **kw), stop_after_epoch=1, quiet=True)
    cut = torch.load(tmp_path / "cut" / "last.pt", weights_only=True)
    assert cut["state"]["optimizer"]["state"]  # Adan moments of both groups saved after epoch 1
    engine.train(cfg(data_root, tmp_path / "cut", **kw), resume=True, quiet=True)
    a = torch.load(tmp_path / "full" / "last.pt", weights_only=True)
    b = torch.load(tmp_path / "cut" / "last.pt", weights_only=True)
    assert set(a["text_state"]) == set(b["text_state"])
    # --text-layers 1 of the tiny CLIP's 2 blocks: the last block, the final norm and the projection only
    assert {k.split(".")[0] + (k.split(".")[2] if k.startswith("transformer") else "") for k in a["text_state"]} == \
        {"transformer1", "ln_final", "text_projection"}
    for key, value in a["text_state"].items():
        assert torch.equal(value, b["text_state"][key]), key
    for key, value in a["model_state"].items():
        assert torch.equal(value, b["model_state"][key]), key


def test_init_from_another_clip_is_one_line(cli, runs, data_root, tmp_path):
    with pytest.raises(ConfigError, match="fine-tuned from CLIP langir-tiny"):
        engine.train(cfg(data_root, tmp_path / "x", clip_model="ViT-B-32", finetune_text=True,
                         init_from=str(runs / "tuned" / "last.pt")), quiet=True)
    result = cli("train", data_root, "--model", "tiny", "--out", tmp_path / "y", "--finetune-text", "--clip-model",
                 "ViT-B-32", "--clip-pretrained", "none", "--init-from", runs / "tuned" / "last.pt", "--device", "cpu")
    assert result.code == 2 and not result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "fine-tuned from CLIP langir-tiny" in lines[0], result.stderr


def test_init_from_tuned_checkpoint_keeps_its_text(runs, data_root, tmp_path):
    with pytest.raises(ConfigError, match="pass --finetune-text"):
        engine.train(cfg(data_root, tmp_path / "x", init_from=str(runs / "tuned" / "last.pt")), quiet=True)
    engine.train(cfg(data_root, tmp_path / "y", finetune_text=True, lr=1e-9, text_lr_scale=1e-9,
                     init_from=str(runs / "tuned" / "last.pt")), quiet=True)
    start = torch.load(runs / "tuned" / "last.pt", weights_only=True)["text_state"]
    after = torch.load(tmp_path / "y" / "last.pt", weights_only=True)["text_state"]
    assert all(torch.allclose(start[k], after[k], atol=1e-5) for k in start)


def test_never_prior_refuses_finetune_text(data_root, tmp_path):
    with pytest.raises(ConfigError, match="finetune-text"):
        engine.train(cfg(data_root, tmp_path / "x", finetune_text=True, language_prior="never"), quiet=True)


def test_cli_toml_train_then_eval_and_predict_use_the_tuned_text(cli, data_root, tmp_path):
    """`finetune_text = true` in the TOML; eval and predict (loose files + descriptions) read the tuned encoder."""
    import json

    conf = tmp_path / "c.toml"
    conf.write_text('[train]\nmodel = "tiny"\nepochs = 1\nsize = 32\nbatch_size = 2\nwarmup_epochs = 0\n'
                    'tensorboard = false\nfinetune_text = true\ntext_layers = 1\nlanguage_prior = "train+test"\n')
    tiny_clip = ["--clip-model", "langir-tiny", "--clip-pretrained", "none"]
    res = cli("train", data_root, "--config", conf, "--device", "cpu", *tiny_clip, "--out", tmp_path / "run", "--json")
    assert res.code == 0, res.stderr
    ckpt = tmp_path / "run" / "last.pt"
    payload = torch.load(ckpt, weights_only=True)
    assert payload["meta"]["text_encoder"]["layers"] == 1 and payload["text_state"]
    ev = cli("eval", "--checkpoint", ckpt, "--dataset", data_root, "--split", "test", "--device", "cpu", "--json")
    assert ev.code == 0, ev.stderr
    assert 0.0 <= json.loads(ev.stdout)["iou"] <= 1.0
    # predict on loose files with {id}.txt descriptions: same probabilities as the dataset path
    files, texts = tmp_path / "files", tmp_path / "texts"
    files.mkdir()
    texts.mkdir()
    ds = LangIRDataset.open(data_root)
    for i in ds.ids("test"):
        (files / f"{i}.png").write_bytes(ds.image_path(i).read_bytes())
        (texts / f"{i}.txt").write_text(ds.read_description(i))
    pr = cli("predict", files, "--checkpoint", ckpt, "--out", tmp_path / "pred", "--descriptions", texts,
             "--device", "cpu", "--cache-dir", tmp_path / "cache")
    assert pr.code == 0, pr.stderr
    from PIL import Image

    model, meta = load_checkpoint(ckpt)
    for i, prob in predict_dataset((model, meta), ds, ds.ids("test"), device="cpu"):
        saved = np.asarray(Image.open(tmp_path / "pred" / "prob" / f"{i}.png")) / 65535.0
        assert np.abs(saved - prob).max() < 1e-3


def test_export_writes_the_tuned_text_encoder_next_to_the_graph(cli, runs, tmp_path):
    import json

    import onnxruntime as ort

    res = cli("export", "--checkpoint", runs / "tuned" / "last.pt", "--onnx", tmp_path / "m.onnx", "--size", "32", "--json")
    assert res.code == 0, res.stderr
    summary = json.loads(res.stdout)
    assert summary["text_onnx"] == str(tmp_path / "m.text.onnx") and summary["text_max_diff"] < 1e-4
    model, meta = load_checkpoint(runs / "tuned" / "last.pt")
    from langir.evaluate.inference import text_tower
    from langir.language.text_tower import encode

    tower, tokenizer = text_tower(model, meta, "cpu")
    text = "The small target is in the upper left region."
    got = ort.InferenceSession(str(tmp_path / "m.text.onnx")).run(["text"], {"tokens": tokenizer([text]).numpy()})[0]
    assert np.allclose(got, encode(tower, tokenizer, [text], "cpu"), atol=1e-5)
    frozen = cli("export", "--checkpoint", runs / "frozen" / "last.pt", "--onnx", tmp_path / "f.onnx", "--size", "32", "--json")
    assert frozen.code == 0 and "text_onnx" not in json.loads(frozen.stdout)


def test_damaged_or_foreign_text_state_is_one_line(cli, runs, data_root, tmp_path):
    payload = torch.load(runs / "tuned" / "last.pt", weights_only=True)
    foreign = dict(payload, meta={**payload["meta"], "clip_model": "ViT-B-32"})  # configured CLIP ≠ the tuned one
    torch.save(foreign, tmp_path / "foreign.pt")
    res = cli("eval", "--checkpoint", tmp_path / "foreign.pt", "--dataset", data_root, "--split", "test", "--device", "cpu")
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert res.code == 2 and len(lines) == 1 and "fine-tuned from CLIP langir-tiny" in lines[0], res.stderr
    unnamed = dict(payload, meta={k: v for k, v in payload["meta"].items() if k != "text_encoder"})
    torch.save(unnamed, tmp_path / "unnamed.pt")
    with pytest.raises(DataError, match="no 'text_encoder' entry"):
        load_checkpoint(tmp_path / "unnamed.pt")
    misfit = dict(payload, text_state={**payload["text_state"], "ln_final.weight": torch.zeros(3)})
    torch.save(misfit, tmp_path / "misfit.pt")
    model, meta = load_checkpoint(tmp_path / "misfit.pt")
    ds = LangIRDataset.open(data_root)
    with pytest.raises(DataError, match="ln_final.weight"):
        list(predict_dataset((model, meta), ds, ds.ids("test"), device="cpu"))


def test_text_layers_beyond_the_encoder_is_refused(data_root, tmp_path):
    with pytest.raises(ConfigError, match="--text-layers must be between 0 .all. and 2"):
        engine.train(cfg(data_root, tmp_path / "x", finetune_text=True, text_layers=5), quiet=True)
