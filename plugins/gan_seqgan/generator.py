"""SeqGAN's generator: an LSTM language model that samples token sequences.

The cell is the one of the SeqGAN paper and its code (Yu et al. 2017, ``generator.py``): input,
forget and output gates and a tanh candidate, no peepholes, weights applied as ``x @ W`` (input
dimension first)::

    i = σ(x Wi + h Ui + bi)    f = σ(x Wf + h Uf + bf)    o = σ(x Wo + h Uo + bo)
    c̃ = tanh(x Wc + h Uc + bc)  c = f·c + i·c̃              h = o·tanh(c)     logits = h Wout + bout

The four gates are stored fused (``W: (E, 4H)``, ``U: (H, 4H)``, ``b: (4H,)`` in the order i, f, o, c)
so one matmul computes them. The same class serves as the oracle of the synthetic experiment
(:mod:`gan_seqgan.oracle`), as the rollout policy and as the trained generator.

Sampling uses the inverse CDF (:func:`sample_categorical`): one uniform draw per row and a binary
search in the cumulative sum of the unnormalised probabilities. Compared with ``torch.multinomial``
this is a handful of vectorised passes over the logits, which matters because drawing 5,000-way
categoricals is half of SeqGAN's Monte Carlo rollout cost.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def sample_categorical(logits: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """One draw per row of ``softmax(logits)`` by inverse-CDF sampling; returns ``(rows,)`` int64.

    ``exp(logits - max)`` needs no normalisation: the uniform draw is scaled by the row total
    instead. Rows are sampled exactly from the categorical (up to float32 rounding of the cumsum).
    """
    with torch.autocast(logits.device.type, enabled=False):
        logits = logits.float()
        w = (logits - logits.amax(-1, keepdim=True)).exp_()
        cdf = w.cumsum_(-1)
        total = cdf[:, -1:]
        u = torch.rand(cdf.shape[0], 1, device=cdf.device, generator=generator).mul_(total)
        # rand < 1, but the rounded product can reach the total; the largest float below it keeps
        # the search inside the vocabulary and on a token of positive mass
        u = torch.minimum(u, torch.nextafter(total, torch.zeros_like(total)))
        return torch.searchsorted(cdf, u, right=True).squeeze(1)


LOG2E = 1.4426950408889634


def token_nll(logits: torch.Tensor, tokens: torch.Tensor, mask: torch.Tensor | None = None
              ) -> torch.Tensor:
    """``-log p(y_t)`` per position ``(B, T)`` from teacher-forced logits ``(B, T, V)``; 0 where
    ``mask`` is False (after eos, where the target may be a banned pad with probability 0)."""
    nll = nn.functional.cross_entropy(logits.float().flatten(0, 1), tokens.flatten(),
                                      reduction="none").view(tokens.shape)
    return nll if mask is None else nll.masked_fill(~mask, 0.0)


def reduce_nll(nll: torch.Tensor, mask: torch.Tensor | None, reduction: str = "mean") -> torch.Tensor:
    """Mean of per-position NLLs over the counted positions (``"mean"``) or per row (``"sequence"``)."""
    if mask is None:
        return nll.mean() if reduction == "mean" else nll.mean(1)
    m = mask.to(nll.dtype)
    if reduction == "mean":
        return nll.sum() / m.sum().clamp_min(1.0)
    return nll.sum(1) / m.sum(1).clamp_min(1.0)


class TokenSampler:
    """Draws one token per row from ``softmax((h @ W_out + b_out) / τ)`` — the sampling hot path.

    Inverse-CDF sampling in two levels: the vocabulary is cut into blocks of ``block`` tokens; the
    unnormalised probabilities are summed per block (a vectorised reduction instead of a sequential
    cumsum over the whole vocabulary), one uniform draw picks the block from the cumulative block
    masses and the remainder picks the token from the cumsum of that block alone. The draw is exact:
    ``P(token) = P(block)·P(token | block)``.

    Further savings, all exact: ``log2(e)/τ`` is folded into the copied output weights so ``exp2``
    (cheaper than ``exp``) gives the unnormalised probabilities; the vocabulary is padded to whole
    blocks with ``-inf`` logits (probability 0); on a CPU the row maximum is not subtracted unless a
    row overflows or underflows (checked on the block sums, recomputed for those rows only), and rows
    are processed in chunks whose logits stay in cache, written into one reused buffer.

    Build a sampler after the weights change (it copies them): ``TokenSampler(gen)(h)``.
    """

    def __init__(self, gen: LSTMGenerator, temperature: float = 1.0, block: int = 64,
                 chunk_rows: int | None = -1) -> None:
        with torch.no_grad():
            V, H = gen.vocab_size, gen.hidden_dim
            self.block = int(block)
            self.nb = -(-V // self.block)
            Vp = self.nb * self.block
            scale = LOG2E / float(temperature)
            dev = gen.W_out.device
            # the bias is the last row of the weight, multiplied by a constant 1 appended to h:
            # the matmul then writes the logits in one pass (addmm would first copy the bias in)
            self.W = torch.zeros(H + 1, Vp, device=dev)
            self.W[:H, :V] = gen.W_out.float() * scale
            # padding and banned tokens: 2^-10000 is exactly 0 in float32, and finite keeps 0·x = 0
            self.W[H] = -1e4
            self.W[H, :V] = ((gen.b_out.float() + gen.logit_bias) * scale).clamp_(min=-1e4)
        self.cpu = dev.type == "cpu"
        if chunk_rows == -1:
            chunk_rows = max(32, (1 << 20) // Vp) if self.cpu else None  # ~4 MB of logits per chunk
        self.chunk_rows = chunk_rows

    def __call__(self, h: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        with torch.no_grad(), torch.autocast(h.device.type, enabled=False):
            h = torch.cat([h.float(), torch.ones_like(h[:, :1], dtype=torch.float32)], 1)
            rows = h.shape[0]
            if self.chunk_rows is None or rows <= self.chunk_rows:
                return self._draw(h, None, generator)
            buf = torch.empty(self.chunk_rows, self.W.shape[1], device=h.device)
            out = [self._draw(part, buf[:part.shape[0]], generator)
                   for part in h.split(self.chunk_rows)]
            return torch.cat(out)

    def _draw(self, h: torch.Tensor, buf: torch.Tensor | None, generator: torch.Generator | None
              ) -> torch.Tensor:
        R, nb, bs = h.shape[0], self.nb, self.block
        w = torch.mm(h, self.W, out=buf) if buf is not None else torch.mm(h, self.W)
        if self.cpu:
            w.exp2_()
            mass = w.view(R, nb, bs).sum(-1)  # (R, nb)
            total = mass.sum(-1)
            # a row whose mass overflowed, or is so small that its tokens could be denormal floats:
            # redo it with its maximum subtracted
            bad = ~(torch.isfinite(total) & (total > 2.0 ** -60))
            if bool(bad.any()):
                idx = bad.nonzero().squeeze(1)
                lg = torch.mm(h[idx], self.W)
                fixed = (lg - lg.amax(-1, keepdim=True)).exp2_()
                w[idx] = fixed
                mass[idx] = fixed.view(-1, nb, bs).sum(-1)
        else:  # no host sync on accelerators: always subtract the row maximum
            w.sub_(w.amax(-1, keepdim=True)).exp2_()
            mass = w.view(R, nb, bs).sum(-1)
        cum = mass.cumsum_(-1)
        total = cum[:, -1:]
        u = torch.rand(R, 1, device=h.device, generator=generator).mul_(total)
        u = torch.minimum(u, torch.nextafter(total, torch.zeros_like(total)))
        j = torch.searchsorted(cum, u, right=True)  # (R, 1) block index, a block of positive mass
        below = torch.where(j > 0, cum.gather(1, (j - 1).clamp_(min=0)), torch.zeros_like(u))
        inner = w.view(R, nb, bs).gather(1, j.unsqueeze(2).expand(R, 1, bs)).squeeze(1).cumsum_(-1)
        r = torch.minimum(u - below, torch.nextafter(inner[:, -1:], torch.zeros_like(u)))
        i = torch.searchsorted(inner, r.clamp_(min=0), right=True)
        return (j * bs + i).squeeze(1)


class LSTMGenerator(nn.Module):
    """The SeqGAN generator (also the oracle and the rollout policy).

    Args:
        vocab_size: number of tokens.
        emb_dim, hidden_dim: 32 and 32 in the paper.
        max_len: sequence length T (20 in the synthetic experiment).
        start_token: the first input (0 for the oracle, ``<bos>`` for text).
        pad_id, eos_id: for text. After ``eos`` the generator emits ``pad``; the MLE loss ignores
            the positions after ``eos``. ``None`` for the oracle (fixed length, no specials).
        banned: token ids that are never generated (``<pad>``, ``<bos>`` for text): their logits are
            ``-inf`` in training and sampling alike, so the model and its samples agree.
        init_std: weights and biases start as N(0, init_std²) (0.1 in the authors' code; the
            oracle uses 1.0).
    """

    def __init__(self, vocab_size: int, emb_dim: int = 32, hidden_dim: int = 32, max_len: int = 20,
                 start_token: int = 0, pad_id: int | None = None, eos_id: int | None = None,
                 banned: tuple[int, ...] = (), init_std: float = 0.1) -> None:
        super().__init__()
        self.vocab_size, self.emb_dim, self.hidden_dim = int(vocab_size), int(emb_dim), int(hidden_dim)
        self.max_len, self.start_token = int(max_len), int(start_token)
        self.pad_id, self.eos_id = pad_id, eos_id
        self.embedding = nn.Parameter(torch.empty(vocab_size, emb_dim))
        self.W = nn.Parameter(torch.empty(emb_dim, 4 * hidden_dim))
        self.U = nn.Parameter(torch.empty(hidden_dim, 4 * hidden_dim))
        self.b = nn.Parameter(torch.empty(4 * hidden_dim))
        self.W_out = nn.Parameter(torch.empty(hidden_dim, vocab_size))
        self.b_out = nn.Parameter(torch.empty(vocab_size))
        bias = torch.zeros(vocab_size)
        if banned:
            bias[list(banned)] = -math.inf
        # a buffer so it follows .to(device); not persistent: it is rebuilt from the config
        self.register_buffer("logit_bias", bias, persistent=False)
        self._has_banned = bool(banned)
        self.reset_parameters(init_std)

    def reset_parameters(self, std: float = 0.1, generator: torch.Generator | None = None) -> None:
        with torch.no_grad():
            for p in self.parameters():
                p.normal_(0.0, std, generator=generator)

    # --- the recurrence -----------------------------------------------------------------------
    def initial_state(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        z = torch.zeros(n, self.hidden_dim, device=self.W.device, dtype=self.W.dtype)
        return z, z

    def cell(self, x_proj: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor]
             ) -> tuple[torch.Tensor, torch.Tensor]:
        """One LSTM step; ``x_proj = x @ W + b`` comes precomputed (all steps at once when teacher forcing)."""
        h, c = state
        gates = torch.addmm(x_proj, h, self.U)
        H = self.hidden_dim
        ifo = torch.sigmoid(gates[:, :3 * H])
        cand = torch.tanh(gates[:, 3 * H:])
        c = ifo[:, H:2 * H] * c + ifo[:, :H] * cand
        h = ifo[:, 2 * H:] * torch.tanh(c)
        return h, c

    def project_tokens(self, tokens: torch.Tensor) -> torch.Tensor:
        """``embedding[tokens] @ W + b`` for any shape of ``tokens`` (adds a last dim 4H)."""
        return torch.addmm(self.b, self.embedding[tokens.reshape(-1)], self.W).view(*tokens.shape, -1)

    def logits(self, h: torch.Tensor) -> torch.Tensor:
        out = torch.addmm(self.b_out, h.reshape(-1, self.hidden_dim), self.W_out)
        if self._has_banned:
            out = out + self.logit_bias
        return out.view(*h.shape[:-1], self.vocab_size)

    def inputs_for(self, tokens: torch.Tensor) -> torch.Tensor:
        """Teacher-forcing inputs: the start token, then ``tokens[:, :-1]``."""
        start = torch.full_like(tokens[:, :1], self.start_token)
        return torch.cat([start, tokens[:, :-1]], dim=1)

    def teacher_forced(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Hidden and cell states ``(B, T, H)``; ``h[:, t]`` is the state that predicts ``tokens[:, t]``."""
        x_proj = self.project_tokens(self.inputs_for(tokens))
        state = self.initial_state(tokens.shape[0])
        hs, cs = [], []
        for t in range(tokens.shape[1]):
            state = self.cell(x_proj[:, t], state)
            hs.append(state[0])
            cs.append(state[1])
        return torch.stack(hs, 1), torch.stack(cs, 1)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Teacher-forced logits ``(B, T, V)``: ``logits[:, t]`` is the distribution of ``tokens[:, t]``.

        Always float32: the network is tiny, and a 5,000-way softmax in bf16 would lose precision.
        """
        with torch.autocast(tokens.device.type, enabled=False):
            return self.logits(self.teacher_forced(tokens)[0])

    # --- likelihoods ---------------------------------------------------------------------------
    def target_mask(self, tokens: torch.Tensor) -> torch.Tensor | None:
        """Positions counted in the likelihood: all (fixed length), or up to and including eos (text)."""
        if self.eos_id is None:
            return None
        is_eos = (tokens == self.eos_id).long()
        before_eos = (is_eos.cumsum(1) - is_eos) == 0  # positions up to and including the first eos
        return before_eos

    def nll(self, tokens: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
        """Per-token negative log-likelihood (masked after eos for text).

        ``reduction="mean"``: the mean over all counted tokens (the MLE loss and the NLL metrics);
        ``"sequence"``: the per-sequence mean, ``(B,)``.
        """
        mask = self.target_mask(tokens)
        return reduce_nll(token_nll(self.forward(tokens), tokens, mask), mask, reduction)

    # --- sampling ------------------------------------------------------------------------------
    def finish(self, tokens: torch.Tensor, finished: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Text: rows that already emitted eos emit pad; returns ``(tokens, finished)`` updated."""
        if self.eos_id is None:
            return tokens, finished
        tokens = torch.where(finished, torch.full_like(tokens, self.pad_id), tokens)
        return tokens, finished | (tokens == self.eos_id)

    @torch.no_grad()
    def sample(self, n: int, temperature: float = 1.0, generator: torch.Generator | None = None
               ) -> torch.Tensor:
        """``n`` sequences ``(n, T)`` (int64) drawn ancestrally with the given temperature."""
        device = self.W.device
        out = torch.empty(n, self.max_len, dtype=torch.long, device=device)
        tok = torch.full((n,), self.start_token, dtype=torch.long, device=device)
        finished = torch.zeros(n, dtype=torch.bool, device=device)
        state = self.initial_state(n)
        sampler = TokenSampler(self, temperature)
        with torch.autocast(device.type, enabled=False):
            for t in range(self.max_len):
                state = self.cell(self.project_tokens(tok), state)
                tok, finished = self.finish(sampler(state[0], generator), finished)
                out[:, t] = tok
        return out
