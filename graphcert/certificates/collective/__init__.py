"""Collective robustness certificates (docs/theory.md §5; LRS Thm 4.2, App. E, §F.3.2).

Binary data: the adversary adds ``b_plus[u]`` and deletes ``b_minus[u]`` bits of unit ``u``
(integers within the unit's capacities, global budgets and optional local budgets) and breaks
output ``n`` iff ``W_plus[k(n)] . b_plus + W_minus[k(n)] . b_minus >= eta_n``.  The certificate is
the minimum over all admissible allocations of the number of targeted outputs left unbroken,
computed exactly (by enumerating the adversary's allocations when they are few, else as a
MILP solved by HiGHS) or bounded from below by the LP relaxation.  Continuous (l2) units:
``CollectiveCertifierL2``.

Exact simplifications used throughout (each covered by brute-force tests):

* outputs sharing ``(group, eta)`` share one indicator; within a group the indicators are
  monotone in eta and enter one incremental constraint per group (see
  ``CountingProgram``);
* a weight ``>= max eta of its group`` (including ``inf``) is clipped to that maximum: one such
  bit breaks every output of the group either way;
* units of one weight column are merged into one unit. Unit ``u`` admits the integer points of
  ``{p <= a_u, m <= d_u, p + m <= r_u}``, a polymatroid after normalising
  ``a = min(a, r), d = min(d, r), r = min(r, a + d)``; the integer points of a sum of integral
  polymatroids are the sums of their integer points, so the merged unit
  ``(sum a, sum d, sum r)`` is exact, with or without local budgets;
* outputs that their group's worst single allocation cannot break are certified for sure.

Soundness against solver tolerances: the MILP count is the ceiling of HiGHS' dual bound (not
of its incumbent) and the LP relaxation's count the ceiling of a weak-duality (Lagrangian)
bound evaluated from HiGHS' multipliers, valid whatever their accuracy.
"""

from graphcert.certificates._pair_units import PairUnits
from graphcert.certificates.collective._binary import (
                                                       CollectiveCertifier,
                                                       collective_certificate,
                                                       naive_certificate,
)
from graphcert.certificates.collective._l2 import (
                                                       CollectiveCertifierL2,
                                                       collective_certificate_l2,
                                                       l2_certified_counts,
                                                       naive_certificate_l2,
)
from graphcert.certificates.collective._outputs import quantize_eta
from graphcert.certificates.collective._program import silence_solver_banner
from graphcert.certificates.collective._units import max_adversarial_weight

__all__ = [
    "CollectiveCertifier",
    "CollectiveCertifierL2",
    "PairUnits",
    "collective_certificate",
    "collective_certificate_l2",
    "l2_certified_counts",
    "max_adversarial_weight",
    "naive_certificate",
    "naive_certificate_l2",
    "quantize_eta",
    "silence_solver_banner",
]
