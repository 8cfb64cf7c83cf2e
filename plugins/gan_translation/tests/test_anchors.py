"""``gan import`` from pytorch-CycleGAN-and-pix2pix and StarGAN: our generators compute what theirs do.

The reference networks below are written from the anchors' published architectures
(pytorch-CycleGAN-and-pix2pix ``models/networks.py``, yunjey/stargan ``model.py``) with their module
names, so their ``state_dict()`` has exactly the anchors' keys; they are test-only.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from gan.cli import main
from gan.importers import apply_key_map
from gan.runs import load_run
from gan_translation.anchors import resnet_key_map, stargan_key_map, unet_key_map
from gan_translation.networks import ResnetGenerator, StarGenerator, UNetGenerator

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")
def _norm(kind: str, ch: int) -> nn.Module:
    # their get_norm_layer: batch → BatchNorm2d(affine, running stats); instance → InstanceNorm2d()
    return nn.BatchNorm2d(ch) if kind == "batch" else nn.InstanceNorm2d(ch)


class JResnetBlock(nn.Module):
    def __init__(self, dim: int, norm: str, dropout: bool) -> None:
        super().__init__()
        bias = norm == "instance"
        layers = [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=bias), _norm(norm, dim), nn.ReLU(True)]
        if dropout:
            layers.append(nn.Dropout(0.5))
        layers += [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=bias), _norm(norm, dim)]
        self.conv_block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv_block(x)


class JResnetGenerator(nn.Module):
    def __init__(self, cin: int, cout: int, ngf: int, n_blocks: int, norm: str = "instance",
                 dropout: bool = False) -> None:
        super().__init__()
        bias = norm == "instance"
        m = [nn.ReflectionPad2d(3), nn.Conv2d(cin, ngf, 7, bias=bias), _norm(norm, ngf), nn.ReLU(True)]
        for i in range(2):
            k = 2 ** i
            m += [nn.Conv2d(ngf * k, ngf * k * 2, 3, 2, 1, bias=bias), _norm(norm, ngf * k * 2), nn.ReLU(True)]
        m += [JResnetBlock(ngf * 4, norm, dropout) for _ in range(n_blocks)]
        for i in range(2):
            k = 2 ** (2 - i)
            m += [nn.ConvTranspose2d(ngf * k, ngf * k // 2, 3, 2, 1, output_padding=1, bias=bias),
                  _norm(norm, ngf * k // 2), nn.ReLU(True)]
        m += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, cout, 7), nn.Tanh()]
        self.model = nn.Sequential(*m)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class JUnetBlock(nn.Module):
    def __init__(self, outer: int, inner: int, cin: int | None = None, sub: nn.Module | None = None,
                 outermost: bool = False, innermost: bool = False, norm: str = "batch",
                 dropout: bool = False) -> None:
        super().__init__()
        self.outermost = outermost
        bias = norm == "instance"
        cin = outer if cin is None else cin
        down = nn.Conv2d(cin, inner, 4, 2, 1, bias=bias)
        if outermost:
            layers = [down, sub, nn.ReLU(True), nn.ConvTranspose2d(inner * 2, outer, 4, 2, 1), nn.Tanh()]
        elif innermost:
            layers = [nn.LeakyReLU(0.2, True), down, nn.ReLU(True),
                      nn.ConvTranspose2d(inner, outer, 4, 2, 1, bias=bias), _norm(norm, outer)]
        else:
            layers = [nn.LeakyReLU(0.2, True), down, _norm(norm, inner), sub, nn.ReLU(True),
                      nn.ConvTranspose2d(inner * 2, outer, 4, 2, 1, bias=bias), _norm(norm, outer)]
            if dropout:
                layers.append(nn.Dropout(0.5))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x) if self.outermost else torch.cat([x, self.model(x)], 1)


class JUnetGenerator(nn.Module):
    def __init__(self, cin: int, cout: int, num_downs: int, ngf: int, norm: str = "batch",
                 dropout: bool = True) -> None:
        super().__init__()
        b = JUnetBlock(ngf * 8, ngf * 8, innermost=True, norm=norm)
        for _ in range(num_downs - 5):
            b = JUnetBlock(ngf * 8, ngf * 8, sub=b, norm=norm, dropout=dropout)
        b = JUnetBlock(ngf * 4, ngf * 8, sub=b, norm=norm)
        b = JUnetBlock(ngf * 2, ngf * 4, sub=b, norm=norm)
        b = JUnetBlock(ngf, ngf * 2, sub=b, norm=norm)
        self.model = JUnetBlock(cout, ngf, cin=cin, sub=b, outermost=True, norm=norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class SResidualBlock(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv2d(dim, dim, 3, 1, 1, bias=False), nn.InstanceNorm2d(dim, affine=True, track_running_stats=True),
            nn.ReLU(True), nn.Conv2d(dim, dim, 3, 1, 1, bias=False),
            nn.InstanceNorm2d(dim, affine=True, track_running_stats=True))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.main(x)


class SGenerator(nn.Module):
    def __init__(self, conv_dim: int, c_dim: int, repeat_num: int, channels: int = 3) -> None:
        super().__init__()
        inorm = lambda d: nn.InstanceNorm2d(d, affine=True, track_running_stats=True)  # noqa: E731
        layers = [nn.Conv2d(channels + c_dim, conv_dim, 7, 1, 3, bias=False), inorm(conv_dim), nn.ReLU(True)]
        cur = conv_dim
        for _ in range(2):
            layers += [nn.Conv2d(cur, cur * 2, 4, 2, 1, bias=False), inorm(cur * 2), nn.ReLU(True)]
            cur *= 2
        layers += [SResidualBlock(cur) for _ in range(repeat_num)]
        for _ in range(2):
            layers += [nn.ConvTranspose2d(cur, cur // 2, 4, 2, 1, bias=False), inorm(cur // 2), nn.ReLU(True)]
            cur //= 2
        layers += [nn.Conv2d(cur, channels, 7, 1, 3, bias=False), nn.Tanh()]
        self.main = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        c = c.view(c.size(0), c.size(1), 1, 1).repeat(1, 1, x.size(2), x.size(3))
        return self.main(torch.cat([x, c], 1))


def randomize(module: nn.Module, seed: int = 0) -> nn.Module:
    """Every parameter and running statistic random (so a mis-mapped tensor shows in the output)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in module.state_dict().items():
            if t.dtype.is_floating_point:
                if name.endswith("running_var"):
                    t.copy_(torch.rand(t.shape, generator=g) + 0.5)
                elif name.endswith(".weight") and t.dim() == 1:  # norm scales
                    t.copy_(1 + 0.2 * torch.randn(t.shape, generator=g))
                else:
                    t.copy_(0.2 * torch.randn(t.shape, generator=g))
    return module


