"""The Inspect views, in the dock's order: the one place that lists them.

The Inspect dock builds one tab per entry, `learnscope --view NAME` takes its choices from
here, and so do the screenshot flags and the tests. Adding a view is its module plus one
`register_view` line below (or a call from a plugin or test); `cls` may be the class or a
"module:Class" string imported when the dock is built, so that reading the names (the CLI's
--help) imports neither Qt nor torch."""

from __future__ import annotations

import importlib
from dataclasses import dataclass


@dataclass(frozen=True)
class ViewEntry:
    name: str            # the --view NAME and the dock's key: "feature-maps"
    title: str           # shown in the dock's list: "Feature maps"
    cls: type | str      # an InspectView subclass, or "module:Class" imported lazily

    def load(self) -> type:
        """Return the view class (importing it if it was given as a string)."""
        if isinstance(self.cls, str):
            module, _, name = self.cls.partition(":")
            return getattr(importlib.import_module(module), name)
        return self.cls


VIEWS: dict[str, ViewEntry] = {}


def register_view(name: str, title: str, cls: type | str) -> ViewEntry:
    """Add a view at the end of the dock's list (or replace the one of that name in place)."""
    VIEWS[name] = entry = ViewEntry(name, title, cls)
    return entry


def unregister_view(name: str) -> None:
    VIEWS.pop(name, None)


register_view("filters", "Filters", "app.views.filters:FiltersView")
register_view("feature-maps", "Feature maps", "app.views.feature_maps:FeatureMapsView")
register_view("receptive-field", "Receptive field", "app.views.receptive_field:ReceptiveFieldView")
register_view("decision-boundary", "Decision boundary", "app.views.decision:DecisionView")
register_view("confusion", "Confusion", "app.views.confusion:ConfusionView")
register_view("batch", "Batch", "app.views.batch:BatchView")
register_view("health", "Layer health", "app.views.health:HealthView")
