"""Resumable, distributed-aware batch streams.

Exact resume (``train 2k steps == train k, stop, resume k``) needs the data order to be a pure
function of ``(seed, epoch, position)``, independent of the global RNG that models consume. A
:class:`BatchStream` draws each epoch's permutation from its own generator seeded with
``seed + epoch``, shards it across ranks the way ``DistributedSampler`` does, and records
``(epoch, position)`` in its state dict.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from .errors import GanError


def dist_info() -> tuple[int, int]:
    """``(rank, world_size)``; ``(0, 1)`` when torch.distributed is not initialised."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


_STREAMS: weakref.WeakSet[BatchStream] = weakref.WeakSet()


def shutdown_workers() -> None:
    """Stop the DataLoader workers of every live :class:`BatchStream` in this process.

    Called when a run fails: once one worker died, torch's SIGCHLD handler raises again, in
    whatever code runs next, for each further worker that dies (a recipe with two streams has
    two worker pools), which would turn a clean one-line error into a traceback during exit.
    Shutting the pools down unregisters their pids from that handler first.
    """
    for stream in list(_STREAMS):
        stream.close()


class _ResumableBatchSampler(Sampler[list[int]]):
    def __init__(self, stream: BatchStream) -> None:
        self.stream = stream

    def __iter__(self) -> Iterator[list[int]]:
        while True:
            yield self.stream._next_indices()

    def __len__(self) -> int:  # pragma: no cover - infinite
        return 2**62


