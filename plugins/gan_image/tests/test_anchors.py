"""``gan import --from pytorch-gan``: PyTorch-GAN's DCGAN-style generator, reproduced exactly.

``PGenerator`` is written from eriklindernoren/PyTorch-GAN's ``implementations/dcgan/dcgan.py``
(module names kept, so its state dict has that project's keys); test-only.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from gan.cli import main
from gan.runs import load_run

pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning")


class PGenerator(nn.Module):
    def __init__(self, latent_dim: int, img_size: int, channels: int) -> None:
        super().__init__()
        self.init_size = img_size // 4
        self.l1 = nn.Sequential(nn.Linear(latent_dim, 128 * self.init_size ** 2))
        self.conv_blocks = nn.Sequential(
            nn.BatchNorm2d(128), nn.Upsample(scale_factor=2), nn.Conv2d(128, 128, 3, stride=1, padding=1),
            nn.BatchNorm2d(128, 0.8),  # (sic) 0.8 lands on eps
            nn.LeakyReLU(0.2, inplace=True), nn.Upsample(scale_factor=2),
            nn.Conv2d(128, 64, 3, stride=1, padding=1), nn.BatchNorm2d(64, 0.8), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(64, channels, 3, stride=1, padding=1), nn.Tanh())

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        out = self.l1(z).view(z.shape[0], 128, self.init_size, self.init_size)
        return self.conv_blocks(out)


def randomized(seed: int = 0) -> PGenerator:
    g = torch.Generator().manual_seed(seed)
    net = PGenerator(100, 32, 1)
    with torch.no_grad():
        for name, t in net.state_dict().items():
            if name.endswith("running_var"):
                t.copy_(torch.rand(t.shape, generator=g) + 0.5)
            elif t.dtype.is_floating_point:
                t.copy_((1.0 if name.endswith("weight") and t.dim() == 1 else 0.0)
                        + 0.1 * torch.randn(t.shape, generator=g))
    return net.eval()


def test_pytorch_gan_dcgan_generator_imports_exactly(tmp_path):
    ref = randomized()
    torch.save(ref.state_dict(), tmp_path / "generator.pth")
    run = tmp_path / "run"
    assert main(["import", "--from", "pytorch-gan", str(tmp_path / "generator.pth"), "--plugin", "dcgan",
                 "--set", "data.embedded_size=64", "--set", "batch_size=8", "--run-dir", str(run)]) == 0
    recipe = load_run(run, device="cpu")
    assert recipe.config.g_arch == "upsample-conv" and recipe.image_shape == (1, 32, 32)
    z = torch.randn(5, 100)
    with torch.no_grad():
        assert (recipe.eval_model("G").eval()(z) - ref(z)).abs().max().item() <= 1e-6
    # and the run behaves like any other: sample through the recipe, export the file
    assert recipe.sample(3, seed=1).shape == (3, 1, 32, 32)
    assert main(["export", "--run-dir", str(run), "--format", "torchscript"]) == 0
    exported = torch.jit.load(str(run / "export" / "dcgan.pt"))
    assert (exported(z) - ref(z)).abs().max().item() <= 1e-6


@pytest.mark.parametrize("model,expected", [
    ("cgan", "only unconditional noise → image models"),
    ("pix2pix", "--from pytorch-gan: model 'pix2pix' imports from cyclegan-and-pix2pix only"),
])
def test_pytorch_gan_refusals_are_one_line(model, expected, tmp_path, capsys):
    torch.save(randomized().state_dict(), tmp_path / "generator.pth")
    assert main(["import", "--from", "pytorch-gan", str(tmp_path / "generator.pth"), "--plugin", model,
                 "--preset", "tiny", "--run-dir", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and expected in err, err
