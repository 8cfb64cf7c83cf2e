"""Monte Carlo rollout rewards for SeqGAN's policy gradient (Yu et al. 2017, eq. 4).

For a generated sequence ``Y = y_1..y_T`` the action value of token ``y_t`` is::

    Q(Y_1:t-1, y_t) = 1/N Σ_n D(Y^n_1:T),  Y^n ~ MC^Gβ(Y_1:t; N)     for t < T
    Q(Y_1:T-1, y_T) = D(Y_1:T)                                       for t = T

where ``D`` is the discriminator's probability of "real" and ``Gβ`` the rollout policy. The
straightforward implementation (the authors' ``rollout.get_reward``) loops over the N rollouts and
the T−1 prefixes, each time re-running the prefix and sampling the rest for one batch, then calls the
discriminator: 16·19 = 304 small sequential pieces of work per generator step.

:func:`rollout_rewards` does the same computation in three batched parts:

1. one teacher-forced pass of ``Gβ`` over ``Y`` gives the LSTM state after every prefix;
2. all ``(T−1)·N·B`` rollouts are sampled together. Rows are ordered by prefix length, so at time
   step ``s`` exactly the rows with prefix length ≤ s are active (a leading slice): the block whose
   prefix ends at ``s`` joins with its teacher-forced state, the others continue their own
   samples. That is T−1 sampling steps, and no logits are computed for teacher-forced positions;
3. one discriminator call (:meth:`Discriminator.rollout_scores`) scores every completed sequence
   and ``Y`` itself. Convolution windows inside a completion's prefix equal those of ``Y``, so they
   are computed once (a third of the convolution work at the paper's sizes).

:func:`rollout_rewards_loop` is the straightforward reference, kept for tests and the benchmark.
"""

from __future__ import annotations

import torch

from gan.modes import eval_mode

from .discriminator import Discriminator
from .generator import LSTMGenerator, TokenSampler


@torch.no_grad()
def rollout_completions(samples: torch.Tensor, policy: LSTMGenerator, num_rollouts: int,
                        chunk_rows: int | None = -1) -> torch.Tensor:
    """All Monte Carlo completions of every proper prefix of ``samples``, batched.

    Returns ``(T−1, N, B, T)`` int64: ``out[g-1, n, b]`` starts with ``samples[b, :g]`` and continues
    with the n-th rollout of ``policy`` from there. ``chunk_rows`` is passed to
    :class:`~gan_seqgan.generator.TokenSampler` (``-1``: automatic).
    """
    B, T = samples.shape
    N = int(num_rollouts)
    if T < 2:
        return samples.new_empty(0, N, B, T)
    NB = N * B
    sampler = TokenSampler(policy, chunk_rows=chunk_rows)
    with torch.autocast(samples.device.type, enabled=False):
        hs, cs = policy.teacher_forced(samples)  # (B, T, H); [:, g] is the state after prefix g
        out = samples.unsqueeze(0).expand((T - 1) * N, B, T).reshape((T - 1) * NB, T).clone()
        finished = None
        if policy.eos_id is not None:
            # eos_before[b, g]: the prefix samples[b, :g] already contains an eos
            is_eos = (samples == policy.eos_id).long().cumsum(1)
            eos_before = torch.cat([torch.zeros_like(is_eos[:, :1]), is_eos[:, :-1]], 1) > 0
        h = c = None
        for s in range(1, T):  # the time step being sampled; prefixes of length <= s are active
            h_new = hs[:, s].repeat(N, 1)  # prefix length s joins: (N·B, H), rows ordered (n, b)
            c_new = cs[:, s].repeat(N, 1)
            h = h_new if h is None else torch.cat([h, h_new])
            c = c_new if c is None else torch.cat([c, c_new])
            tok = sampler(h)
            if policy.eos_id is not None:
                f_new = eos_before[:, s].repeat(N)
                finished = f_new if finished is None else torch.cat([finished, f_new])
                tok, finished = policy.finish(tok, finished)
            active = s * NB
            out[:active, s] = tok
            if s < T - 1:
                h, c = policy.cell(policy.project_tokens(tok), (h, c))
    return out.view(T - 1, N, B, T)


class GraphedCompletions:
    """:func:`rollout_completions` replayed from a CUDA graph (CUDA only).

    At the paper's sizes the T−1 sampling steps are a few hundred small kernels whose launch cost
    dominates on a GPU. Their shapes depend only on ``(B, T, N)``, and nothing in them syncs with the
    host on CUDA, so the whole loop is captured once and replayed: a replay reads the sample buffer
    and the policy's parameters at their addresses, so parameter updates made in place (optimizer
    steps, :func:`update_rollout_policy`, ``load_state_dict``) are seen by the next replay. The
    default CUDA generator is registered with the graph, so every replay draws fresh random numbers.
    Build one per ``(policy, B, T, N)``; :meth:`matches` says whether a call can reuse it.
    """

    def __init__(self, policy: LSTMGenerator, num_rollouts: int, batch: int, seq_len: int,
                 warmup: int = 2) -> None:
        dev = next(policy.parameters()).device
        if dev.type != "cuda":
            raise ValueError("CUDA graphs need the rollout policy on a CUDA device")
        self.policy, self.N, self.key = policy, int(num_rollouts), (int(batch), int(seq_len))
        self.samples = torch.zeros(batch, seq_len, dtype=torch.long, device=dev)
        side = torch.cuda.Stream(dev)
        side.wait_stream(torch.cuda.current_stream(dev))
        with torch.cuda.stream(side):  # warm-up outside the graph: allocator and kernel selection
            for _ in range(warmup):
                rollout_completions(self.samples, policy, self.N, chunk_rows=None)
        torch.cuda.current_stream(dev).wait_stream(side)
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            self.out = rollout_completions(self.samples, policy, self.N, chunk_rows=None)

    def matches(self, samples: torch.Tensor, policy: LSTMGenerator, num_rollouts: int) -> bool:
        return (policy is self.policy and int(num_rollouts) == self.N
                and tuple(samples.shape) == self.key and samples.device == self.samples.device)

    def __call__(self, samples: torch.Tensor) -> torch.Tensor:
        self.samples.copy_(samples)
        self.graph.replay()
        return self.out.clone()  # the next replay overwrites the graph's output buffer


