"""graphcert: collective robustness certificates via localized randomized smoothing.

The one-call API (`graphcert.tasks.graph.api`): ``graphcert.localized_noise``,
``graphcert.isotropic_noise``, ``graphcert.certify`` and its result, ``graphcert.Certificate``;
``graphcert.abstain_below`` and the denoisers of ``graphcert.denoise`` (docs/theory.md §10,
§13). They are imported on first use, so that ``import graphcert`` (and the numpy-only certificate
layer below it) stays cheap and never imports torch.
"""
from __future__ import annotations

__all__ = ["Certificate", "abstain_below", "certify", "denoise", "isotropic_noise",
           "localized_noise"]


def __getattr__(name: str):
    if name in ("certify", "isotropic_noise", "localized_noise"):
        from graphcert.tasks.graph import api
        value = getattr(api, name)
    elif name == "Certificate":
        from graphcert.tasks.graph.certificate import Certificate as value
    elif name == "abstain_below":
        from graphcert.tasks.graph.denoise import abstain_below as value
    elif name == "denoise":
        import graphcert.denoise as value
    else:
        raise AttributeError(f"module 'graphcert' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
