"""ganforge hooks of the SeqGAN plugin (hookimpls only; models load when a recipe is built)."""

from __future__ import annotations

from typing import Any

import gan


@gan.hookimpl
def gan_register_models(registry: Any) -> None:
    from .seqgan import MLEBaseline, SeqGAN
    registry.add("seqgan", SeqGAN)  # first: the plugin's default model
    registry.add("mle", MLEBaseline)


@gan.hookimpl
def gan_register_datasets(registry: Any) -> None:
    from .oracle import make_oracle_dataset
    from .text import make_text_dataset, reopen_text_dataset
    registry.add("oracle", make_oracle_dataset, kind="oracle",
                 help="SeqGAN's synthetic experiment: an LSTM oracle and its samples (embedded; "
                      "--data-root: a folder with the authors' target_params pickle)")
    registry.add("text", make_text_dataset, kind="text", reopen=reopen_text_dataset,
                 help="A plain-text corpus, one sentence per line (--data-root FILE or folder)")
