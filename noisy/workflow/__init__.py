"""Planning: everything Snakemake evaluates while it builds the graph.

* :mod:`noisy.workflow.config`: validation of the configuration and the preset in force;
* :mod:`noisy.workflow.stages`: every stage the configuration asks for, each in a folder
  named by its definition, and the settings each job receives;
* :mod:`noisy.workflow.tables`: the registry of the paper's tables and the files each reads;
* :mod:`noisy.workflow.outputs`: what the figures, the report and the self-training check read.

Nothing here imports torch, scipy, matplotlib or pandas: a dry run stays fast. Besides
itself the plan uses only the shared, torch-free :mod:`noisy.precision` (what defines a
model's arithmetic) and :mod:`noisy.filenames` (the names of the files in each stage's
folder); the code the jobs run lives in :mod:`noisy.method` and :mod:`noisy.reporting`.
"""
