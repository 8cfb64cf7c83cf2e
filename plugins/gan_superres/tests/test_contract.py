"""The framework contract (registration, tiny builds, phase isolation, checkpoints, exact resume)
for both models of the super-resolution plugin."""

from gan.testing import PluginContract


class TestContract(PluginContract):
    plugin = "gan_superres.plugin"