def no_dropout(module: nn.Module) -> nn.Module:
    """Their default test mode: train mode (batch statistics) but we compare without dropout."""
    module.train()
    for m in module.modules():
        if isinstance(m, nn.Dropout):
            m.eval()
    return module


def max_diff(a: torch.Tensor, b: torch.Tensor) -> float:
    return (a - b).abs().max().item()


# --- network level: every architecture option --------------------------------------------------
@pytest.mark.parametrize("n_blocks,norm,dropout", [(9, "instance", False), (6, "instance", True),
                                                   (6, "batch", False)])
def test_resnet_generator_computes_what_theirs_does(n_blocks, norm, dropout):
    ref = no_dropout(randomize(JResnetGenerator(3, 3, 4, n_blocks, norm, dropout)))
    ours = ResnetGenerator(3, 3, 4, n_blocks, norm).eval()
    sd = ref.state_dict()
    apply_key_map(ours, sd, resnet_key_map(ours, sd), "G.pth")
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        assert max_diff(ours(x), ref(x)) <= 1e-6


@pytest.mark.parametrize("num_downs,size,norm", [(8, 256, "batch"), (7, 128, "batch"), (5, 32, "instance")])
def test_unet_generator_computes_what_theirs_does(num_downs, size, norm):
    """U-Net-256 (8 levels), U-Net-128 and a small instance-norm one; skip halves swapped, absent
    biases zero. Sums of the same products in another order: equal to float rounding."""
    ref = no_dropout(randomize(JUnetGenerator(3, 2, num_downs, 4, norm)))
    ours = UNetGenerator(3, 2, num_downs, 4, norm).eval()
    apply_key_map(ours, ref.state_dict(), unet_key_map(ours, norm), "G.pth")
    x = torch.rand(2, 3, size, size) * 2 - 1
    with torch.no_grad():
        assert max_diff(ours(x), ref(x)) <= 1e-5


def test_unet_dropout_layout_of_the_reference_code():
    """With dropout_layout=cyclegan-and-pix2pix the same decoder blocks drop: with test-time dropout
    and the same seed both networks draw the same masks and agree."""
    ref = randomize(JUnetGenerator(3, 3, 8, 4, "batch")).train()
    ours = UNetGenerator(3, 3, 8, 4, "batch", dropout_depths=tuple(range(1, 8 - 4))).train()
    apply_key_map(ours, ref.state_dict(), unet_key_map(ours, "batch"), "G.pth")
    x = torch.rand(2, 3, 256, 256) * 2 - 1
    with torch.no_grad():
        torch.manual_seed(0)
        a = ours(x)
        torch.manual_seed(0)
        b = ref(x)
    assert max_diff(a, b) <= 1e-5


def test_stargan_generator_computes_what_theirs_does():
    ref = randomize(SGenerator(8, 5, 3)).train()  # their test code never calls G.eval()
    ours = StarGenerator(3, 5, 8, 3).eval()
    apply_key_map(ours, ref.state_dict(), stargan_key_map(ours), "200000-G.ckpt")
    x = torch.rand(3, 3, 32, 32) * 2 - 1
    c = torch.tensor([[1, 0, 0, 1, 0], [0, 1, 0, 0, 1], [0, 0, 1, 1, 1]], dtype=torch.float32)
    with torch.no_grad():
        assert max_diff(ours(x, c), ref(x, c)) <= 1e-6


