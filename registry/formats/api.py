"""Everything a format plugin needs, from one module.

A plugin is a class that takes no argument and implements FormatHandler, registered under the
`modelreg.formats` entry-point group (ENTRY_POINT_GROUP) of its package:

    [project.entry-points."modelreg.formats"]
    npy = "npy_format:NpyHandler"

It recognizes its files by their first bytes (`sniff`) and describes a file as a ModelInfo of
TensorSpecs (`inspect`), raising FormatError with a stable finding code for a file that is not a
valid model of its format. It may also declare what the sandbox imports ahead (`preload`) and
take the registry's limits once in the sandbox (`configure(limits: SandboxLimits)`); a plugin
without them works as before.
"""

from registry.errors import FormatError
from registry.formats import ENTRY_POINT_GROUP
from registry.formats.base import FormatHandler, ModelInfo
from registry.sandbox.limits import SandboxLimits
from registry.tensors import UNSTATED_DTYPE, Dim, TensorSpec

__all__ = [
    "ENTRY_POINT_GROUP",
    "UNSTATED_DTYPE",
    "Dim",
    "FormatError",
    "FormatHandler",
    "ModelInfo",
    "SandboxLimits",
    "TensorSpec",
]