class BatchStream:
    """An endless iterator of batches with ``state_dict``/``load_state_dict``.

    Args:
        dataset: a map-style dataset, or a tensor / tuple of tensors indexed along dim 0 (fast path,
            no per-item Python).
        batch_size: per-rank batch size.
        seed: base seed of the permutations.
        shuffle: permute each epoch (else sequential).
        num_workers: >0 loads through a DataLoader with this many workers (the index order stays
            identical, so resume is still exact).
        collate_fn: DataLoader collate function for map-style datasets.
    """

    def __init__(self, dataset: Any, batch_size: int, seed: int = 0, shuffle: bool = True,
                 num_workers: int = 0, collate_fn: Callable | None = None,
                 drop_last: bool = True) -> None:
        self.dataset = dataset
        self.batch_size = int(batch_size)
        if self.batch_size < 1:
            raise GanError(f"batch_size={batch_size!r}: expected a value >= 1")
        self.seed = int(seed)
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.rank, self.world = dist_info()
        self.n = self._length(dataset)
        per_rank = self.n // self.world
        if per_rank == 0 or (drop_last and per_rank < self.batch_size):
            raise GanError(f"dataset has {self.n} items, fewer than one batch of {self.batch_size} "
                           f"per process ({self.world} process(es)); lower batch_size or add data")
        self.epoch = 0
        self.position = 0  # batches already consumed in this epoch
        self._order: tuple[int, torch.Tensor] | None = None
        self._cursor_epoch = self._cursor_pos = 0
        self._loader_iter: Iterator | None = None
        self.num_workers = num_workers
        self.collate_fn = collate_fn
        _STREAMS.add(self)

    def close(self) -> None:
        """Shut down this stream's worker processes (a later ``next`` restarts them in place)."""
        it, self._loader_iter = self._loader_iter, None
        shutdown = getattr(it, "_shutdown_workers", None)
        if shutdown is not None:
            try:
                shutdown()
            except Exception:  # noqa: BLE001 - a dead pool can fail to join; nothing left to save
                pass

    @staticmethod
    def _length(dataset: Any) -> int:
        if isinstance(dataset, torch.Tensor):
            return dataset.shape[0]
        if isinstance(dataset, (tuple, list)) and dataset and isinstance(dataset[0], torch.Tensor):
            return dataset[0].shape[0]
        return len(dataset)

    @property
    def batches_per_epoch(self) -> int:
        per_rank = self.n // self.world
        return per_rank // self.batch_size if self.drop_last else -(-per_rank // self.batch_size)

    def _epoch_order(self, epoch: int) -> torch.Tensor:
        if self._order is None or self._order[0] != epoch:
            if self.shuffle:
                g = torch.Generator().manual_seed(self.seed + epoch)
                order = torch.randperm(self.n, generator=g)
            else:
                order = torch.arange(self.n)
            usable = (self.n // self.world) * self.world
            self._order = (epoch, order[:usable][self.rank::self.world])
        return self._order[1]

    def _advance(self, epoch: int, position: int) -> tuple[list[int], int, int]:
        """Indices of the batch at ``(epoch, position)`` and the cursor after it."""
        if position >= self.batches_per_epoch:
            epoch, position = epoch + 1, 0
        start = position * self.batch_size
        return self._epoch_order(epoch)[start:start + self.batch_size].tolist(), epoch, position + 1

    def _next_indices(self) -> list[int]:
        # Only the worker path's sampler calls this; it runs ahead of consumption (prefetch), so it
        # keeps its own cursor and the consumed (epoch, position) is advanced in __next__.
        idx, self._cursor_epoch, self._cursor_pos = self._advance(self._cursor_epoch, self._cursor_pos)
        return idx

    def _fetch(self, idx: list[int]) -> Any:
        ds = self.dataset
        if isinstance(ds, torch.Tensor):
            return ds[idx]
        if isinstance(ds, (tuple, list)) and ds and isinstance(ds[0], torch.Tensor):
            t = torch.as_tensor(idx)
            return tuple(x[t] for x in ds)
        collate = self.collate_fn or torch.utils.data.default_collate
        if hasattr(ds, "__getitems__"):
            return collate(ds.__getitems__(idx))
        return collate([ds[i] for i in idx])

    def __iter__(self) -> BatchStream:
        return self

    def __next__(self) -> Any:
        if self.num_workers > 0 and isinstance(self.dataset, Dataset):
            if self._loader_iter is None:
                loader = DataLoader(self.dataset, batch_sampler=_ResumableBatchSampler(self),
                                    num_workers=self.num_workers, collate_fn=self.collate_fn,
                                    pin_memory=torch.cuda.is_available(), prefetch_factor=2,
                                    persistent_workers=False)
                self._cursor_epoch, self._cursor_pos = self.epoch, self.position
                self._loader_iter = iter(loader)
            try:
                batch = next(self._loader_iter)
            except GanError as e:
                shutdown_workers()
                # torch re-raises a worker's exception with its traceback folded into the message;
                # the user's one line is the original message, which names the bad file
                raise GanError(worker_error_message(str(e))) from None
            except RuntimeError as e:  # a worker died (killed, OOM, segfault)
                shutdown_workers()
                raise worker_died_error(e) from None
            _, self.epoch, self.position = self._advance(self.epoch, self.position)
            return batch
        idx, epoch, position = self._advance(self.epoch, self.position)
        batch = self._fetch(idx)  # a failing read leaves the cursor on this batch (resume retries it)
        self.epoch, self.position = epoch, position
        return batch

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self.epoch, "position": self.position, "seed": self.seed}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.epoch, self.position = int(state["epoch"]), int(state["position"])
        self.seed = int(state.get("seed", self.seed))
        self._loader_iter = None


def worker_error_message(message: str) -> str:
    """The original message of an exception torch re-raised from a DataLoader worker."""
    lines = [ln for ln in message.strip().splitlines() if ln.strip()]
    last = lines[-1] if lines else message
    marker = "GanError: "
    return last.split(marker, 1)[1] if marker in last else last


def worker_died_error(e: BaseException) -> GanError:
    first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return GanError(f"a data-loading worker died ({first}); rerun with --set run.num_workers=0 "
                    f"to see the failing item")


def split_indices(n: int, fractions: Sequence[float], seed: int = 0) -> list[torch.Tensor]:
    """Deterministic random split of ``range(n)`` into parts with the given fractions."""
    g = torch.Generator().manual_seed(seed)
    perm = torch.randperm(n, generator=g)
    out, start = [], 0
    for i, f in enumerate(fractions):
        end = n if i == len(fractions) - 1 else start + int(round(f * n))
        out.append(perm[start:end])
        start = end
    return out
