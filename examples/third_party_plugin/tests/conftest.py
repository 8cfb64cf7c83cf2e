import pytest
import torch

# gan.testing provides PluginContract, the gan_pm / gan_run_dir fixtures and make_recipe/run_recipe.
pytest_plugins = ["gan.testing"]


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Run each test on one intra-op thread.

    This plugin's networks are tiny MLPs, which run fastest single-threaded; on a busy machine
    several spinning OpenMP workers can make them a hundred times slower.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
