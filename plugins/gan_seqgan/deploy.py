"""What ``gan export`` deploys for SeqGAN: the generator's ancestral sampler, uniforms → tokens.

The exported :class:`SequenceSampler` takes its randomness as an input, ``u`` of shape ``(N, T)``
with one uniform number in ``[0, 1)`` per position, and draws token ``t`` by inverse-CDF sampling
from ``softmax(logits / temperature)`` — the same rule as :func:`.generator.sample_categorical`, so
the file is an exact sampler of the trained model, and the same ``u`` always gives the same
sentences (in PyTorch and in the file). It is not draw-for-draw identical to ``gan sample``, whose
sampler consumes torch's RNG in another order (a two-level inverse CDF); the distribution is the same.

Both formats unroll the T-step loop (T is fixed by the model); the inverse CDF is a comparison and a
sum rather than ``searchsorted``, which ONNX lacks.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from gan.export import ExportSpec, check_options, inference_copy


class SequenceSampler(nn.Module):
    """``forward(u)`` → ``(N, T)`` int64 tokens; text models emit ``pad`` after ``eos``."""

    def __init__(self, g: nn.Module, temperature: float = 1.0) -> None:
        super().__init__()
        self.g = g
        self.temperature = float(temperature)

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        g = self.g
        n = u.shape[0]
        h = u.new_zeros(n, g.hidden_dim)
        c = u.new_zeros(n, g.hidden_dim)
        tok = torch.full_like(u[:, 0], g.start_token, dtype=torch.long)
        finished = torch.zeros_like(tok, dtype=torch.bool)
        out = []
        for t in range(g.max_len):
            h, c = g.cell(g.project_tokens(tok), (h, c))
            logits = g.logits(h) / self.temperature
            w = (logits - logits.amax(-1, keepdim=True)).exp()
            cdf = w.cumsum(-1)
            total = cdf[:, -1:]
            # u < 1, but u·total may round up to total: stay strictly below it (a positive-mass token)
            r = torch.minimum(u[:, t:t + 1] * total, total * (1.0 - 2.0 ** -23))
            tok = (cdf <= r).sum(-1)
            if g.eos_id is not None:
                tok = torch.where(finished, torch.full_like(tok, g.pad_id), tok)
                finished = finished | (tok == g.eos_id)
            out.append(tok)
        return torch.stack(out, 1)


def seqgan_modules(recipe: Any, **options: Any) -> list[ExportSpec]:
    check_options(recipe.name, options, ())
    g = inference_copy(recipe.eval_model("G"))
    sampler = SequenceSampler(g, recipe.config.temperature)
    T = g.max_len

    def make(n: int, size: Any, gen: torch.Generator) -> tuple[torch.Tensor, ...]:
        return (torch.rand(n, T, generator=gen),)

    meta: dict[str, Any] = {
        "inputs": [{"name": "uniforms", "shape": ["batch", T], "dtype": "float32", "range": [0.0, 1.0],
                    "meaning": "one uniform random number in [0, 1) per position; the same uniforms "
                               "give the same sequences"}],
        "outputs": [{"name": "tokens", "shape": ["batch", T], "dtype": "int64",
                     "range": [0, g.vocab_size - 1]}],
        "vocab_size": g.vocab_size, "max_len": T, "temperature": recipe.config.temperature,
        "start_token": g.start_token, "eos_id": g.eos_id, "pad_id": g.pad_id,
        "sampling": "ancestral, inverse CDF of softmax(logits / temperature) at each step",
        "inference": "EMA weights when the run kept them"}
    if recipe.is_text:
        meta["tokenizer_json"] = recipe.data.tokenizer.to_str()
        meta["decode"] = "tokenizers.Tokenizer.from_str(tokenizer_json).decode(ids) up to eos"
    return [ExportSpec("G", sampler, ["uniforms"], ["tokens"], make, metadata=meta)]
