"""Public face of the collective certificates (`graphcert.certificates.collective`,
docs/theory.md §5)."""
from graphcert.certificates.collective import *  # noqa: F401,F403
from graphcert.certificates.collective import __all__  # noqa: F401
