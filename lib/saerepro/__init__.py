"""saerepro: the thin library behind the SAE replication notebooks."""

__version__ = "0.1.0"
