"""Small demos for images: synthetic data, tiny models, the runs behind the CLI commands."""
