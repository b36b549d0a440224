"""Public face of the graph datasets (`graphcert.data.datasets`, `graphcert.data.ogb`)."""
from graphcert.data.datasets import *  # noqa: F401,F403
from graphcert.data.datasets import __all__  # noqa: F401
