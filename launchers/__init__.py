"""Runnable experiments; installed as the package ``infogan_tf_launchers``."""
