"""SeqGAN (Yu, Zhang, Wang & Yu, AAAI 2017, arXiv:1609.05473): a GAN for token sequences.

Discrete samples give the discriminator's score no gradient path to the generator, so SeqGAN treats
the generator as a stochastic policy and trains it with REINFORCE: the reward of token ``y_t`` is the
discriminator's probability that the sequence is real, estimated for unfinished prefixes by
Monte Carlo rollouts (:mod:`gan_seqgan.rollout`).

Stages and phases (what a trainer *step* is):

``pretrain_g``  — phase ``G_mle``: one Adam step of maximum likelihood on a minibatch.
    ``steps = pretrain_g_epochs × batches per epoch``.
``pretrain_d``  — phase ``D`` with ``repeats = d_epochs × D-batches per epoch``: one step is one
    *d-step* of the paper — fresh negatives from G, then ``d_epochs`` epochs over positives +
    negatives. ``steps = pretrain_d_steps`` (the authors: 50 d-steps of 3 epochs).
``adversarial`` — one step is one round of Algorithm 1: phase ``G_pg`` (``repeats = g_steps``: a
    policy-gradient step on a fresh batch of samples with rollout rewards), then phase ``D``
    (``repeats = d_steps × d_epochs × D-batches per epoch``: ``d_steps`` times fresh negatives and
    ``d_epochs`` epochs). The rollout policy is updated after each round.
    ``steps = adversarial_rounds`` (the authors: 200).

The recipe regenerates negatives itself, at the start of every d-step (every ``d_epochs`` epochs of
D batches), and keeps the negative set, its batch position and the rollout policy in
:meth:`extra_state`, so a resumed run continues exactly.

Differences from the paper and the authors' code, all deliberate:

* Rollout policy. The paper's Algorithm 1 sets ``β ← θ`` (the rollout policy is the current
  generator). The authors' ``rollout.py`` builds ops for a delayed update ``β ← 0.8·β + 0.2·θ``
  but its sampling graph is built once from ``tf.identity`` of the generator's variables, so the
  rollouts it runs use the current generator too. ``rollout_update_rate`` is the weight of the
  generator in ``β ← (1 − r)·β + r·θ``: the default 1.0 follows the paper; 0.2 is the delayed update
  the code spells out.
* The D data are reshuffled every epoch (the authors shuffle once per negative set).
* ``d_samples`` may be smaller than the training set (the reduced presets): then as many positives
  as negatives are drawn at random for each d-step, keeping the classes balanced.
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

import torch
import torch.nn.functional as F

from gan import stabilisers as stab
from gan.checkpoint import atomic_write_text
from gan.constraints import LearningRate, Positive, validate
from gan.config import require_counts
from gan.data import BatchStream
from gan.errors import GanError
from gan.health import d_stats
from gan.losses import NonSaturating
from gan.modes import eval_mode
from gan.optim import make_optimizer
from gan.protocols import LossOutput, Phase, Recipe, Stage

from .discriminator import PAPER_FILTERS, PAPER_WINDOWS, Discriminator
from .generator import LSTMGenerator, reduce_nll, token_nll
from .oracle import OracleConfig, OracleData, build_oracle_data, sequence_nll
from .rollout import GraphedCompletions, rollout_rewards, update_rollout_policy


@dataclass
class DataConfig:
    """Real-text settings, read by :func:`gan_seqgan.text.make_text_dataset` (``--dataset text``)."""

    test_path: str | None = None  # held-out sentences for BLEU / NLL-test (default: a split of the corpus)
    max_len: int | None = None  # tokens per sequence incl. eos (default: from the data, outliers dropped, <= 256)
    tokenizer: Literal["word", "bpe"] = "word"  # word level (BLEU's units) or byte-pair
    vocab_size: int = 8000  # BPE vocabulary size (word level: every training word)
    test_fraction: float = 0.1  # held-out share when there is no test file
    overlong: Literal["drop", "truncate", "error"] = "drop"  # sentences longer than max_len
    max_oov_rate: float = 0.1  # a test file with more unknown tokens is refused


@dataclass
class EvalConfig:
    """How samples are scored (``--set eval.<key>=...``)."""

    samples: Positive = 2000  # generated sequences per evaluation (authors: 9,984; paper preset 10,000)
    bleu_max_n: Positive = 5  # BLEU-2..n for text
    self_bleu_samples: Positive = 1000  # samples for Self-BLEU (text)


@dataclass
class Config:
    # generator (paper / authors' code)
    emb_dim: int = 32  # paper value
    hidden_dim: int = 32  # paper value
    temperature: float = 1.0  # sampling temperature (paper: 1)
    batch_size: Positive = 64  # paper value, MLE and policy gradient
    g_lr: LearningRate = 0.01  # Adam, MLE and policy gradient (authors' code)
    g_grad_clip: float = 5.0  # global norm (authors' code)
    # discriminator (paper / authors' code)
    d_emb_dim: int = 64  # paper value
    d_windows: tuple[int, ...] = PAPER_WINDOWS  # paper: 1-10, 15, 20
    d_filters: tuple[int, ...] = PAPER_FILTERS  # paper: 100/200/200/200/200/100x5/160/160
    d_dropout: float = 0.25  # paper: keep probability 0.75
    d_l2: float = 0.2  # L2 on the output layer (paper value)
    d_lr: LearningRate = 1e-4  # Adam (authors' code)
    d_batch_size: Positive = 64  # paper value
    # schedule (defaults: a few minutes on 2 CPU cores; --preset paper for the full protocol)
    pretrain_g_epochs: int = 6  # MLE epochs (authors' code: 120)
    pretrain_d_steps: int = 2  # D pretraining d-steps (authors' code: 50)
    adversarial_rounds: int = 6  # rounds of Algorithm 1 (authors' code: 200)
    g_steps: int = 1  # policy-gradient steps per round (paper: 1)
    d_steps: int = 1  # fresh negative sets per round (paper: 5)
    d_epochs: int = 1  # epochs over each negative set (paper: k = 3)
    d_samples: int = 1000  # negatives per d-step (paper: 10,000 with all positives)
    num_rollouts: int = 16  # Monte Carlo rollouts per prefix (paper: N = 16)
    rollout_update_rate: float = 1.0  # r in beta <- (1-r) beta + r theta; 1 = current G (paper)
    pg_baseline: Literal["none", "mean"] = "none"  # paper: none; mean = per-step batch mean
    rollout_cuda_graphs: bool = False  # CUDA: replay the T-1 rollout sampling steps from a CUDA graph
    oracle: OracleConfig = field(default_factory=OracleConfig)
    data: DataConfig = field(default_factory=DataConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    stabilise: stab.StabiliserConfig = field(default_factory=stab.StabiliserConfig)  # labels and d_lr_scale only

    #: evaluation settings were top-level keys before (gan.config.canonical_key keeps them working)
    renamed: ClassVar[dict[str, str]] = {"eval_samples": "eval.samples", "bleu_max_n": "eval.bleu_max_n",
                                         "self_bleu_samples": "eval.self_bleu_samples"}


FIXED_SAMPLE_SEED = 2024  # the random stream of every sample snapshot (they compare)

TINY = {
    "emb_dim": 8, "hidden_dim": 8, "batch_size": 8, "d_emb_dim": 8, "d_windows": (1, 2, 3),
    "d_filters": (4, 4, 4), "d_batch_size": 8, "pretrain_g_epochs": 1, "pretrain_d_steps": 1,
    "adversarial_rounds": 5, "d_samples": 8, "num_rollouts": 2, "eval.samples": 32,
    "eval.self_bleu_samples": 16,
    "oracle": {"vocab_size": 30, "seq_len": 6, "emb_dim": 8, "hidden_dim": 8, "num_train": 16,
               "num_test": 16},
}

PAPER = {  # the authors' schedule (sequence_gan.py): ~980,000 D minibatch steps, a GPU job
    "pretrain_g_epochs": 120, "pretrain_d_steps": 50, "adversarial_rounds": 200, "d_steps": 5,
    "d_epochs": 3, "d_samples": 10000, "eval.samples": 10000,
}


#: stabilisers that need continuous inputs or a differentiable G objective: none applies to tokens
#: sampled and trained by policy gradient
NOT_FOR_TOKENS = {k: "tokens are discrete and G is trained by policy gradient" for k in (
    "instance_noise", "minibatch_discrimination", "minibatch_stddev", "feature_matching",
    "unrolled_steps", "r1_gamma", "r2_gamma", "pack")}
_LOGISTIC = NonSaturating()


class SeqGAN(Recipe):
    """SeqGAN: LSTM generator trained by policy gradient with a CNN discriminator's rewards."""

    name = "seqgan"
    Config = Config
    presets = {"tiny": TINY, "paper": PAPER}
    data_kind = "oracle"
    data_kinds = ("oracle", "text")
    default_dataset = "oracle"
    ema_models = ("G",)
    has_discriminator = True  # the MLE baseline sets False

    def __init__(self, config: Config, device: torch.device | str = "cpu", data: Any = None,
                 run: Any = None) -> None:
        super().__init__(config, device, data, run)
        c = config
        self._check_config()
        stab.require_applicable(c.stabilise, self.name, NOT_FOR_TOKENS)
        if data is None:
            data = build_oracle_data(c.oracle)
        self.data = data
        self.is_text = not isinstance(data, OracleData)
        self.seed = int(getattr(run, "seed", 0) or 0)
        train = data.train
        # a run reopened without its corpus (gan sample): the saved tokenizer, no sentences
        self.tokenizer_only = bool(getattr(data, "tokenizer_only", False))  # train is (0, max_len)
        if not self.tokenizer_only and (train.dim() != 2 or train.shape[0] < c.batch_size):
            raise GanError(f"the training set has {train.shape[0]} sequences; batch_size={c.batch_size} "
                           f"needs at least one full batch")
        self.max_len = int(train.shape[1])
        if self.is_text:
            g_kwargs = dict(start_token=data.bos_id, pad_id=data.pad_id, eos_id=data.eos_id,
                            banned=(data.pad_id, data.bos_id))
        else:
            g_kwargs = dict(start_token=data.start_token)
            self.oracle = data.oracle.to(self.device)
        V = data.vocab_size
        G = LSTMGenerator(V, c.emb_dim, c.hidden_dim, self.max_len, **g_kwargs)
        self.models["G"] = G.to(self.device)
        self.rollout = copy.deepcopy(G).requires_grad_(False).to(self.device)
        self.optimizers["G_mle"] = make_optimizer(G, c.g_lr, fused=True)
        self.optimizers["G_pg"] = make_optimizer(G, c.g_lr, fused=True)  # separate moments, as in the code
        if self.has_discriminator:
            D = Discriminator(V, self.max_len, c.d_emb_dim, tuple(c.d_windows), tuple(c.d_filters),
                              dropout=c.d_dropout)
            self.models["D"] = D.to(self.device)
            self.optimizers["D"] = make_optimizer(D, c.d_lr * c.stabilise.d_lr_scale, fused=True)
        self.train_data = train
        self.stream = None if self.tokenizer_only else BatchStream(train, c.batch_size, seed=self.seed)
        # D data: positives (indices into train) + negatives, regenerated every d-step
        n_pos = min(c.d_samples, train.shape[0])
        self.d_batches_per_epoch = (n_pos + c.d_samples) // c.d_batch_size
        if self.has_discriminator and self.d_batches_per_epoch < 1:
            raise GanError(f"d_samples={c.d_samples} gives fewer than one D batch of "
                           f"d_batch_size={c.d_batch_size}")
        self.d_state: dict[str, Any] = {"pos": None, "neg": None, "used": 0, "sets": 0, "stream": None}
        self._d_stream: BatchStream | None = None
        self._text_saved: Path | None = None  # where save_samples last wrote the tokenizer

    def _check_config(self) -> None:
        c = self.config
        require_counts(c, positive=("emb_dim", "hidden_dim", "batch_size", "d_emb_dim", "d_batch_size",
                                    "g_steps", "d_steps", "d_epochs", "d_samples", "num_rollouts"),
                       non_negative=("pretrain_g_epochs", "pretrain_d_steps", "adversarial_rounds"))
        validate(c.eval, "eval.")  # its declared ranges, for API callers too (the CLI checks them all)
        if not 0.0 < c.rollout_update_rate <= 1.0:
            raise GanError(f"--set rollout_update_rate={c.rollout_update_rate}: expected a number in (0, 1]")
        if not 0.0 <= c.d_dropout < 1.0:
            raise GanError(f"--set d_dropout={c.d_dropout}: expected a number in [0, 1)")
        if c.temperature <= 0:
            raise GanError(f"--set temperature={c.temperature}: expected a positive number")
        if len(c.d_windows) != len(c.d_filters) or not c.d_windows:
            raise GanError(f"d_windows has {len(c.d_windows)} sizes but d_filters {len(c.d_filters)} "
                           f"counts; give one filter count per window size")
        if min(c.d_windows) < 1 or min(c.d_filters) < 1:
            raise GanError("d_windows and d_filters: expected positive integers")

    # --- schedule -------------------------------------------------------------------------------
    def stages(self) -> list[Stage]:
        c = self.config
        return [Stage("pretrain_g", c.pretrain_g_epochs * self._batches_per_epoch(), unit="batch"),
                Stage("pretrain_d", c.pretrain_d_steps, unit="d-step"),
                Stage("adversarial", c.adversarial_rounds, unit="round")]

    def _batches_per_epoch(self) -> int:
        return self.stream.batches_per_epoch if self.stream is not None else 0

    def phases(self, stage: Stage) -> list[Phase]:
        c = self.config
        per_set = c.d_epochs * self.d_batches_per_epoch
        if stage.name == "pretrain_g":
            return [Phase("G_mle", "G", "G_mle", grad_clip=c.g_grad_clip, loss=self.mle_loss)]
        if stage.name == "pretrain_d":
            return [Phase("D", "D", "D", repeats=per_set, loss=self.d_loss)]
        if stage.name == "adversarial":
            return [Phase("G_pg", "G", "G_pg", repeats=c.g_steps, grad_clip=c.g_grad_clip, loss=self.pg_loss),
                    Phase("D", "D", "D", repeats=c.d_steps * per_set, loss=self.d_loss)]
        raise GanError(f"unknown stage {stage.name!r}")

    # --- data ----------------------------------------------------------------------------------
    def next_batch(self, stage: Stage, phase: Phase) -> Any:
        if self.tokenizer_only:
            raise GanError("this run was reopened from its saved tokenizer without its corpus; "
                           "training needs the corpus: pass --data-root")
        if phase.name == "G_mle":
            return next(self.stream)
        if phase.name == "D":
            per_set = self.config.d_epochs * self.d_batches_per_epoch
            if self._d_stream is None or self.d_state["used"] >= per_set:
                self._new_negatives()
            self.d_state["used"] += 1
            return next(self._d_stream)
        return None  # G_pg samples its own batch

    @torch.no_grad()
    def _new_negatives(self) -> None:
        """A d-step's data: ``d_samples`` fresh samples of G and as many positives (all when fewer)."""
        c = self.config
        n_train = self.train_data.shape[0]
        if c.d_samples < n_train:
            pos = torch.randperm(n_train, device=self.device)[:c.d_samples].cpu()
        else:
            pos = None
        with eval_mode(self.models["G"]):
            neg = self.models["G"].sample(c.d_samples, temperature=c.temperature).cpu()
        self.d_state.update(pos=pos, neg=neg, used=0, sets=self.d_state["sets"] + 1, stream=None)
        self._build_d_stream()

    def _build_d_stream(self) -> None:
        st = self.d_state
        pos = self.train_data if st["pos"] is None else self.train_data[st["pos"]]
        x = torch.cat([pos, st["neg"]])
        y = torch.cat([torch.ones(pos.shape[0], dtype=torch.long),
                       torch.zeros(st["neg"].shape[0], dtype=torch.long)])
        self._d_stream = BatchStream((x, y), self.config.d_batch_size,
                                     seed=self.seed * 100003 + st["sets"])
        if st["stream"] is not None:
            self._d_stream.load_state_dict(st["stream"])

    # --- losses --------------------------------------------------------------------------------
    def mle_loss(self, tokens: torch.Tensor, step: int = 0, scratch: Any = None) -> LossOutput:
        """Phase ``G_mle``: the next-token negative log-likelihood of a real batch."""
        mask = self.models["G"].target_mask(tokens)
        loss = reduce_nll(token_nll(self.nets.G(tokens), tokens, mask), mask)
        return LossOutput(loss, {"nll": loss.detach()})

    def d_loss(self, batch: tuple[torch.Tensor, torch.Tensor], step: int = 0, scratch: Any = None) -> LossOutput:
        """Phase ``D``: cross-entropy of real sentences against the current negative set."""
        x, y = batch
        logits = self.nets.D(x).float()
        # the two-class softmax is a logistic model on the logit difference: D's real/fake score
        score = logits[:, 1] - logits[:, 0]
        real, fake = score[y == 1], score[y == 0]
        s = self.config.stabilise
        ce = stab.d_loss(_LOGISTIC, s, real, fake) if s.relabels else F.cross_entropy(logits, y)
        loss = ce + self.config.d_l2 * self.models["D"].l2_penalty()
        acc = (logits.argmax(1) == y).float().mean()
        return LossOutput(loss, {"ce": ce.detach(), "acc": acc.detach(), **d_stats(real, fake, _LOGISTIC)})

    @torch.no_grad()
    def health_diversity(self) -> tuple[str, float] | None:
        """1 - Self-BLEU-3 of 64 fixed-seed samples (falls when the samples repeat each other)."""
        if self.tokenizer_only:
            return None
        from .bleu import self_bleu
        sb = self_bleu(self.decode(self.sample(64, seed=4321)), max_n=3)
        return "one_minus_self_bleu3", 1.0 - float(sb["self-bleu-3"])

    def pg_loss(self, batch: Any = None, step: int = 0, scratch: Any = None) -> LossOutput:
        """Phase ``G_pg``: policy gradient on a fresh batch of samples with rollout rewards."""
        c = self.config
        G = self.models["G"]
        with torch.no_grad():
            with eval_mode(G):
                samples = G.sample(c.batch_size, temperature=c.temperature)
            rewards = rollout_rewards(samples, self.rollout, self.models["D"], c.num_rollouts,
                                      graphed=self._graphed_rollouts(samples))
        mask = G.target_mask(samples)
        logp = -token_nll(self.nets.G(samples), samples, mask)
        loss, adv = policy_gradient_loss(logp, rewards, mask, c.pg_baseline)
        return LossOutput(loss, {"reward": rewards.mean(), "reward_last": rewards[:, -1].mean(),
                                 "nll_samples": -logp.detach().mean()})

    def _graphed_rollouts(self, samples: torch.Tensor) -> GraphedCompletions | None:
        """The CUDA-graph rollout sampler when ``rollout_cuda_graphs`` is on and G runs on CUDA."""
        if not self.config.rollout_cuda_graphs or samples.device.type != "cuda":
            return None
        g = getattr(self, "_graph", None)
        if g is None or not g.matches(samples, self.rollout, self.config.num_rollouts):
            g = self._graph = GraphedCompletions(self.rollout, self.config.num_rollouts, *samples.shape)
        return g

    def after_step(self, stage: Stage, step: int) -> None:
        if stage.name == "adversarial":
            update_rollout_policy(self.rollout, self.models["G"], self.config.rollout_update_rate)
        elif stage.name == "pretrain_g":  # Algorithm 1 starts the rollout policy at the pretrained G
            update_rollout_policy(self.rollout, self.models["G"], 1.0)

    # --- state ---------------------------------------------------------------------------------
    def extra_state(self) -> dict[str, Any]:
        """The rollout policy and the d-step data (the base class saves the MLE data stream)."""
        st = dict(self.d_state)
        st["stream"] = self._d_stream.state_dict() if self._d_stream is not None else None
        return {**super().extra_state(),
                "rollout": {k: v.detach().clone() for k, v in self.rollout.state_dict().items()},
                "d_data": st}

    def load_extra_state(self, state: dict[str, Any]) -> None:
        super().load_extra_state(state)
        if "rollout" in state:
            self.rollout.load_state_dict(state["rollout"])
        if self.tokenizer_only:  # no data to position: only the networks matter for sampling
            return
        d = state.get("d_data")
        if d is not None:
            self.d_state = dict(d)
            self._d_stream = None
            if d.get("neg") is not None:
                self._build_d_stream()

    # --- sampling and evaluation ---------------------------------------------------------------
    def _generator(self, seed: int | None) -> torch.Generator | None:
        return None if seed is None else torch.Generator(device=self.device).manual_seed(int(seed))

    @torch.no_grad()
    def sample(self, n: int, seed: int | None = None) -> torch.Tensor:
        """``n`` token sequences ``(n, T)`` from the generator (its EMA copy when kept)."""
        G = self.eval_model("G")
        gen = self._generator(seed)
        parts = [G.sample(min(4096, n - i), self.config.temperature, generator=gen)
                 for i in range(0, n, 4096)]
        return torch.cat(parts) if parts else torch.empty(0, self.max_len, dtype=torch.long)

    def export_modules(self, **options: Any) -> list[Any]:
        """``gan export``: the generator's sampler, uniforms → tokens (see :mod:`.deploy`)."""
        from .deploy import seqgan_modules
        return seqgan_modules(self, **options)

    def decode(self, tokens: torch.Tensor) -> list[str]:
        """Text lines: decoded sentences for text, space-separated token ids for the oracle."""
        if self.is_text:
            return self.data.decode_batch(tokens.cpu())
        return [" ".join(map(str, row)) for row in tokens.cpu().tolist()]

    @torch.no_grad()
    def evaluate(self, full: bool = False) -> dict[str, Any]:
        c = self.config
        if self.tokenizer_only:
            raise GanError("this run was reopened from its saved tokenizer because its corpus is gone; "
                           "evaluation needs the held-out sentences: pass --data-root with the corpus")
        G = self.eval_model("G")
        samples = self.sample(c.eval.samples)
        results: dict[str, Any] = {}
        protocol: dict[str, Any] = {"samples": int(samples.shape[0]), "temperature": c.temperature}
        if not self.is_text:
            results["nll_oracle"] = sequence_nll(self.oracle, samples)
            protocol["nll_oracle"] = ("per-token NLL under the oracle, mean over the generated "
                                      "sequences")
            protocol.update({f"data_{k}": v for k, v in self.data.source.items()})
        test = self.data.test
        if test is not None and len(test):
            results["nll_test"] = sequence_nll(G, test)
            protocol["nll_test"] = f"per-token NLL of G on {test.shape[0]} held-out sequences"
        if self.is_text:
            from .bleu import self_bleu
            hyps = self.decode(samples)
            bleu = self.reference_pool.score(hyps)
            sb = self_bleu(hyps, max_n=c.eval.bleu_max_n, n_samples=min(c.eval.self_bleu_samples, len(hyps)))
            results.update({k: float(v) for k, v in bleu.items() if k.startswith("bleu-")})
            results.update({k: float(v) for k, v in sb.items() if k.startswith("self-bleu-")})
            protocol.update(bleu_signature=bleu["signature"], bleu_refs=bleu["n_refs"],
                            bleu_reference_set="test" if self.data.test_text else "train",
                            self_bleu_signature=sb["signature"], self_bleu_samples=sb["n_samples"])
        results["protocol"] = protocol
        return results

    @functools.cached_property
    def reference_pool(self) -> Any:
        """The BLEU reference pool, built once: its n-gram statistics over the held-out text
        (10k sentences: about a second) would otherwise be recomputed at every evaluation."""
        from .bleu import ReferencePool
        return ReferencePool(self.data.test_text or self.data.train_text, self.config.eval.bleu_max_n)

    def save_samples(self, directory: Path, step: int) -> list[Path]:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        text_dir = Path(self.run_dir) / "text" if self.run_dir is not None else None
        if self.is_text and text_dir is not None and not self.tokenizer_only and text_dir != self._text_saved:
            self.data.save(text_dir)  # the tokenizer, for `gan sample`; once per run directory
            self._text_saved = text_dir
        path = directory / f"samples-{step:08d}.txt"
        # a fixed seed: every snapshot draws with the same random stream, so they compare
        # atomically: `gan report` reads snapshots of a run in progress without a lock
        atomic_write_text(path, "\n".join(self.decode(self.sample(64, seed=FIXED_SAMPLE_SEED))) + "\n")
        return [path]

    @torch.no_grad()
    def score(self, samples: torch.Tensor) -> torch.Tensor:
        """D's probability that each token sequence is real."""
        if "D" not in self.models:
            raise GanError(f"model {self.name!r} has no discriminator to rank samples: "
                           f"'gan sample --nice' does not apply")
        return self.models["D"].prob_real(samples).float().cpu()

    @torch.no_grad()
    def export_samples(self, n: int, out_dir: Path, seed: int | None = None, nice: bool | int = False
                       ) -> list[str]:
        from gan.sampling import nice_sample
        tokens, _ = nice_sample(self, n, seed, nice)
        lines = self.decode(tokens)
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out_dir / "samples.txt", "\n".join(lines) + "\n")
        return lines


