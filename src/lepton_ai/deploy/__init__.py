"""Package a saved model to run elsewhere: a Dockerfile and a Kubernetes manifest (``lepton deploy``)."""

from .bundle import DEPLOY_MANIFEST, DeployOptions, write_deployment
from .resources import Resources, estimate_resources

__all__ = ["DEPLOY_MANIFEST", "DeployOptions", "Resources", "estimate_resources", "write_deployment"]
