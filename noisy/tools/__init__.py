"""Tools beside the workflow, run by hand as ``python -m noisy <tool>``; no rule runs them.

* :mod:`~noisy.tools.where`: the folders of an experiment's chain;
* :mod:`~noisy.tools.estimate`: the images and device hours of a plan, per rule;
* :mod:`~noisy.tools.throughput`: training and inference images/s per network;
* :mod:`~noisy.tools.benchmark`: the paper's input pipeline and training step against ours.

Each declares its arguments (``add_arguments``) and runs (``run``), as the jobs do. They use
the method (:mod:`noisy.method`) and the plan (:mod:`noisy.workflow`); no job uses them.
"""
