"""The LSTM generator: the paper's cell, teacher forcing, inverse-CDF sampling, text masking."""

import math

import pytest
import torch

from gan_seqgan.generator import LSTMGenerator, TokenSampler, sample_categorical


@pytest.fixture(autouse=True)
def one_thread():
    # small tensors: a second OpenMP thread only adds synchronisation (and stalls on a busy machine)
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def paper_cell(x, h, c, g: LSTMGenerator):
    """The cell written gate by gate as in the paper's code (x @ W, no peepholes)."""
    H = g.hidden_dim
    W, U, b = g.W, g.U, g.b
    cols = [slice(k * H, (k + 1) * H) for k in range(4)]
    gate = [x @ W[:, s] + h @ U[:, s] + b[s] for s in cols]
    i, f, o = torch.sigmoid(gate[0]), torch.sigmoid(gate[1]), torch.sigmoid(gate[2])
    c = f * c + i * torch.tanh(gate[3])
    return o * torch.tanh(c), c


def test_teacher_forced_logits_follow_the_paper_cell_step_by_step():
    torch.manual_seed(0)
    g = LSTMGenerator(23, 5, 7, max_len=6, start_token=3)
    tokens = torch.randint(0, 23, (4, 6))
    h = c = torch.zeros(4, 7)
    expected = []
    prev = torch.full((4,), 3)
    for t in range(6):
        h, c = paper_cell(g.embedding[prev], h, c, g)
        expected.append(h @ g.W_out + g.b_out)
        prev = tokens[:, t]
    torch.testing.assert_close(g(tokens), torch.stack(expected, 1), rtol=1e-5, atol=1e-5)


def chi_square(counts: torch.Tensor, probs: torch.Tensor) -> tuple[float, int]:
    keep = probs * counts.sum() > 5  # cells with enough expected counts
    n = counts.sum()
    exp = probs[keep] * n
    rest_obs, rest_exp = counts[~keep].sum(), probs[~keep].sum() * n
    stat = ((counts[keep] - exp) ** 2 / exp).sum()
    dof = int(keep.sum()) - 1
    if rest_exp > 5:
        stat, dof = stat + (rest_obs - rest_exp) ** 2 / rest_exp, dof + 1
    return float(stat), dof


def assert_fits(counts, probs):
    stat, dof = chi_square(counts.double(), probs.double())
    # chi-square(dof) has mean dof and sd sqrt(2 dof); 6 sd above the mean fails only by a real bias
    assert stat < dof + 6 * math.sqrt(2 * dof) + 10, (stat, dof)


@pytest.mark.parametrize("temperature", [1.0, 0.6])
def test_token_sampler_draws_from_the_softmax(temperature):
    torch.manual_seed(1)
    g = LSTMGenerator(150, 6, 6, banned=(0, 5))  # 150 = 2 blocks of 64 + a padded block
    with torch.no_grad():
        g.W_out.mul_(8.0)  # peaked distributions
    h = torch.randn(3, 6)
    with torch.no_grad():
        probs = torch.softmax(g.logits(h) / temperature, -1)
    n = 60000
    tokens = TokenSampler(g, temperature, block=64, chunk_rows=1000)(h.repeat(n, 1)).view(n, 3)
    for r in range(3):
        counts = torch.bincount(tokens[:, r], minlength=150)
        assert counts[[0, 5]].sum() == 0  # banned tokens never drawn
        assert_fits(counts, probs[r])


def test_sample_categorical_matches_the_softmax():
    torch.manual_seed(2)
    logits = torch.randn(40) * 2
    counts = torch.bincount(sample_categorical(logits.repeat(50000, 1)), minlength=40)
    assert_fits(counts, torch.softmax(logits, -1))


def test_token_sampler_handles_rows_that_overflow_or_underflow_exp():
    g = LSTMGenerator(10, 2, 2)
    with torch.no_grad():
        g.W_out.zero_()
        g.b_out.copy_(torch.tensor([300.0, 299.0] + [0.0] * 8))  # exp2(300·log2 e) overflows float32
    n = 20000
    counts = torch.bincount(TokenSampler(g)(torch.zeros(n, 2)), minlength=10)
    assert_fits(counts, torch.softmax(g.b_out.detach(), -1))
    with torch.no_grad():
        g.b_out.copy_(torch.tensor([-300.0] * 9 + [-299.5]))  # every term underflows to 0
    counts = torch.bincount(TokenSampler(g)(torch.zeros(n, 2)), minlength=10)
    assert_fits(counts, torch.softmax(g.b_out.detach(), -1))


def test_seeded_sampling_is_reproducible():
    g = LSTMGenerator(40, 4, 4, max_len=5)
    a = g.sample(37, generator=torch.Generator().manual_seed(5))
    b = g.sample(37, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a, b) and a.shape == (37, 5) and a.dtype == torch.long
    assert 0 <= a.min() and a.max() < 40


def text_generator():
    # pad 0, bos 1, eos 2; bos and pad banned
    g = LSTMGenerator(12, 4, 4, max_len=7, start_token=1, pad_id=0, eos_id=2, banned=(0, 1))
    with torch.no_grad():
        g.b_out[2] += 1.5  # eos likely, so sequences end early
    return g


def test_text_generator_emits_pad_after_eos_and_never_bos_or_pad_before():
    torch.manual_seed(3)
    g = text_generator()
    x = g.sample(500)
    is_eos = (x == 2).long()
    after = (is_eos.cumsum(1) - is_eos) > 0
    assert after.any() and (x[after] == 0).all()
    assert not ((x == 0) & ~after).any() and not (x == 1).any()


def test_nll_ignores_positions_after_eos():
    torch.manual_seed(4)
    g = text_generator()
    x = torch.tensor([[5, 6, 2, 0, 0, 0, 0], [7, 2, 0, 0, 0, 0, 0]])
    y = x.clone()
    y[0, 4], y[1, 5] = 9, 3  # garbage after eos must not count
    assert torch.equal(g.target_mask(x), torch.tensor([[1, 1, 1, 0, 0, 0, 0], [1, 1, 0, 0, 0, 0, 0]]).bool())
    torch.testing.assert_close(g.nll(x), g.nll(y))
    logp = torch.log_softmax(g(x), -1).gather(-1, x.unsqueeze(-1)).squeeze(-1)
    torch.testing.assert_close(g.nll(x), -(logp[0, :3].sum() + logp[1, :2].sum()) / 5)
