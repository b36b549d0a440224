"""graphcert: collective robustness certificates via localized randomized smoothing.

The one-call API (`graphcert.tasks.graph.api`): the noises ``graphcert.localized_noise``,
``graphcert.isotropic_noise`` (attribute bits), ``graphcert.structure_noise`` (edges),
``graphcert.joint_noise`` (both), ``graphcert.kary_noise`` (categorical values) and
``graphcert.gaussian_noise`` (continuous features); ``graphcert.certify`` and its results,
``graphcert.Certificate`` (variance-constrained), ``graphcert.SparseSmoothCertificate``,
``graphcert.KaryHammingCertificate`` and ``graphcert.GaussianCertificate``.
The node-level threat models' noises: ``graphcert.hierarchical_noise`` and
``graphcert.injection_noise`` (`graphcert.tasks.graph.node_threats`). Denoising and
abstaining base classifiers: ``graphcert.denoise`` and ``graphcert.abstain_below``
(docs/theory.md §10, §13).
They are imported on first use, so that ``import graphcert`` (and the numpy-only certificate
layer below it) stays cheap and never imports torch.
"""
from __future__ import annotations

__all__ = ["Certificate", "GaussianCertificate", "KaryHammingCertificate",
           "SparseSmoothCertificate", "abstain_below", "certify", "denoise", "gaussian_noise",
           "hierarchical_noise", "injection_noise", "isotropic_noise", "joint_noise",
           "kary_noise", "localized_noise", "structure_noise"]


def __getattr__(name: str):
    if name in ("certify", "isotropic_noise", "localized_noise"):
        from graphcert.tasks.graph import api as home
    elif name in ("structure_noise", "joint_noise", "kary_noise", "gaussian_noise"):
        from graphcert.tasks.graph import noises as home
    elif name in ("hierarchical_noise", "injection_noise"):
        from graphcert.tasks.graph import node_threats as home
    elif name == "Certificate":
        from graphcert.tasks.graph import certificate as home
    elif name in ("SparseSmoothCertificate", "KaryHammingCertificate", "GaussianCertificate"):
        from graphcert.tasks.graph import vote_certificates as home
    elif name == "abstain_below":
        from graphcert.tasks.graph import denoise as home
    elif name == "denoise":
        import graphcert.denoise
        return graphcert.denoise
    else:
        raise AttributeError(f"module 'graphcert' has no attribute {name!r}")
    value = getattr(home, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
