"""claimbench's engine: claims, contracts, the runner, the results store, the report, the CLI, the pytest plugin."""
from harness.context import Context
from harness.model import Claim, Measurement, Reference
from harness.registry import all_claims, claim, select

__version__ = "0.1.0"
__all__ = ["Claim", "Context", "Measurement", "Reference", "all_claims", "claim", "select", "__version__"]
