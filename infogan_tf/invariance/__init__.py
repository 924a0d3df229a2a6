"""Beyond the paper: the invariance term on Q's categorical code, its augmentations, presets and restarts."""
