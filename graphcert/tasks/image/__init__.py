"""Images on a grid graph (docs/theory.md §7): segmentation, certified attributions, MMCert."""
