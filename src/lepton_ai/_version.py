"""The version of lepton-ai, in one place (the package and the model manifests read it)."""

__version__ = "0.1.0"
