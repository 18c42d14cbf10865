"""noisy: a reproducible, resumable Noisy Student self-training workflow for CIFAR-10."""

__version__ = "0.1.0"
