"""SeqGAN's discriminator: a CNN text classifier over token embeddings (Kim 2014, as in the paper).

Embedding (64) → convolutions with window sizes 1–10, 15, 20 (100/200/200/200/200/100/100/100/100/
100/160/160 filters) → ReLU → max over time → highway layer → dropout (keep 0.75) → two-way
softmax (fake, real). The L2 penalty (λ = 0.2) covers the output layer only, as in the authors' code.

The convolutions run as unfold + matmul, grouped by window size: for size ``k`` the windows of the
embedded sequence are the rows ``emb[p : p + k]`` flattened to ``k·E`` numbers (contiguous in
memory, so the unfold is one strided copy), multiplied by the ``(k·E, filters)`` weight in one
matmul. Grouping by size does exactly the convolution's multiply-adds; the alternative of one
window of the largest size with zero-masked weights would multiply ~5.8× as many numbers, mostly
zeros, for the paper's sizes. The bias and ReLU are applied after the max over time (they commute
with it), saving two passes over the largest activation tensor.

Rewards for the Monte Carlo rollouts score tens of thousands of sequences at once;
:meth:`Discriminator.prob_real` processes them in row chunks sized to stay in cache on a CPU (one
chunk on a GPU).
"""

from __future__ import annotations

import torch
from torch import nn

from gan.modes import eval_mode

PAPER_WINDOWS = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 15, 20)
PAPER_FILTERS = (100, 200, 200, 200, 200, 100, 100, 100, 100, 100, 160, 160)


