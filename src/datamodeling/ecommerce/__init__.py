"""The e-commerce practice: an online and high-street shop, from requirements to metrics."""

from datamodeling.registry import Practice

from .build import build

PRACTICE = Practice(name="ecommerce", title="E-commerce platform", package=__name__)

__all__ = ["PRACTICE", "build"]
