"""The globals that real TorchScript archives' pickles name, and nothing else.

Derived from archives written by torch.jit.save (torch 2.x: float, int8-quantized, lists and
dicts as attributes, nested modules) and from silero_vad.jit. torch's own TorchScript unpickler
resolves these names itself; a pickle naming anything else (os, builtins, importlib, runpy, ...)
is an attempt to run code at load time.
"""

from __future__ import annotations

from registry.formats.pickle_scan import Global
from registry.formats.torchscript_ops import PICKLE_GLOBALS, TORCHBIND_CLASSES

_STORAGE_KINDS = (
    "Double",
    "Float",
    "Half",
    "BFloat16",
    "Long",
    "Int",
    "Short",
    "Char",
    "Byte",
    "Bool",
    "ComplexFloat",
    "ComplexDouble",
    "QInt8",
    "QUInt8",
    "QInt32",
    "QUInt4x2",
    "QUInt2x4",
    "Float8_e4m3fn",
    "Float8_e5m2",
    "Float8_e4m3fnuz",
    "Float8_e5m2fnuz",
    "UInt16",
    "UInt32",
    "UInt64",
    "Bits8",
    "Bits16",
)

ALLOWED_GLOBALS = frozenset(
    {
        "collections.OrderedDict",
        "torch._utils._rebuild_tensor_v2",
        "torch._utils._rebuild_parameter",
        "torch._utils._rebuild_qtensor",
        "torch.jit._pickle.build_intlist",
        "torch.jit._pickle.build_floatlist",
        "torch.jit._pickle.build_boollist",
        "torch.jit._pickle.build_doublelist",
        "torch.jit._pickle.build_tensorlist",
        "torch.jit._pickle.build_tensor_from_id",
        "torch.jit._pickle.restore_type_tag",
        # Quantization schemes of quantized tensors (torch.ao.quantization, static and dynamic).
        "torch.per_tensor_affine",
        "torch.per_channel_affine",
        "torch.per_tensor_symmetric",
        "torch.per_channel_symmetric",
        "torch.per_channel_affine_float_qparams",
    }
    | {f"torch.{kind}Storage" for kind in _STORAGE_KINDS}
    # And whatever else the pickles of real archives name (derived with the operators).
    | PICKLE_GLOBALS
)


def is_allowed_global(found: Global) -> bool:
    # C++ classes (TorchBind) run their own __setstate__: only those real models use.
    if found.qualified.startswith("__torch__.torch.classes."):
        return found.qualified in TORCHBIND_CLASSES
    # Other classes under __torch__ are the archive's own, defined by its code/ folder (the
    # handler checks that the code defines each).
    if found.module == "__torch__" or found.module.startswith("__torch__."):
        return True
    return found.qualified in ALLOWED_GLOBALS
