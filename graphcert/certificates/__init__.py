"""Certificates: from Monte Carlo bounds to certified budgets (numpy and scipy only, no torch).

Base (per-output) certificates, one module per family:

* variance-constrained certificate for sparsity-aware noise (docs/theory.md §3, LRS Thm 5.1):
  :func:`sparsity_aware_weights`, :func:`localized_weight_matrices`,
  :func:`pair_weight_matrices` (edges, docs/theory.md §8), :func:`variance_constrained_radius`;
* the exact SparseSmooth certificate for binary data, attributes alone or jointly with edges
  (docs/theory.md §4, §8): :func:`sparse_smooth_worst_mass`, :func:`sparse_smooth_certified`,
  :func:`sparse_smooth_region`, :func:`sparse_smooth_joint_region`,
  :func:`sparse_smooth_thresholds`;
* the exact certificate for cluster-wise (localized) sparsity-aware noise, one Neyman-Pearson
  fill over the per-cluster cells (docs/theory.md §11): :func:`localized_exact_worst_case`,
  :func:`localized_exact_certified`, :func:`localized_exact_threshold`;
* the exact Hamming certificate for K-ary categorical noise (docs/theory.md §9, Lee et al.
  2019) and its variance-constrained weight: :func:`kary_hamming_certified`,
  :func:`kary_hamming_radius`, :func:`kary_hamming_region`, :func:`kary_hamming_thresholds`,
  :func:`kary_hamming_worst_mass`, :func:`kary_weights` (:data:`KARY_UNBOUNDED_RADIUS`: every
  radius certified);
* vote-based radii for continuous smoothing (docs/theory.md §4): :func:`gaussian_l2_radius`,
  :func:`gaussian_radius`, :func:`uniform_l1_radius`;
* hierarchical smoothing against adversarial nodes (docs/theory.md §14):
  :func:`hierarchical_worst_case`, :func:`hierarchical_certified`,
  :func:`hierarchical_node_radius`, :func:`hierarchical_gaussian_worst_case`,
  :func:`hierarchical_gaussian_certified`; with cluster-wise lower-level noise (§14.1)
  :func:`hierarchical_localized_worst_case`, :func:`hierarchical_localized_certified`,
  :func:`hierarchical_localized_node_radius`;
* injected nodes under node-aware bi-smoothing (docs/theory.md §15):
  :func:`injection_probabilities`, :func:`injection_worst_case`,
  :func:`injection_certified`, :func:`injection_node_radius`;
* MMCert for ablated multimodal inputs (docs/theory.md §7): :func:`ablation_delta`,
  :func:`mmcert_certified`.

The layer's other modules: `bounds` (confidence bounds, public as `graphcert.certificates.bounds`),
`collective` (collective certificates, public as `graphcert.certificates.collective`) and `metrics`
(certified accuracy, ACR). Radii follow one convention: ``eta = -inf`` means abstain.
"""
from graphcert.certificates._ablation import ablation_delta, mmcert_certified
from graphcert.certificates._base import BaseCertificate
from graphcert.certificates._continuous import (
                                                   gaussian_l2_radius,
                                                   gaussian_radius,
                                                   uniform_l1_radius,
)
from graphcert.certificates._hierarchical import (
                                                   hierarchical_certified,
                                                   hierarchical_gaussian_certified,
                                                   hierarchical_gaussian_worst_case,
                                                   hierarchical_node_radius,
                                                   hierarchical_worst_case,
)
from graphcert.certificates._hierarchical_localized import (
                                                   hierarchical_localized_certified,
                                                   hierarchical_localized_node_radius,
                                                   hierarchical_localized_worst_case,
)
from graphcert.certificates._injection import (
                                                   injection_certified,
                                                   injection_node_radius,
                                                   injection_probabilities,
                                                   injection_worst_case,
)
from graphcert.certificates._kary import (
                                                   KARY_UNBOUNDED_RADIUS,
                                                   kary_hamming_certified,
                                                   kary_hamming_radius,
                                                   kary_hamming_region,
                                                   kary_hamming_thresholds,
                                                   kary_hamming_worst_mass,
                                                   kary_weights,
)
from graphcert.certificates._localized_exact import (
                                                   localized_exact_certified,
                                                   localized_exact_threshold,
                                                   localized_exact_worst_case,
)
from graphcert.certificates._sparse_smooth import (
                                                   sparse_smooth_certified,
                                                   sparse_smooth_joint_region,
                                                   sparse_smooth_region,
                                                   sparse_smooth_thresholds,
                                                   sparse_smooth_worst_mass,
)
from graphcert.certificates._variance import (
                                                   localized_weight_matrices,
                                                   pair_weight_matrices,
                                                   sparsity_aware_weights,
                                                   variance_constrained_radius,
)

__all__ = [
    "KARY_UNBOUNDED_RADIUS",
    "BaseCertificate",
    "ablation_delta",
    "gaussian_l2_radius",
    "gaussian_radius",
    "hierarchical_certified",
    "hierarchical_gaussian_certified",
    "hierarchical_gaussian_worst_case",
    "hierarchical_localized_certified",
    "hierarchical_localized_node_radius",
    "hierarchical_localized_worst_case",
    "hierarchical_node_radius",
    "hierarchical_worst_case",
    "injection_certified",
    "injection_node_radius",
    "injection_probabilities",
    "injection_worst_case",
    "kary_hamming_certified",
    "kary_hamming_radius",
    "kary_hamming_region",
    "kary_hamming_thresholds",
    "kary_hamming_worst_mass",
    "kary_weights",
    "localized_exact_certified",
    "localized_exact_threshold",
    "localized_exact_worst_case",
    "localized_weight_matrices",
    "mmcert_certified",
    "pair_weight_matrices",
    "sparse_smooth_certified",
    "sparse_smooth_joint_region",
    "sparse_smooth_region",
    "sparse_smooth_thresholds",
    "sparse_smooth_worst_mass",
    "sparsity_aware_weights",
    "uniform_l1_radius",
    "variance_constrained_radius",
]
