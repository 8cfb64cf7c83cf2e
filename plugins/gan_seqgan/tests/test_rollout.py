"""Monte Carlo rollout rewards: shape, last step, exact expectation, batched vs loop, text, policy sync."""

import itertools

import pytest
import torch

from gan_seqgan.discriminator import Discriminator
from gan_seqgan.generator import LSTMGenerator
from gan_seqgan.rollout import (GraphedCompletions, rollout_completions, rollout_rewards,
                                rollout_rewards_loop, update_rollout_policy)


@pytest.fixture(autouse=True)
def one_thread():
    # small tensors: a second OpenMP thread only adds synchronisation (and stalls on a busy machine)
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)

V, T = 4, 4


def tiny_models(seed=0, **gen_kwargs):
    torch.manual_seed(seed)
    # N(0, 1) weights like the oracle: next-token distributions depend strongly on the state
    g = LSTMGenerator(V, 3, 3, max_len=T, init_std=1.0, **gen_kwargs)
    d = Discriminator(V, T, emb_dim=3, windows=(1, 2, 3), filters=(3, 3, 3)).eval()
    with torch.no_grad():  # rescale the output layer: logits spread N(0, 2²) over all sequences
        every = torch.tensor(list(itertools.product(range(V), repeat=T)))
        z = d(every) @ torch.tensor([-1.0, 1.0])
        d.out.weight.mul_(2 / z.std())
        d.out.bias.mul_(2 / z.std())
        d.out.bias[1] -= 2 * z.mean() / z.std()
    return g, d


@torch.no_grad()
def exact_rewards(samples, policy, d):
    """Q(prefix, y_g) by enumerating every completion with its probability under the policy."""
    B = samples.shape[0]
    out = torch.zeros(B, T)
    for b in range(B):
        for g in range(1, T):
            tails = torch.tensor(list(itertools.product(range(V), repeat=T - g)))
            full = torch.cat([samples[b, :g].expand(len(tails), g), tails], 1)
            logp = -torch.nn.functional.cross_entropy(policy(full).flatten(0, 1), full.flatten(),
                                                      reduction="none").view(full.shape)

            prob = logp[:, g:].sum(1).exp()
            out[b, g - 1] = (prob * d.prob_real(full)).sum() / prob.sum()
        out[b, T - 1] = d.prob_real(samples[b:b + 1])[0]
    return out


def test_rewards_have_batch_by_time_shape_and_the_last_step_is_d_on_the_sequence():
    g, d = tiny_models()
    d.train()
    samples = g.sample(5)
    r = rollout_rewards(samples, g, d, num_rollouts=3)
    assert r.shape == (5, T) and r.dtype == torch.float32 and d.training
    torch.testing.assert_close(r[:, -1], d.prob_real(samples))
    assert ((r >= 0) & (r <= 1)).all()


def test_completions_keep_the_prefix():
    g, _ = tiny_models()
    samples = g.sample(6)
    comp = rollout_completions(samples, g, 5)
    assert comp.shape == (T - 1, 5, 6, T)
    for p in range(1, T):
        assert torch.equal(comp[p - 1, :, :, :p], samples[:, :p].expand(5, 6, p))


@pytest.mark.parametrize("method", ["batched", "loop"])
def test_rewards_are_unbiased_estimates_of_the_exact_action_values(method):
    g, d = tiny_models(1)
    torch.manual_seed(2)
    samples = g.sample(3)
    exact = exact_rewards(samples, g, d)
    fn = rollout_rewards if method == "batched" else rollout_rewards_loop
    reps = 60 if method == "batched" else 25
    draws = torch.stack([fn(samples, g, d, 16) for _ in range(reps)])  # (reps, B, T), each a mean of 16
    mean, se = draws.mean(0), draws.std(0) / reps ** 0.5
    assert (se[:, :-1] > 1e-4).all()  # the test has something to detect
    assert ((mean - exact).abs() <= 5 * se + 1e-5).all(), (mean - exact) / (se + 1e-9)


