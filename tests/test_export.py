"""``gan export``: every family's generator as TorchScript and ONNX, checked against PyTorch.

Each parity test exports a tiny model and then, independently of the check ``gan export`` runs
itself, loads the file and compares it with the PyTorch module on fresh inputs of a batch size (and
for translators a spatial size) the export never saw.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import nn

from gan.cli import main
from gan.errors import GanError
from gan.export import TOLERANCE, ExportSpec, export_run, export_spec, read_metadata
from gan.runs import build_recipe

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")  # torch 2.14: TorchScript deprecated

IMAGE_MODELS = ["dcgan", "gan", "cgan", "acgan", "infogan", "wgan-gp", "lsgan", "ebgan", "lapgan"]
TRANSLATION_MODELS = ["pix2pix", "cyclegan", "stargan", "srgan", "srresnet"]


def tiny(model: str):
    recipe = build_recipe(model, preset="tiny", device="cpu").recipe
    for m in recipe.models.values():
        m.eval()
    return recipe


def fresh_inputs(spec: ExportSpec, batch: int = 5) -> tuple[torch.Tensor, ...]:
    size = (spec.sizes[0][0] + 7, spec.sizes[0][1] + 2) if spec.sizes else None
    return spec.make_inputs(batch, size, torch.Generator().manual_seed(99))


def run_file(path: Path, names: list[str], inputs: tuple[torch.Tensor, ...]) -> list[torch.Tensor]:
    if path.suffix == ".onnx":
        import onnxruntime as ort
        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        return [torch.from_numpy(o) for o in sess.run(None, {n: t.numpy() for n, t in zip(names, inputs)})]
    out = torch.jit.load(str(path))(*inputs)
    return list(out) if isinstance(out, tuple) else [out]


def check_family(model: str, fmt: str, tmp_path: Path, **options) -> list:
    recipe = tiny(model)
    recipe.run_dir = tmp_path
    results = export_run(recipe, fmt, tmp_path / f"{model}.{'onnx' if fmt == 'onnx' else 'pt'}", options)
    specs = recipe.export_modules(**options)
    assert [r.spec for r in results] == [s.name for s in specs]
    for r, spec in zip(results, specs):
        assert r.path.is_file() and r.bytes > 0 and r.max_diff <= TOLERANCE
        inputs = fresh_inputs(spec)
        with torch.no_grad():
            expected = spec.module(*inputs)
        got = run_file(r.path, spec.input_names, inputs)
        assert got[0].shape == expected.shape
        assert (got[0].double() - expected.double()).abs().max().item() <= TOLERANCE
        meta = read_metadata(r.path)
        assert meta["model"] == model and meta["format"] == fmt
        assert [i["name"] for i in meta["inputs"]] == spec.input_names
    return results


@pytest.mark.parametrize("model", IMAGE_MODELS + TRANSLATION_MODELS + ["seqgan"])
def test_torchscript_parity(model, tmp_path):
    results = check_family(model, "torchscript", tmp_path)
    if model == "cyclegan":
        assert sorted(r.path.name for r in results) == ["cyclegan-G_AB.pt", "cyclegan-G_BA.pt"]
    if model == "srgan":  # LR [0, 1] in, ×scale HR [-1, 1] out, any size
        meta = read_metadata(results[0].path)
        assert meta["inputs"][0]["range"] == [0.0, 1.0] and meta["outputs"][0]["range"] == [-1.0, 1.0]


def test_onnx_parity_pix2pix(tmp_path):
    """The hardest case by default (torch.export takes seconds per model; the rest run with -m slow):
    U-Net skips, batch norm on the statistics of the batch, dynamic batch and spatial size."""
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    import onnx
    check_family("pix2pix", "onnx", tmp_path)
    props = {p.key: p.value for p in onnx.load(str(tmp_path / "pix2pix.onnx")).metadata_props}
    assert json.loads(props["ganforge.outputs"])[0]["range"] == [-1.0, 1.0]
    assert props["ganforge.format"] == "onnx" and "batch" in props["ganforge.normalization"]


@pytest.mark.slow
@pytest.mark.parametrize("model", ["dcgan", "stargan", "cyclegan", "srgan", "seqgan", "gan", "cgan", "infogan",
                                   "lapgan"])
def test_onnx_parity_more_families(model, tmp_path):
    pytest.importorskip("onnxruntime")
    check_family(model, "onnx", tmp_path)


def test_image_metadata_states_ranges_and_layout(tmp_path):
    check_family("cgan", "torchscript", tmp_path)
    meta = read_metadata(tmp_path / "cgan.pt")
    out = meta["outputs"][0]
    assert out["range"] == [-1.0, 1.0] and out["layout"] == "NCHW"
    y = next(i for i in meta["inputs"] if i["name"] == "y")
    assert y["dtype"] == "int64" and y["range"][0] == 0 and len(y["classes"]) == y["range"][1] + 1


def test_seqgan_sampler_is_exact_inverse_cdf():
    """Token t is the inverse CDF of softmax(logits / temperature) at u[:, t], with the logits
    recomputed by teacher forcing on the sampled prefix (another code path)."""
    recipe = tiny("seqgan")
    spec = recipe.export_modules()[0]
    g = spec.module.g
    u = torch.rand(6, g.max_len, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        tokens = spec.module(u)
        logits = g(tokens) / recipe.config.temperature
    w = (logits - logits.amax(-1, keepdim=True)).exp().cumsum(-1)
    total = w[..., -1:]
    r = torch.minimum(u[..., None] * total, total * (1 - 2 ** -23))
    expected = torch.searchsorted(w, r, right=True).squeeze(-1)
    assert torch.equal(tokens, expected)
    assert len(set(tokens.flatten().tolist())) > 3  # not a degenerate constant sampler


def test_pix2pix_test_dropout_torchscript_shares_torch_rng(tmp_path):
    recipe = tiny("pix2pix")
    (r,) = export_run(recipe, "torchscript", tmp_path / "p.pt", {"test_dropout": True})
    assert r.max_diff == 0.0
    spec = recipe.export_modules(test_dropout=True)[0]
    x = fresh_inputs(spec, 2)
    m = torch.jit.load(str(r.path))
    torch.manual_seed(5)
    a = m(*x)
    torch.manual_seed(5)
    b = spec.module(*x)
    torch.manual_seed(6)
    c = m(*x)
    assert torch.equal(a, b) and not torch.equal(a, c)  # same masks for the same seed; stochastic
    assert read_metadata(r.path)["test_dropout"] is True
    with pytest.raises(GanError, match="test-dropout"):
        export_run(recipe, "onnx", tmp_path / "p.onnx", {"test_dropout": True})


class _SignFrozen(nn.Module):
    """Branches on a data value: tracing freezes the branch of the example input."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * 2 if bool(x.sum() > 0) else x + 1


