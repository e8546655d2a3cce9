"""Data Modeling Practices: the toolkit every notebook of the book imports.

Each practice (``ecommerce``, ``social``, ``streaming``, ``rideshare``) is a sub-package with the
same four modules: ``schema``, ``generate``, ``build`` and ``metrics``.
"""

__version__ = "0.1.0"
