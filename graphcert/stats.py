"""Public face of the confidence bounds (`graphcert.certificates.bounds`, docs/theory.md §3, §4)."""
from graphcert.certificates.bounds import *  # noqa: F401,F403
from graphcert.certificates.bounds import __all__  # noqa: F401
