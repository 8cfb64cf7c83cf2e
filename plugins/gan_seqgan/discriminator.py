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
        was_training = self.training
        self.eval()
        try:
            if chunk_rows is None:
                chunk_rows = 1024 if tokens.device.type == "cpu" else tokens.shape[0]
            outs = [torch.softmax(self.forward(part).float(), -1)[:, 1]
                    for part in tokens.split(max(1, chunk_rows))]
            return torch.cat(outs) if len(outs) > 1 else outs[0]
        finally:
            self.train(was_training)

    # --- FLOP accounting (benchmarks) ---------------------------------------------------------
    def flops_per_sequence(self) -> dict[str, int]:
        """Multiply-add FLOPs (2 per MAC) of one forward pass, by part."""
        L, E = self.seq_len, self.emb_dim
        conv = sum(2 * (L - k + 1) * k * E * n for k, n in zip(self.windows, self.filters))
        F = self.num_features
        return {"conv": conv, "highway": 2 * F * 2 * F, "output": 2 * F * self.out.out_features}
