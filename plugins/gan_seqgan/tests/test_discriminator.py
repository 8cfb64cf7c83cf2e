"""The CNN discriminator: unfold + matmul equals per-size conv2d, pooling, highway, L2, dropout."""

import pytest
import torch

from gan_seqgan.discriminator import PAPER_FILTERS, PAPER_WINDOWS, Discriminator
from gan_seqgan.generator import LSTMGenerator
from gan_seqgan.rollout import reference_logits, rollout_completions


@pytest.fixture(autouse=True)
def one_thread():
    # small tensors: a second OpenMP thread only adds synchronisation (and stalls on a busy machine)
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def small_d(seq_len=9):
    torch.manual_seed(0)
    return Discriminator(37, seq_len, emb_dim=6, windows=(1, 2, 4, 9, 12), filters=(3, 5, 4, 2, 7))


def test_unfold_matmul_equals_conv2d_reference_forward_and_backward():
    d = small_d().eval()
    x = torch.randint(0, 37, (5, 9))
    out = d(x)
    ref = reference_logits(d, x)
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)
    g1 = torch.autograd.grad(out.square().sum(), list(d.parameters()))
    g2 = torch.autograd.grad(ref.square().sum(), list(d.parameters()))
    for a, b in zip(g1, g2):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_windows_longer_than_the_sequence_are_dropped():
    d = small_d()
    assert d.windows == (1, 2, 4, 9) and d.filters == (3, 5, 4, 2)
    assert d.num_features == 14 and d(torch.zeros(2, 9, dtype=torch.long)).shape == (2, 2)


def test_paper_discriminator_sizes():
    d = Discriminator(5000, 20)
    assert d.windows == PAPER_WINDOWS and d.num_features == sum(PAPER_FILTERS) == 1720
    assert d.embedding.weight.shape == (5000, 64) and d.dropout.p == 0.25
    flops = d.flops_per_sequence()
    manual = sum(2 * (20 - k + 1) * k * 64 * n for k, n in zip(PAPER_WINDOWS, PAPER_FILTERS))
    assert flops["conv"] == manual and flops["highway"] == 4 * 1720 * 1720


def test_l2_penalty_is_tf_l2_loss_of_the_output_layer():
    d = small_d()
    expected = (d.out.weight ** 2).sum() / 2 + (d.out.bias ** 2).sum() / 2
    torch.testing.assert_close(d.l2_penalty(), expected)


def test_dropout_only_in_training_and_prob_real_restores_the_mode():
    d = small_d().train()
    x = torch.randint(0, 37, (64, 9))
    assert not torch.equal(d(x), d(x))  # dropout active
    p = d.prob_real(x)
    assert d.training
    d.eval()
    torch.testing.assert_close(p, torch.softmax(d(x), -1)[:, 1])
    torch.testing.assert_close(d.prob_real(x, chunk_rows=7), p)


def test_rollout_scores_share_prefix_windows_and_equal_scoring_every_completion():
    d = small_d(seq_len=9).train()
    g = LSTMGenerator(37, 4, 4, max_len=9, init_std=1.0)
    samples = g.sample(5)
    comp = rollout_completions(samples, g, 3)  # (8, 3, 5, 9)
    for chunk in (None, 7):
        scores, last = d.rollout_scores(samples, comp, chunk_rows=chunk)
        assert d.training and scores.shape == (8, 3, 5)
        torch.testing.assert_close(scores, d.prob_real(comp.reshape(-1, 9)).view(8, 3, 5))
        torch.testing.assert_close(last, d.prob_real(samples))
    # the shared windows are a real saving: fewer convolution FLOPs than scoring every completion
    full = (8 * 3 * 5 + 5) * d.flops_per_sequence()["conv"]
    assert d.rollout_conv_flops(3, 5) < 0.8 * full
