"""The version of lepton-ai, in one place (the package and the model manifests read it), and the
installed versions of the libraries it runs on."""

__version__ = "0.1.0"


def installed_versions(names: tuple[str, ...]) -> dict[str, str]:
    """The installed version of each distribution in ``names`` ("not installed" where absent), read
    from package metadata: nothing is imported, so asking costs no torch import."""
    from importlib import metadata

    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions
