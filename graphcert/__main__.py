"""`python -m graphcert`: the command line (`graphcert.cli`)."""
from graphcert.cli import main

raise SystemExit(main())