class Highway(nn.Module):
    """``t·relu(W_h x) + (1 − t)·x`` with ``t = σ(W_t x + bias)``; the two linears run as one matmul."""

    def __init__(self, size: int, gate_bias: float = 0.0) -> None:
        super().__init__()
        self.size = size
        self.gate_bias = gate_bias  # the authors call highway(..., bias=0)
        self.linear = nn.Linear(size, 2 * size)
        # TF's default initializer for these variables is Glorot-uniform (weights and biases)
        nn.init.xavier_uniform_(self.linear.weight[:size])
        nn.init.xavier_uniform_(self.linear.weight[size:])
        bound = (3.0 / size) ** 0.5
        nn.init.uniform_(self.linear.bias, -bound, bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hg = self.linear(x)
        g = torch.relu(hg[:, :self.size])
        t = torch.sigmoid(hg[:, self.size:] + self.gate_bias)
        return x + t * (g - x)


class Discriminator(nn.Module):
    """The SeqGAN CNN discriminator; ``forward(tokens) -> logits (B, 2)`` (class 1 = real).

    Window sizes longer than ``seq_len`` are dropped (with their filters): they would see only
    padding. Weights are stored per size as ``(k·E, filters)`` matrices, the layout the matmul uses;
    :meth:`conv_weight` gives the equivalent ``conv2d`` kernel.
    """

    def __init__(self, vocab_size: int, seq_len: int, emb_dim: int = 64,
                 windows: tuple[int, ...] = PAPER_WINDOWS, filters: tuple[int, ...] = PAPER_FILTERS,
                 dropout: float = 0.25, num_classes: int = 2) -> None:
        super().__init__()
        if len(windows) != len(filters):
            raise ValueError(f"{len(windows)} window sizes but {len(filters)} filter counts")
        pairs = [(int(k), int(n)) for k, n in zip(windows, filters) if k <= seq_len]
        if not pairs:
            raise ValueError(f"no window size fits sequences of length {seq_len}")
        self.windows = tuple(k for k, _ in pairs)
        self.filters = tuple(n for _, n in pairs)
        self.seq_len, self.emb_dim = int(seq_len), int(emb_dim)
        self.embedding = nn.Embedding(vocab_size, emb_dim)
        nn.init.uniform_(self.embedding.weight, -1.0, 1.0)
        self.conv_w = nn.ParameterList()
        for k, n in pairs:
            w = torch.empty(k * emb_dim, n)
            nn.init.trunc_normal_(w, std=0.1, a=-0.2, b=0.2)
            self.conv_w.append(nn.Parameter(w))
        self.conv_b = nn.Parameter(torch.full((sum(self.filters),), 0.1))
        self.num_features = sum(self.filters)
        self.highway = Highway(self.num_features)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(self.num_features, num_classes)
        nn.init.trunc_normal_(self.out.weight, std=0.1, a=-0.2, b=0.2)
        nn.init.constant_(self.out.bias, 0.1)

    def conv_weight(self, i: int) -> torch.Tensor:
        """Window group ``i`` as a ``conv2d`` kernel ``(filters, 1, k, E)`` (for reference checks)."""
        k, n = self.windows[i], self.filters[i]
        return self.conv_w[i].t().reshape(n, 1, k, self.emb_dim)

    def pooled(self, tokens: torch.Tensor) -> torch.Tensor:
        """Max-over-time features ``(B, sum(filters))`` after bias and ReLU."""
        emb = self.embedding(tokens)  # (B, L, E), contiguous
        B, L, E = emb.shape
        feats = []
        for k, w in zip(self.windows, self.conv_w):
            P = L - k + 1
            win = emb.unfold(1, k, 1).transpose(2, 3)  # (B, P, k, E) view of the windows
            conv = torch.matmul(win.reshape(B * P, k * E), w)  # the reshape is the unfold's one copy
            feats.append(conv.view(B, P, -1).amax(1))
        return torch.relu(torch.cat(feats, 1) + self.conv_b)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        h = self.highway(self.pooled(tokens))
        return self.out(self.dropout(h))

    def l2_penalty(self) -> torch.Tensor:
        """``||W_out||²/2 + ||b_out||²/2`` (TensorFlow's ``l2_loss`` of the output layer)."""
        return 0.5 * (self.out.weight.square().sum() + self.out.bias.square().sum())

    @torch.no_grad()
    def prob_real(self, tokens: torch.Tensor, chunk_rows: int | None = None) -> torch.Tensor:
        """``P(real)`` (softmax class 1) for any number of sequences, in eval mode; ``(N,)`` float32.

        ``chunk_rows`` bounds the rows per pass (default: 1024 on CPU, all at once on a GPU).
        """
        with eval_mode(self):
            if chunk_rows is None:
                chunk_rows = 1024 if tokens.device.type == "cpu" else tokens.shape[0]
            outs = [torch.softmax(self.forward(part).float(), -1)[:, 1]
                    for part in tokens.split(max(1, chunk_rows))]
            return torch.cat(outs) if len(outs) > 1 else outs[0]

    # --- rollout scoring with shared prefixes -------------------------------------------------
    def _rollout_windows(self, G1: int, N: int, B: int, T: int, k: int, device: torch.device
                         ) -> tuple[torch.Tensor, torch.Tensor, list[int]]:
        """Windows of size ``k`` that reach past each completion's prefix, flattened and cached.

        Rows are ordered ``(g, n, b)`` (prefix length g = 1..T−1). Row r with prefix g needs the
        positions ``max(0, g−k+1) .. T−k``. Returns the token index of each window's first token in
        the flattened completions, the row of each window, and the window offset of every row
        boundary (a Python list, so CPU chunks slice without a device sync). Returns ``(tokens,
        rows, offsets)``: ``tokens (W, k)`` indexes every window's tokens in the flattened completions.
        """
        key = (G1, N, B, T, k, str(device))
        cache = self.__dict__.setdefault("_window_cache", {})
        if key not in cache:
            NB, P = N * B, T - k + 1
            first = [max(0, g - k + 1) for g in range(1, G1 + 1)]  # first position per prefix length
            counts = torch.tensor([P - f for f in first], device=device).repeat_interleave(NB)
            row = torch.arange(G1 * NB, device=device).repeat_interleave(counts)
            offsets = [0]
            for g in range(G1):
                offsets += [offsets[-1] + (P - first[g]) * (i + 1) for i in range(NB)]
            row_start = torch.tensor(offsets[:-1], device=device)
            within = torch.arange(offsets[-1], device=device) - row_start[row]
            pos = torch.tensor(first, device=device).repeat_interleave(NB)[row] + within
            tokens = (row * T + pos).unsqueeze(1) + torch.arange(k, device=device)
            cache[key] = (tokens, row, offsets)
        return cache[key]

    @torch.no_grad()
    def rollout_scores(self, samples: torch.Tensor, completions: torch.Tensor,
                       chunk_rows: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``P(real)`` of Monte Carlo completions ``(T−1, N, B, T)`` and of the samples ``(B, T)``.

        Equal to :meth:`prob_real` on the flattened completions, with less work: completion
        ``(g, n, b)`` starts with ``samples[b, :g]``, so a convolution window that lies inside the
        prefix has the same value as in the sample. Windows of the samples are computed once and
        their running maximum over positions gives each prefix's shared part of the max-pool; only
        windows reaching past the prefix are computed per completion (about two thirds of the
        convolution work at the paper's sizes), then the two maxima are combined. Returns
        ``(scores (T−1, N, B), sample_scores (B,))``, float32, in eval mode (no dropout).
        """
        with eval_mode(self):
            G1, N, B, T = completions.shape
            R, E = G1 * N * B, self.emb_dim
            dev = completions.device
            if chunk_rows is None:
                chunk_rows = 1024 if dev.type == "cpu" else R
            flat = completions.reshape(-1)
            emb_s = self.embedding(samples)
            g = torch.arange(1, G1 + 1, device=dev)
            pooled = torch.empty(R + B, self.num_features, device=dev)  # completions, then samples
            col = 0
            for k, w in zip(self.windows, self.conv_w):
                nf, P = w.shape[1], T - k + 1
                cols = slice(col, col + nf)
                conv_s = torch.matmul(emb_s.unfold(1, k, 1).transpose(2, 3).reshape(B * P, k * E), w
                                      ).float().view(B, P, nf)
                pooled[R:, cols] = conv_s.amax(1)
                # shared part: the best window inside prefix g is the running max up to position g-k
                run = conv_s.cummax(1).values  # (B, P, nf)
                j = g - k
                shared = run[:, j.clamp(min=0)].masked_fill((j < 0).view(1, G1, 1), float("-inf"))
                pooled[:R, cols] = shared.transpose(0, 1).unsqueeze(1).expand(G1, N, B, nf).reshape(R, nf)
                tokens, row, offsets = self._rollout_windows(G1, N, B, T, k, dev)
                for r0 in range(0, R, chunk_rows):
                    r1 = min(R, r0 + chunk_rows)
                    w0, w1 = offsets[r0], offsets[r1]
                    x = self.embedding(flat[tokens[w0:w1]]).view(-1, k * E)
                    conv = torch.matmul(x, w).float()
                    index = (row[w0:w1] - r0).unsqueeze(1).expand(-1, nf)
                    pooled[r0:r1, cols].scatter_reduce_(0, index, conv, "amax", include_self=True)
                col += nf
            probs = torch.cat([
                torch.softmax(self.out(self.highway(torch.relu_(part + self.conv_b))).float(), -1)[:, 1]
                for part in pooled.split(max(1, chunk_rows))])
            return probs[:R].view(G1, N, B), probs[R:]

    # --- FLOP accounting (benchmarks) ---------------------------------------------------------
    def flops_per_sequence(self) -> dict[str, int]:
        """Multiply-add FLOPs (2 per MAC) of one forward pass, by part."""
        L, E = self.seq_len, self.emb_dim
        conv = sum(2 * (L - k + 1) * k * E * n for k, n in zip(self.windows, self.filters))
        F = self.num_features
        return {"conv": conv, "highway": 2 * F * 2 * F, "output": 2 * F * self.out.out_features}

    def rollout_conv_flops(self, num_rollouts: int, batch: int) -> int:
        """Convolution FLOPs :meth:`rollout_scores` executes for one reward computation."""
        L, E, N, B = self.seq_len, self.emb_dim, num_rollouts, batch
        total = B * sum(2 * (L - k + 1) * k * E * n for k, n in zip(self.windows, self.filters))
        for k, n in zip(self.windows, self.filters):
            windows = sum(L - k + 1 - max(0, g - k + 1) for g in range(1, L))
            total += N * B * windows * 2 * k * E * n
        return total
