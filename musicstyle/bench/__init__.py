"""Speed measurements printed as figures (``musicstyle bench ...``); never timed tests.

Each benchmark measures everything it compares in one run, so ratios hold on a noisy machine.
"""
