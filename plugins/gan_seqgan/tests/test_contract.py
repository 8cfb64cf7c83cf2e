"""The framework contract (gan.testing.PluginContract) on every model the plugin registers."""

import pytest
import torch

from gan.testing import PluginContract


class TestContract(PluginContract):
    plugin = "gan_seqgan.plugin"
    # 4 steps of the tiny preset end inside the adversarial stage (pretrain_g 2, pretrain_d 1,
    # adversarial 5): resuming there checks the rollout policy and the negative-sample state
    resume_steps = 4

    @pytest.fixture(autouse=True)
    def one_thread(self):
        # tiny models: a second OpenMP thread only adds synchronisation (and stalls on a busy machine)
        n = torch.get_num_threads()
        torch.set_num_threads(1)
        yield
        torch.set_num_threads(n)
