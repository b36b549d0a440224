"""graphcert: collective robustness certificates via localized randomized smoothing."""
