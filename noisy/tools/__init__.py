"""Tools beside the workflow, run by hand; no rule runs them.

* :mod:`~noisy.tools.estimate`: the images and device hours of a plan, per rule, and the
  throughput probe behind them;
* :mod:`~noisy.tools.benchmark`: the paper's input pipeline and training step against ours.
"""
