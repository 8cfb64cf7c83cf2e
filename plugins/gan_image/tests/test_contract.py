"""The framework contract (gan.testing.PluginContract) on every image model's tiny preset."""

from gan.testing import PluginContract


class TestContract(PluginContract):
    plugin = "gan_image.plugin"
