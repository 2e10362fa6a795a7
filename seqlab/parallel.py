"""Independent, seeded runs spread over worker processes."""

from __future__ import annotations

from typing import Callable, Iterable, TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")
R = TypeVar("R")

__all__ = ["map_in_processes"]


def map_in_processes(fn: Callable[[T], R], items: Iterable[T], jobs: int = 2, *, desc: str = "runs",
                     progress: bool = True) -> list[R]:
    """``[fn(item) for item in items]``, computed in ``jobs`` processes; results in the items' order.

    ``fn`` must be a module-level function. The workers are spawned, not forked: a forked child
    inherits torch's thread pool in an unusable state. ``jobs=1`` runs here, in this process.
    """
    if jobs < 1:
        raise ValueError(f"jobs must be >= 1, got {jobs}")
    items = list(items)
    bar = dict(total=len(items), desc=desc, disable=not progress)
    if jobs == 1:
        return [fn(item) for item in tqdm(items, **bar)]
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    with ProcessPoolExecutor(jobs, mp_context=get_context("spawn")) as pool:
        return list(tqdm(pool.map(fn, items), **bar))
