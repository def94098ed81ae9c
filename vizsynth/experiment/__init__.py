"""Domain-randomization experiments: generate variants, train a detector, measure on real images.

One module per stage: ``spec`` (the experiment YAML schema), ``realdata`` (real sets as COCO),
``data`` (one dataset per variant, via ``vizsynth.generate``), ``train`` (a torchvision detector),
``evaluate`` (pycocotools on real and synthetic sets), ``report`` (results.json, table, plots) and
``runner`` (the resumable loop over variants and repeats).

Importing this package does not import torch: the training stages import it when they run and
raise a VizsynthError with the install hint (``pip install "vizsynth[train]"``) where it is missing.
"""

from vizsynth.experiment.spec import ExperimentSpec, load_experiment

__all__ = ["ExperimentSpec", "load_experiment", "run_experiment"]


def run_experiment(*args, **kwargs):
    """See ``vizsynth.experiment.runner.run_experiment``."""
    from vizsynth.experiment.runner import run_experiment as run

    return run(*args, **kwargs)