class MLEBaseline(SeqGAN):
    """The MLE baseline of the paper: the same generator trained by maximum likelihood only."""

    name = "mle"
    has_discriminator = False

    def stages(self) -> list[Stage]:
        return [Stage("pretrain_g", self.config.pretrain_g_epochs * self._batches_per_epoch(), unit="batch")]


# --- pure functions (tested on their own) -------------------------------------------------------
def policy_gradient_loss(logp: torch.Tensor, rewards: torch.Tensor, mask: torch.Tensor | None = None,
                         baseline: str = "none") -> tuple[torch.Tensor, torch.Tensor]:
    """REINFORCE loss ``-Σ_t log G(y_t | Y_1:t-1) · (Q_t − b_t)`` summed over batch and time.

    The sum (not a mean) is the authors' ``g_loss``; the gradient is clipped to norm 5 afterwards.
    ``baseline="mean"`` subtracts the batch mean reward of each position, which leaves the gradient
    unbiased and lowers its variance. Returns ``(loss, advantages)``.
    """
    adv = rewards.detach()
    if baseline == "mean":
        adv = adv - adv.mean(0, keepdim=True)
    elif baseline != "none":
        raise GanError(f"pg_baseline={baseline!r}: expected 'none' or 'mean'")
    terms = logp * adv
    if mask is not None:
        terms = terms.masked_fill(~mask, 0.0)
    return -terms.sum(), adv
