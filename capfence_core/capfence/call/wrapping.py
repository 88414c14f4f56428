"""Gate a framework object while keeping its type: copy it, swap in a cached subclass.

``gated_class(base, methods)`` builds (once per base class and tag) a subclass
of ``base`` whose named methods are replaced by ``factory(original)``. It keeps
the base's name, qualname and module, so schemas, reprs and ``isinstance``
checks are unchanged. ``gate_object(obj, cls, binding)`` shallow-copies
``obj``, sets the copy's class and attaches the binding; the caller's object
is never touched. Framework copies of the gated object (``model_copy``,
``copy.copy``) stay gated because the class and the binding carry over.

The binding is stored under a dunder name with ``object.__setattr__`` so
pydantic models neither validate it nor treat it as a field or private attr.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from capfence.call.gate import Binding
from capfence.errors import CapFenceError

T = TypeVar("T")
BINDING_ATTR = "__capfence_binding__"
ORIGINAL_ATTR = "__capfence_original__"
MethodFactory = Callable[[Callable[..., Any]], Callable[..., Any]]

_CACHE: dict[tuple[type, str], type] = {}
_LOCK = threading.Lock()


def gated_class(base: type, methods: Mapping[str, MethodFactory], *, tag: str) -> type:
    """The cached subclass of ``base`` with ``methods`` replaced (missing names are skipped)."""
    with _LOCK:
        cls = _CACHE.get((base, tag))
        if cls is None:
            namespace: dict[str, Any] = {
                name: factory(getattr(base, name)) for name, factory in methods.items() if hasattr(base, name)
            }
            namespace.update(__module__=base.__module__, __qualname__=base.__qualname__, __doc__=base.__doc__)
            namespace[ORIGINAL_ATTR] = base
            cls = type(base)(base.__name__, (base,), namespace)
            _CACHE[(base, tag)] = cls
        return cls


def gate_object(obj: T, cls: type, binding: Binding, copier: Callable[[T], T] = copy.copy) -> T:
    """A copy of ``obj`` whose class is ``cls`` and which carries ``binding``."""
    gated = copier(obj)
    gated.__class__ = cls
    object.__setattr__(gated, BINDING_ATTR, binding)
    return gated


def binding_of(obj: object) -> Binding:
    """The binding of a gated object; raises if there is none (callers treat that as a deny)."""
    binding = obj.__dict__.get(BINDING_ATTR) if hasattr(obj, "__dict__") else None
    if not isinstance(binding, Binding):
        raise CapFenceError(f"{type(obj).__qualname__} object has no CapFence binding")
    return binding


def is_gated(obj: object) -> bool:
    return ORIGINAL_ATTR in type(obj).__dict__
