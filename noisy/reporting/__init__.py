"""Reporting: result files turned into the paper's tables, the figures and the report.

* :mod:`~noisy.reporting.table_csv`: one of the paper's tables as a CSV, from the result
  files its rows read (the rows come from :mod:`noisy.workflow.tables`);
* :mod:`~noisy.reporting.self_training`: teacher, students and yardsticks side by side;
* :mod:`~noisy.reporting.teacher_check`: the chain's first teacher beside the paper's;
* :mod:`~noisy.reporting.figures`: Figure 1, training curves, class counts, seed spread,
  a model's confusion matrix;
* :mod:`~noisy.reporting.report`: the report, assembled from sections into Markdown and
  HTML by :mod:`~noisy.reporting.document`; each table is set beside the paper's by
  :mod:`~noisy.reporting.comparison` (rows matched, values judged, the tally), and the
  trainings' hours and devices are counted by :mod:`~noisy.reporting.compute`.

It reads JSON and CSV files and never imports torch. It uses the plan's torch-free table
registry (:mod:`noisy.workflow.tables`) and the method's metrics (relative mCE and mFR are
computed from two models' raw robustness results), never a job or a tool.
"""
