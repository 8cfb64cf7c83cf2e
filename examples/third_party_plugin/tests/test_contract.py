"""The framework contract, checked by ganforge itself on every model this plugin registers."""

from gan.testing import PluginContract


class TestContract(PluginContract):
    plugin = "gan_example_plugin.plugin"
