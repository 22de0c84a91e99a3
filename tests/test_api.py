"""The Python API: load a trained model, encode, decode, sample, reconstruct, interpolate,
evaluate, and export to PyTorch and back."""

import numpy as np
import pytest

import minivae
from minivae.cli import main


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("api") / "run"
    args = ["train", "--builtin-size", "400", "--epochs", "2", "--embed-dim", "16"]
    args += ["--hidden-dim", "24", "--latent-dim", "4", "--iw-samples", "2", "--device", "cpu"]
    assert main([*args, "--out", str(out), "--no-progress"]) == 0
    return out


def test_load_encode_decode_sample_evaluate(run, tmp_path, capsys):
    vae = minivae.load(run)
    mu, logvar = vae.encode(["the chef cooked a tasty soup", "the band played a song"])
    assert mu.shape == logvar.shape == (2, 4)
    assert len(vae.decode(mu)) == 2 and all(isinstance(s, str) for s in vae.decode(mu))
    assert vae.reconstruct(["the chef cooked a tasty soup"]) == vae.decode(mu[:1])
    assert len(vae.sample(3, method="beam")) == 3
    assert len(vae.interpolate("the chef cooked", "the band played", steps=4)) == 4
    # the API's evaluation is the command line's
    capsys.readouterr()
    assert main(["eval", str(run), "--json"]) == 0
    import json

    cli = json.loads(capsys.readouterr().out)
    assert vae.evaluate()["nll"] == pytest.approx(cli["nll"])
    text = tmp_path / "t.txt"
    text.write_text("the chef cooked a tasty soup\nzzz qqq\n")
    assert vae.evaluate(text)["num_sentences"] == 2
    with pytest.raises(ValueError, match="unknown"):
        vae.encode(["zzz qqq"])
    with pytest.raises(ValueError, match="takes no condition"):
        vae.sample(2, condition="food")


def test_export_to_pytorch_and_back(run):
    torch = pytest.importorskip(
        "torch", reason="PyTorch is optional (pip install 'minivae[torch]')"
    )
    from minivae.export import from_torch

    vae = minivae.load(run)
    module = vae.to_torch()
    back = from_torch(module)
    for name, value in vae.params.items():
        np.testing.assert_allclose(back[name], value, rtol=1e-6, err_msg=name)
    batch = vae._batch(["the chef cooked a tasty soup"])
    mu, _ = module.encode(torch.as_tensor(batch.tokens), torch.as_tensor(batch.lengths))
    np.testing.assert_allclose(
        mu.detach().numpy(), vae.encode(["the chef cooked a tasty soup"])[0], rtol=1e-4, atol=1e-5
    )
