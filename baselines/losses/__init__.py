"""Reference loss functions (each cites its paper)."""
from baselines.losses.comp_sum import (
    comp_sum_loss,
    generalized_cross_entropy,
    logistic_loss,
    mean_absolute_error_loss,
    sum_exponential_loss,
)

__all__ = ["comp_sum_loss", "generalized_cross_entropy", "logistic_loss", "mean_absolute_error_loss",
           "sum_exponential_loss"]
