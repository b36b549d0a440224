"""Images on a grid graph (SPEC §7): segmentation, certified attributions, MMCert."""
