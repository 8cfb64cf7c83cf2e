"""The framework contract (registration, tiny builds, phase isolation, checkpoints, exact resume)
for every model of the translation plugin."""

from gan.testing import PluginContract


class TestContract(PluginContract):
    plugin = "gan_translation.plugin"
    # StarGAN's generator runs every n_critic (tiny: 2) steps; 4 steps + resume covers both cadences
    resume_steps = 2
