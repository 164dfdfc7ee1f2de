"""The resolved configuration of one run: one namespace per section, saved as ``config.json``.

``cfg.model`` holds what the model builder needs, ``cfg.loss`` the loss terms, and so on (sections
in ``config/schema.py``); ``cfg.dataset`` and ``cfg.class_names`` are fixed by the entry script.
Checkpoints carry :meth:`RunConfig.to_dict`, so ``--test`` can rebuild the model and the
post-processing of a run without the flags being typed again.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, Iterable, Mapping

from config.schema import SECTIONS, SETTINGS, settings_for


@dataclass
class RunConfig:
    """Sections of settings (attribute access: ``cfg.optimizer.lr``).

    ``given``: the keys set explicitly on the command line (they win over a checkpoint's config).
    """

    dataset: str
    class_names: list[str]
    sections: dict[str, SimpleNamespace]
    given: set[str] = field(default_factory=set)

    @classmethod
    def from_flat(cls, values: Mapping[str, Any], given: Iterable[str] = ()) -> "RunConfig":
        """From a flat mapping of every setting of the run's method (a parsed namespace's
        ``vars``; other keys are ignored)."""
        sections = {name: SimpleNamespace() for name in SECTIONS}
        for key, setting in settings_for(values["method"]).items():
            setattr(sections[setting.section], key, values[key])
        return cls(dataset=values["dataset"], class_names=list(values["class_names"]),
                   sections=sections, given=set(given))

    @classmethod
    def from_dict(cls, saved: Mapping[str, Any]) -> "RunConfig":
        """Inverse of :meth:`to_dict`; keys unknown to this version are ignored, missing ones get
        None (a config saved by an older version; a config saved before the methods declared
        their own settings holds every method's, of which the run's method's are taken)."""
        method = (saved.get("run") or {}).get("method") or SETTINGS["method"].default
        flat: dict[str, Any] = {"dataset": saved["dataset"], "class_names": saved["class_names"],
                                "method": method}
        for key, setting in settings_for(method).items():
            flat.setdefault(key, (saved.get(setting.section) or {}).get(key))
        return cls.from_flat(flat)

    def __getattr__(self, name: str) -> SimpleNamespace:
        sections = self.__dict__.get("sections", {})
        if name in sections:
            return sections[name]
        raise AttributeError(name)

    def flat(self) -> dict[str, Any]:
        """Every setting in one flat dict (plus dataset and class_names)."""
        values: dict[str, Any] = {"dataset": self.dataset, "class_names": list(self.class_names)}
        for section in self.sections.values():
            values.update(vars(section))
        return values

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: {"dataset", "class_names", "<section>": {key: value}}."""
        out: dict[str, Any] = {"dataset": self.dataset, "class_names": list(self.class_names)}
        out.update({name: dict(vars(ns)) for name, ns in self.sections.items()})
        return out

    def override_from(self, saved: Mapping[str, Any], sections: Iterable[str]) -> list[str]:
        """Take ``sections`` of a saved :meth:`to_dict` (e.g. a checkpoint's), except the keys given
        on the command line; returns the keys whose value changed."""
        changed = []
        for name in sections:
            for key, value in (saved.get(name) or {}).items():
                if hasattr(self.sections[name], key) and key not in self.given and \
                        getattr(self.sections[name], key) != value:
                    setattr(self.sections[name], key, value)
                    changed.append(key)
        return changed
