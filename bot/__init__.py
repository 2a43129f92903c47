"""alliance-bot core: the domain, storage, scheduling and services. Imports no platform library."""

__version__ = "0.1.0"
