"""The paper's method as a library: what the jobs compute, read as the method section.

* data: :mod:`~noisy.method.data` (the canonical data set from any source),
  :mod:`~noisy.method.subsets` (seeded per-class subsets), :mod:`~noisy.method.split`
  (labeled and unlabeled images);
* input noise: :mod:`~noisy.method.augment` (batched RandAugment, crop, flip, mixup),
  :mod:`~noisy.method.pil_augment` (the paper's per-image PIL path, the reference);
* networks and their training: :mod:`~noisy.method.models`, :mod:`~noisy.method.training`
  with :mod:`~noisy.method.resume` (mid-epoch resumable state), :mod:`~noisy.method.device`
  (device, autocast, GPU claims), :mod:`~noisy.method.progress`;
* pseudo labels: :mod:`~noisy.method.inference` (a teacher's probabilities),
  :mod:`~noisy.method.pseudo_labels` (targets and confidence selection),
  :mod:`~noisy.method.balancing` (class balancing);
* robustness: :mod:`~noisy.method.corruptions` (CIFAR-10-C), :mod:`~noisy.method.perturbations`
  (CIFAR-10-P), :mod:`~noisy.method.image_filters` (their image operations),
  :mod:`~noisy.method.robustness` (the generated or official sets), :mod:`~noisy.method.attacks`
  (FGSM);
* scores: :mod:`~noisy.method.metrics` (accuracy, calibration, mCE, flip rates),
  :mod:`~noisy.method.evaluation` (a model's clean and robustness metrics).

Nothing here imports :mod:`noisy.jobs`, :mod:`noisy.reporting`, :mod:`noisy.tools` or
:mod:`noisy.workflow`: the library knows no job, rule or plan. Besides itself it uses only
the shared modules :mod:`noisy.errors`, :mod:`noisy.files` and :mod:`noisy.precision`.
"""
