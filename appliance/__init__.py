"""hotline: call-queue appliance for the shared digital hotline."""

__version__ = "0.1.0"