def test_batched_and_loop_rewards_agree_in_distribution():
    g, d = tiny_models(3)
    torch.manual_seed(4)
    samples = g.sample(4)
    a = torch.stack([rollout_rewards(samples, g, d, 8) for _ in range(40)])
    b = torch.stack([rollout_rewards_loop(samples, g, d, 8) for _ in range(40)])
    # two-sample z-test per (b, t) on the means, and similar spreads
    z = (a.mean(0) - b.mean(0)) / ((a.var(0) + b.var(0)) / 40 + 1e-12).sqrt()
    assert z[:, :-1].abs().max() < 5
    ratio = a.std(0)[:, :-1] / b.std(0)[:, :-1]
    assert ((ratio > 0.4) & (ratio < 2.5)).all()
    torch.testing.assert_close(a[0, :, -1], b[0, :, -1])


def test_text_rollouts_pad_after_eos_and_finished_prefixes_are_deterministic():
    # pad 0, bos 1, eos 2
    g, d = tiny_models(5, start_token=1, pad_id=0, eos_id=2, banned=(0, 1))
    samples = torch.tensor([[3, 2, 0, 0], [3, 3, 3, 2]])
    comp = rollout_completions(samples, g, 50)
    is_eos = (comp == 2).long()
    after = (is_eos.cumsum(-1) - is_eos) > 0
    assert (comp[after] == 0).all() and not ((comp == 0) & ~after).any()
    # prefixes of row 0 that contain its eos can only be completed one way
    assert (comp[1:, :, 0] == samples[0]).all()
    r = rollout_rewards(samples, g, d, 50)
    torch.testing.assert_close(r[0, 1:], d.prob_real(samples[:1]).expand(3))


def test_rollout_policy_update_rate():
    a, _ = tiny_models(6)
    b, _ = tiny_models(7)
    before = {k: v.clone() for k, v in a.state_dict().items()}
    update_rollout_policy(a, b, 0.2)
    for k, v in a.state_dict().items():
        want = b.state_dict()[k] if k == "embedding" else 0.8 * before[k] + 0.2 * b.state_dict()[k]
        torch.testing.assert_close(v, want)
    update_rollout_policy(a, b, 1.0)
    assert all(torch.equal(v, b.state_dict()[k]) for k, v in a.state_dict().items())


def test_cuda_graph_completions_refuse_a_cpu_policy():
    g, _ = tiny_models(8)
    with pytest.raises(ValueError, match="CUDA"):
        GraphedCompletions(g, 2, 4, T)


def test_recipe_ignores_cuda_graphs_on_cpu():
    from gan.config import RunConfig
    from gan.runs import build_recipe
    from gan_seqgan.seqgan import SeqGAN

    built = build_recipe("seqgan", preset="tiny", assignments=[("rollout_cuda_graphs", "true")],
                         run=RunConfig(device="cpu", progress=False, tensorboard=False))
    assert isinstance(built.recipe, SeqGAN) and built.recipe.config.rollout_cuda_graphs
    assert built.recipe._graphed_rollouts(torch.zeros(2, 3, dtype=torch.long)) is None


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_graph_completions_keep_prefixes_draw_afresh_and_see_weight_updates():
    g, d = tiny_models(9)
    g, d = g.cuda(), d.cuda()
    torch.manual_seed(10)
    samples = g.sample(4)
    graphed = GraphedCompletions(g, 8, *samples.shape)
    a, b = graphed(samples), graphed(samples)
    for k in range(1, T):
        assert torch.equal(a[k - 1, :, :, :k], samples[:, :k].expand(8, -1, -1))
    assert not torch.equal(a, b)  # every replay draws fresh random numbers
    # same distribution as the eager sampler: rewards agree by a two-sample z-test
    x = torch.stack([rollout_rewards(samples, g, d, 8, graphed=graphed) for _ in range(40)])
    y = torch.stack([rollout_rewards(samples, g, d, 8) for _ in range(40)])
    z = (x.mean(0) - y.mean(0)) / ((x.var(0) + y.var(0)) / 40 + 1e-12).sqrt()
    assert z[:, :-1].abs().max() < 5
    # an in-place parameter update is seen by the next replay (the graph reads weights by address)
    other, _ = tiny_models(11)
    update_rollout_policy(g, other.cuda(), 1.0)
    torch.manual_seed(12)
    x = torch.stack([rollout_rewards(samples, g, d, 8, graphed=graphed) for _ in range(40)])
    y = torch.stack([rollout_rewards(samples, g, d, 8) for _ in range(40)])
    z = (x.mean(0) - y.mean(0)) / ((x.var(0) + y.var(0)) / 40 + 1e-12).sqrt()
    assert z[:, :-1].abs().max() < 5
