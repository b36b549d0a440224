"""The sampling engine for predictors of classes or maps (images; docs/theory.md §4, §7).

Graph models go through `engine.smooth`, which keeps score statistics per chunk. Image tasks
(votes, center smoothing, certified attributions, MMCert) need only what a predictor returns
on each noisy sample. `sample_predictions` draws those samples from the same named, seeded
streams (`streams.chunk_generator`, one chunk per stream and output cluster) in the same
batches (`streams.batch_sizes`); `votes.VoteCounts` counts predicted classes.

Only numpy and torch are imported here: image code does not load torch_geometric.
"""
from __future__ import annotations

from typing import Any, Callable, Iterator

import numpy as np

from graphcert.sampling.streams import batch_sizes, chunk_generator
from graphcert.utils.validation import check_positive_int

__all__ = ["sample_predictions"]

Draw = Callable[[int, np.random.Generator], Any]


def sample_predictions(predict: Callable[[Any], Any], draw: Draw, n_samples: int, *,
                       seed: int, stream: str, output_cluster: int = 0,
                       batch_size: int = 32) -> Iterator[Any]:
    """``predict(draw(size, rng))`` for batches covering `n_samples` samples, in order.

    ``draw(size, rng)`` returns `size` noisy inputs from the generator of chunk 0 of `stream`
    for `output_cluster` (e.g. ``partial(noise.sample, x, cell)``), so the samples do not
    depend on `batch_size`. Gradients stay as the caller set them (attributions need them).

    Args:
        predict (Callable[[Any], Any]): the predictor of a batch.
        draw (Draw): ``draw(size, rng)`` -> `size` noisy inputs.
        n_samples (int): samples in all.
        seed (int): seed of the stream.
        stream (str): name of the stream (`graphcert.sampling.streams.STREAMS`).
        output_cluster (int): the distribution's cluster.
        batch_size (int): samples per batch.

    Yields:
        Any: ``predict`` of each batch, in order.
    """
    n_samples = check_positive_int(n_samples, "n_samples")
    batch_size = check_positive_int(batch_size, "batch_size")
    rng = chunk_generator(seed, stream, output_cluster, 0)
    for size in batch_sizes(n_samples, batch_size):
        yield predict(draw(size, rng))
