"""The framework contract (gan.testing.PluginContract) on every model the plugin registers."""

from gan.testing import PluginContract


class TestContract(PluginContract):
    plugin = "gan_seqgan.plugin"
    # 4 steps of the tiny preset end inside the adversarial stage (pretrain_g 2, pretrain_d 1,
    # adversarial 5): resuming there checks the rollout policy and the negative-sample state
    resume_steps = 4
