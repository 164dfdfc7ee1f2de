"""The resolved configuration of one run: one namespace per section, saved as ``config.json``.

``cfg.model`` holds what the model builder needs, ``cfg.loss`` the loss terms, and so on (sections
in ``config/schema.py``); ``cfg.dataset`` and ``cfg.class_names`` are fixed by the entry script.
A method's own settings (its record's ``settings``) sit in the section of their role in memory,
so each builder takes one section; ``config.json`` writes them apart, in a section named after
the method (``"aicl": {"embed_dim": 512, ...}``), after the run-wide sections.
Checkpoints carry :meth:`RunConfig.to_dict`, so ``--test`` can rebuild the model and the
post-processing of a run without the flags being typed again.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, Iterable, Mapping

from config.schema import SECTIONS, SETTINGS, own_settings, settings_for


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
        for key, value in _saved_values(saved, method, SECTIONS).items():
            flat.setdefault(key, value)
        for key in settings_for(method):
            flat.setdefault(key, None)
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
        """JSON-ready: {"dataset", "class_names", "<section>": {key: value} for the run-wide
        settings, "<method>": {key: value} for the method's own}."""
        method = self.run.method
        own = own_settings(method)
        out: dict[str, Any] = {"dataset": self.dataset, "class_names": list(self.class_names)}
        out.update({name: {k: v for k, v in vars(ns).items() if k not in own}
                    for name, ns in self.sections.items()})
        values = self.flat()
        out[method] = {key: values[key] for key in own}
        return out

    def override_from(self, saved: Mapping[str, Any], sections: Iterable[str]) -> list[str]:
        """Take ``sections`` of a saved :meth:`to_dict` (e.g. a checkpoint's), except the keys given
        on the command line; returns the keys whose value changed."""
        changed = []
        settings = settings_for(self.run.method)
        for key, value in _saved_values(saved, self.run.method, sections).items():
            section = self.sections[settings[key].section]
            if key not in self.given and getattr(section, key) != value:
                setattr(section, key, value)
                changed.append(key)
        return changed


def _saved_values(saved: Mapping[str, Any], method: str, sections: Iterable[str]
                  ) -> dict[str, Any]:
    """The values of a saved :meth:`RunConfig.to_dict` whose role section is in ``sections``:
    run-wide ones from their section, the method's own from its section (a config saved before
    the methods had sections of their own keeps them in the role sections: read there too)."""
    settings = settings_for(method)
    own = saved.get(method) if isinstance(saved.get(method), Mapping) else {}
    out: dict[str, Any] = {}
    for name in sections:
        for key, value in (saved.get(name) or {}).items():
            if key in settings and settings[key].section == name:
                out[key] = value
    for key, value in own.items():
        if key in settings and settings[key].section in sections:
            out[key] = value
    return out
