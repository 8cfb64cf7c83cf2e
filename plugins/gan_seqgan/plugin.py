"""ganforge hooks of the SeqGAN plugin: models and datasets declared by ``"module:attr"`` (imported
when a recipe is built)."""

from __future__ import annotations

from typing import Any

import gan
from gan.registry import lazy


@gan.hookimpl
def gan_register_models(registry: Any) -> None:
    registry.add("seqgan", "gan_seqgan.seqgan:SeqGAN",  # first: the plugin's default model
                 help="SeqGAN: LSTM generator trained by policy gradient with a CNN discriminator's rewards.")
    registry.add("mle", "gan_seqgan.seqgan:MLEBaseline",
                 help="The MLE baseline of the paper: the same generator trained by maximum likelihood only.")


@gan.hookimpl
def gan_register_datasets(registry: Any) -> None:
    registry.add("oracle", "gan_seqgan.oracle:make_oracle_dataset", kind="oracle",
                 help="SeqGAN's synthetic experiment: an LSTM oracle and its samples (embedded; "
                      "--data-root: a folder with the authors' target_params pickle)")
    registry.add("text", "gan_seqgan.text:make_text_dataset", kind="text",
                 reopen=lazy("gan_seqgan.text:reopen_text_dataset"),
                 help="A plain-text corpus, one sentence per line (--data-root FILE or folder)")
