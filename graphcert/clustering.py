"""Public face of the graph clustering utilities (`graphcert.data.clustering`,
docs/theory.md §2)."""
from graphcert.data.clustering import *  # noqa: F401,F403
from graphcert.data.clustering import __all__  # noqa: F401
