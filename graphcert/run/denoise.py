"""The base classifier of a run: the model behind its denoising step and with its abstention
(config ``denoise``, ``filter_*``, ``top_k``, ``abstain_below``; docs/theory.md §10, §13)."""
from __future__ import annotations

import torch

__all__ = ["abstaining", "check_abstention", "denoised"]


def denoised(config, data, model: torch.nn.Module, fit: bool = True) -> torch.nn.Module:
    """`model` behind the configured denoiser (trained with it). A learned similarity is
    fitted here on the clean graph, seeded by ``train_seed`` (``fit=False``: left untrained,
    for a state dict that holds it).

    Args:
        config (RunConfig): the run's settings.
        data (Data): the graph.
        model (torch.nn.Module): the model.
        fit (bool): fit a learned similarity now.

    Returns:
        torch.nn.Module: ``model`` or the denoiser around it.
    """
    from graphcert.tasks.graph.denoise import similarity_filter, top_k_neighbours
    from graphcert.tasks.graph.edge_embedding import EdgeEmbedding, fit_edge_embedding
    learned = config.filter_similarity == "learned"
    measure = "cosine" if learned else config.filter_similarity
    if config.denoise == "similarity":
        embedding = None
        if learned:
            embedding = fit_edge_embedding(data.x, data.edge_index, seed=config.train_seed) \
                if fit else EdgeEmbedding(data.x.shape[1])
        model = similarity_filter(model, config.filter_threshold, measure,
                                  always=config.filter_always, num_nodes=data.num_nodes,
                                  embedding=embedding)
    elif config.denoise == "top_k":
        if learned:
            raise ValueError("denoise top_k takes filter_similarity jaccard or cosine, got "
                             "'learned'")
        model = top_k_neighbours(model, config.top_k, measure)
    return model


def abstaining(config, model: torch.nn.Module) -> torch.nn.Module:
    """The trained `model` whose copies abstain below ``abstain_below`` (if set); added after
    training, which fits and validates the model itself.

    Args:
        config (RunConfig): the run's settings.
        model (torch.nn.Module): the trained model.

    Returns:
        torch.nn.Module: ``model`` or `AbstainBelow` around it.
    """
    from graphcert.tasks.graph.denoise import abstain_below
    if config.abstain_below is None:
        return model
    return abstain_below(model, config.abstain_below).eval()


def check_abstention(config, n_classes: int) -> None:
    """abstain_below must exceed 1/C (the top probability is at least 1/C).

    Args:
        config (RunConfig): the run's settings.
        n_classes (int): number of classes C.
    """
    if config.abstain_below is not None and not config.abstain_below > 1.0 / n_classes:
        raise ValueError(f"abstain_below must lie in (1/C, 1) = (1/{n_classes}, 1) for the "
                         f"{n_classes} classes, got {config.abstain_below}")
