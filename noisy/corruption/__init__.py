"""CIFAR-10-C and CIFAR-10-P made here: the common corruptions and perturbations of
Hendrycks & Dietterich (ICLR 2019), re-implemented at their CIFAR parameters
(docs/robustness_generation.md).

* :mod:`~noisy.corruption.corruptions`: the 19 corruptions at 5 severities (CIFAR-10-C);
* :mod:`~noisy.corruption.perturbations`: the 10 perturbation sequences (CIFAR-10-P);
* :mod:`~noisy.corruption.image_filters`: the batched image operations both use.

It makes test images and scores nothing: reading the sets and scoring a model on them is
the method's (:mod:`noisy.method.robustness`, :mod:`noisy.method.evaluation`), which takes
the corruptions' names from here. Besides itself it uses only :mod:`noisy.errors` and
:mod:`noisy.files`.
"""