# --- gan import end to end ---------------------------------------------------------------------
def _import(*args) -> int:
    return main(["import", *map(str, args)])


def test_import_cyclegan_pair_then_translate_and_export(tmp_path, capsys):
    ga, gb = randomize(JResnetGenerator(3, 3, 8, 2), 1), randomize(JResnetGenerator(3, 3, 8, 2), 2)
    torch.save(ga.state_dict(), tmp_path / "latest_net_G_A.pth")
    torch.save(gb.state_dict(), tmp_path / "latest_net_G_B.pth")
    run = tmp_path / "run"
    assert _import("--from", "cyclegan-and-pix2pix", tmp_path / "latest_net_G_A.pth", "--weights-b",
                   tmp_path / "latest_net_G_B.pth", "--plugin", "cyclegan", "--preset", "tiny",
                   "--run-dir", run) == 0
    recipe = load_run(run, device="cpu")
    assert recipe.config.n_blocks == 2 and recipe.config.ngf == 8  # inferred from the weights
    x = torch.rand(2, 3, 16, 16) * 2 - 1
    with torch.no_grad():
        assert max_diff(recipe.translate(x, direction="AtoB"), ga.eval()(x)) <= 1e-6
        assert max_diff(recipe.translate(x, direction="BtoA"), gb.eval()(x)) <= 1e-6
    assert main(["export", "--run-dir", str(run), "--format", "torchscript", "--direction", "BtoA"]) == 0
    exported = torch.jit.load(str(run / "export" / "cyclegan.pt"))
    assert max_diff(exported(x), gb(x)) <= 1e-6


def test_import_pix2pix_unet(tmp_path):
    ref = no_dropout(randomize(JUnetGenerator(3, 3, 5, 4, "batch")))
    torch.save(ref.state_dict(), tmp_path / "latest_net_G.pth")
    run = tmp_path / "run"
    assert _import("--from", "cyclegan-and-pix2pix", tmp_path / "latest_net_G.pth", "--plugin", "pix2pix",
                   "--preset", "tiny", "--set", "data.image_size=32", "--set", "data.load_size=36", "--run-dir", run) == 0
    recipe = load_run(run, device="cpu")
    assert recipe.config.dropout_layout == "cyclegan-and-pix2pix" and recipe.config.num_downs == 5
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        assert max_diff(recipe.eval_model("G").eval()(x), ref(x)) <= 1e-5


def test_import_stargan(tmp_path):
    ref = randomize(SGenerator(8, 7, 2)).train()  # the tiny embedded shapes data has 7 attributes
    torch.save(ref.state_dict(), tmp_path / "200000-G.ckpt")
    assert _import("--from", "stargan", tmp_path / "200000-G.ckpt", "--plugin", "stargan", "--preset", "tiny",
                   "--run-dir", tmp_path / "run") == 0
    g = load_run(tmp_path / "run", device="cpu").eval_model("G").eval()
    x, c = torch.rand(2, 3, 16, 16) * 2 - 1, torch.randint(0, 2, (2, 7)).float()
    with torch.no_grad():
        assert max_diff(g(x, c), ref(x, c)) <= 1e-6


class _Opaque:
    pass


@pytest.mark.parametrize("case,expected", [
    ("extra_key", "unexpected key 'model.99.weight'"),
    ("shape", "key 'model.1.weight' has shape (8, 3, 7, 7), expected (16, 3, 7, 7)"),
    ("missing", "key 'model.10.conv_block.5.weight' is missing"),
    ("pickle", "not a readable weights-only PyTorch file"),
    ("source", "--from stargan: model 'cyclegan' imports from cyclegan-and-pix2pix only"),
])
def test_bad_weights_are_one_line_naming_the_key(case, expected, tmp_path, capsys):
    sd = randomize(JResnetGenerator(3, 3, 8, 2)).state_dict()
    args = ["--set", "ngf=16"] if case == "shape" else []
    source = "stargan" if case == "source" else "cyclegan-and-pix2pix"
    if case == "extra_key":
        sd["model.99.weight"] = torch.zeros(1)
    if case == "missing":
        del sd["model.10.conv_block.5.weight"]
    payload = {"weights": _Opaque()} if case == "pickle" else sd
    torch.save(payload, tmp_path / "G.pth")
    assert _import("--from", source, tmp_path / "G.pth", "--plugin", "cyclegan", "--preset", "tiny",
                   *args, "--run-dir", tmp_path / "run") == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and expected in err, err
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_importer_refuses_a_run_dir_with_checkpoints(tmp_path):
    torch.save(randomize(SGenerator(8, 7, 2)).state_dict(), tmp_path / "G.ckpt")
    args = ["--from", "stargan", tmp_path / "G.ckpt", "--plugin", "stargan", "--preset", "tiny",
            "--run-dir", tmp_path / "run"]
    assert _import(*args) == 0
    assert _import(*args) == 2
    assert (tmp_path / "run" / "imported.json").is_file()