def test_a_file_that_does_not_reproduce_pytorch_is_not_written(tmp_path):
    def make(n, size, gen):  # positive example first, then an all-negative input
        return (torch.full((n, 3), 1.0 if n == 2 else -1.0),)

    spec = ExportSpec("G", _SignFrozen(), ["x"], ["y"], make)
    path = tmp_path / "bad.pt"
    with pytest.raises(GanError, match=r"max \|exported - PyTorch\| = 2 on y, batch 1"):
        export_spec(spec, "torchscript", path, {})
    assert not path.exists() and not list(tmp_path.iterdir())


def test_cli_exports_ema_weights_of_a_run(tmp_path, capsys):
    run_dir = tmp_path / "run"
    assert main(["run", "--plugin", "dcgan", "--preset", "tiny", "--max-steps", "3", "--device", "cpu",
                 "--set", "run.ema_decay=0.5", "--set", "run.eval_at_start=false", "--set", "run.progress=false",
                 "--run-dir", str(run_dir)]) == 0
    assert main(["export", "--run-dir", str(run_dir), "--format", "torchscript"]) == 0
    path = run_dir / "export" / "dcgan.pt"
    assert "parity: max |diff|" in capsys.readouterr().out
    meta = read_metadata(path)
    assert meta["ema_weights"] is True and meta["checkpoint"].endswith(".pt")
    from gan.runs import load_run
    recipe = load_run(run_dir, device="cpu")
    z = torch.randn(4, recipe.config.z_dim)
    with torch.no_grad():
        ema, raw = recipe.eval_model("G").eval()(z), recipe.models["G"].eval()(z)
    out = torch.jit.load(str(path))(z)
    assert (out - ema).abs().max() <= 1e-6 < (out - raw).abs().max()  # EMA weights, not the raw ones


def test_cli_errors_are_one_line(tmp_path, capsys):
    assert main(["export", "--run-dir", str(tmp_path / "nothing")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and len(err.splitlines()) == 1


def test_seqgan_text_sampler_ends_sentences_and_carries_its_tokenizer(tmp_path):
    import random
    rnd = random.Random(0)
    words = "the a cat dog sat ran on under mat tree big small".split()
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(" ".join(rnd.choice(words) for _ in range(rnd.randint(2, 7)))
                                for _ in range(200)) + "\n", encoding="utf-8")
    recipe = build_recipe("seqgan", preset="tiny", device="cpu", dataset="text", data_root=corpus).recipe
    (r,) = export_run(recipe, "torchscript", tmp_path / "s.pt")
    assert r.max_diff == 0.0
    meta = read_metadata(r.path)
    from tokenizers import Tokenizer
    tok = Tokenizer.from_str(meta["tokenizer_json"])
    assert tok.get_vocab_size() == meta["vocab_size"]
    tokens = torch.jit.load(str(r.path))(torch.rand(16, meta["max_len"]))
    eos, pad = meta["eos_id"], meta["pad_id"]
    for row in tokens.tolist():
        if eos in row:  # everything after the first eos is pad
            assert all(t == pad for t in row[row.index(eos) + 1:])
        assert pad not in row[: row.index(eos) if eos in row else len(row)]  # banned before eos
