"""Config types and flags are validated with the key named; --model help lists the registry; DGSPNet phases."""

from __future__ import annotations

import pytest

from langir.errors import ConfigError
from langir.train.config import TrainConfig, load_toml
from tests.train import tiny


def test_bool_for_a_number_is_refused_naming_the_key(tmp_path):
    conf = tmp_path / "c.toml"
    conf.write_text("[train]\nlr = true\n")
    with pytest.raises(ConfigError, match=r"lr should be float, got True"):
        load_toml(conf)
    conf.write_text("epochs = 2.5\n")
    with pytest.raises(ConfigError, match="epochs should be int"):
        load_toml(conf)
    conf.write_text("amp = 1\n")
    with pytest.raises(ConfigError, match="amp should be bool"):
        load_toml(conf)
    conf.write_text("lr = 3\nmodel_kwargs = { base = 8 }\n")
    assert load_toml(conf) == {"lr": 3.0, "model_kwargs": {"base": 8}}
    with pytest.raises(ConfigError, match="target_crop"):
        TrainConfig(target_crop=1.5).checked()
    with pytest.raises(ConfigError, match="input must be one of crop, resize"):
        TrainConfig(input="warp").checked()


def test_cli_lr_true_is_one_line(cli, tmp_path):
    root = tiny.make_dataset(tmp_path / "ds", n=4)
    conf = tmp_path / "c.toml"
    conf.write_text("lr = true\n")
    res = cli("train", root, "--config", conf, "--out", tmp_path / "r")
    assert res.code == 2 and "lr should be float" in res.stderr and "Traceback" not in res.stderr
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("flag, value", [("--epochs", "0"), ("--batch-size", "0"), ("--size", "16"), ("--workers", "-1"),
                                         ("--target-crop", "2")])
def test_cli_flags_out_of_range(cli, tmp_path, flag, value):
    res = cli("train", tmp_path, flag, value)
    assert res.code == 2 and flag in res.stderr and "Traceback" not in res.stderr


def test_model_help_lists_every_registered_model(cli):
    from langir.models import list_models, model_info

    res = cli("train", "--help")
    assert res.code == 0
    text = " ".join(res.stdout.split())
    for name in list_models():
        assert name in text
    assert model_info("lgnet_no_fusion").description.split("(")[0].strip() in text


def test_dgspnet_main_phase_refuses_without_pretraining(cli, tmp_path):
    root = tiny.make_dataset(tmp_path / "ds", n=4)
    res = cli("train", root, "--model", "dgspnet", "--phase", "main", "--clip-model", "langir-tiny", "--clip-pretrained", "none",
              "--device", "cpu", "--out", tmp_path / "r")
    assert res.code == 2 and "--phase both" in res.stderr and "Traceback" not in res.stderr
    assert not (tmp_path / "r" / "last.pt").exists()


def test_resume_and_overwrite_exclude_each_other(cli, tmp_path):
    root = tiny.make_dataset(tmp_path / "ds", n=4)
    res = cli("train", root, "--out", tmp_path / "r", "--resume", "--overwrite")
    assert res.code == 2 and "exclude" in res.stderr
