"""Tools beside the workflow, run by hand as ``python -m noisy <tool>``; no rule runs them.

* :mod:`~noisy.tools.where`: the folders of an experiment's chain;
* :mod:`~noisy.tools.estimate`: the images and device hours of a plan, per rule, from
  Snakemake's own job list (:mod:`~noisy.tools.dry_run`);
* :mod:`~noisy.tools.throughput`: training and inference images/s per network, the rates
  the estimate uses.

Each declares its arguments (``add_arguments``) and runs (``run``), as the jobs do. They use
the method (:mod:`noisy.method`) and the plan (:mod:`noisy.workflow`); no job uses them. The
developers' tools (benchmark, GPU bundle, check and rehearsal) live outside the package, in
the repository's ``devtools/``.
"""
