"""Reproducible studies, each a module with a ``run(...)`` Python API and a CLI subcommand.

- :mod:`netfit.experiments.esl`: ESL Table 11.1, Net-1 … Net-5 on the zip-code
  digits, paired draws, epoch curves (``netfit esl``);
- :mod:`netfit.experiments.esl_curves`: their learning curves against the
  training-set size (``netfit esl-curves``);
- :mod:`netfit.experiments.esl_search`: how each net's recipe
  (:mod:`netfit.experiments.esl_recipes`) was chosen on zip.train (``netfit esl-search``).
- :mod:`netfit.experiments.lecun1989`: LeCun et al. 1989's net on the same digits,
  the paper's recipe and a modern one (``netfit lecun1989``);
- :mod:`netfit.experiments.zip_resnet`: a small residual net (a graph) on the same
  digits, its recipe chosen on zip.train alone (``netfit zip-resnet``).

Every experiment module offers ``add_parser(subparsers)``, which adds its
subcommand to the ``netfit`` command with ``set_defaults(func=...)``;
``func(args)`` returns the exit code.
"""
from . import esl, esl_curves, esl_search, lecun1989, zip_resnet

#: Experiment modules by subcommand name.
EXPERIMENTS = {"esl": esl, "esl-curves": esl_curves, "esl-search": esl_search, "lecun1989": lecun1989,
               "zip-resnet": zip_resnet}

__all__ = ["esl", "esl_curves", "esl_search", "lecun1989", "zip_resnet", "EXPERIMENTS", "add_parsers"]


def add_parsers(subparsers):
    """Add every experiment's subcommand to an argparse ``subparsers`` object."""
    for module in EXPERIMENTS.values():
        module.add_parser(subparsers)