@torch.no_grad()
def rollout_rewards(samples: torch.Tensor, policy: LSTMGenerator, discriminator: Discriminator,
                    num_rollouts: int = 16, chunk_rows: int | None = -1,
                    d_chunk_rows: int | None = None,
                    graphed: GraphedCompletions | None = None) -> torch.Tensor:
    """SeqGAN rewards ``(B, T)`` for ``samples`` (B, T): rollouts for t < T, ``D(Y)`` at t = T.

    ``chunk_rows``: rows per sampling chunk (``-1``: automatic, ``None``: no chunking);
    ``d_chunk_rows``: rows per discriminator pass (see :meth:`Discriminator.rollout_scores`);
    ``graphed``: a :class:`GraphedCompletions` that draws the completions when it matches the call.
    """
    B, T = samples.shape
    N = int(num_rollouts)
    if graphed is not None and graphed.matches(samples, policy, N):
        completions = graphed(samples)
    else:
        completions = rollout_completions(samples, policy, N, chunk_rows)
    scores, last = discriminator.rollout_scores(samples, completions, d_chunk_rows)
    rewards = torch.empty(B, T, device=samples.device, dtype=torch.float32)
    rewards[:, :T - 1] = scores.mean(1).t()
    rewards[:, T - 1] = last
    return rewards


@torch.no_grad()
def rollout_rewards_loop(samples: torch.Tensor, policy: LSTMGenerator, discriminator: Discriminator,
                         num_rollouts: int = 16, forward=None) -> torch.Tensor:
    """The straightforward reference: a Python loop over rollouts and prefixes (as the authors do).

    Each of the ``N·(T−1)`` iterations re-runs the prefix through the policy step by step, samples
    the remaining tokens with ``torch.multinomial`` and scores the batch with ``forward`` (default:
    the discriminator's conv2d reference, :func:`reference_logits`).
    """
    forward = forward or (lambda x: reference_logits(discriminator, x))
    B, T = samples.shape
    rewards = torch.zeros(B, T, device=samples.device)
    with eval_mode(discriminator):
        with torch.autocast(samples.device.type, enabled=False):
            for _ in range(num_rollouts):
                for g in range(1, T):
                    state = policy.initial_state(B)
                    tok = torch.full((B,), policy.start_token, dtype=torch.long, device=samples.device)
                    finished = torch.zeros(B, dtype=torch.bool, device=samples.device)
                    seq = samples.clone()
                    for t in range(T):
                        state = policy.cell(policy.project_tokens(tok), state)
                        if t < g:
                            tok = samples[:, t]
                            if policy.eos_id is not None:
                                finished = finished | (tok == policy.eos_id)
                            continue
                        probs = torch.softmax(policy.logits(state[0]), -1)
                        tok = torch.multinomial(probs, 1).squeeze(1)
                        tok, finished = policy.finish(tok, finished)
                        seq[:, t] = tok
                    rewards[:, g - 1] += torch.softmax(forward(seq), -1)[:, 1]
            rewards[:, :T - 1] /= num_rollouts
            rewards[:, T - 1] = torch.softmax(forward(samples), -1)[:, 1]
    return rewards


def reference_logits(d: Discriminator, tokens: torch.Tensor) -> torch.Tensor:
    """The discriminator computed the textbook way: one ``conv2d`` per window size (as in TF)."""
    x = d.embedding(tokens).unsqueeze(1)  # (B, 1, L, E)
    bias = d.conv_b.split(list(d.filters))
    pooled = []
    for i in range(len(d.windows)):
        conv = torch.nn.functional.conv2d(x, d.conv_weight(i), bias[i])  # (B, n, L-k+1, 1)
        pooled.append(torch.relu(conv).amax(dim=(2, 3)))
    h = d.highway(torch.cat(pooled, 1))
    return d.out(d.dropout(h))


@torch.no_grad()
def update_rollout_policy(rollout: LSTMGenerator, generator: LSTMGenerator, rate: float) -> None:
    """``β ← (1 − rate)·β + rate·θ``; ``rate = 1`` makes the rollout policy the current generator.

    As in the delayed update the authors wrote in ``rollout.py``, the embedding is copied outright
    and only the recurrent and output weights are mixed.
    """
    for (name, b), t in zip(rollout.named_parameters(), generator.parameters()):
        if rate >= 1.0 or name == "embedding":
            b.copy_(t)
        else:
            b.lerp_(t, rate)
