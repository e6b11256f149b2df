"""Prometheus's relabelling (which Promtail runs on its discovered targets), for the
offline checks: what labels, and which `__path__`, a discovered pod ends up with.

The actions the stack's configs use (replace, keep, drop, labelmap, labeldrop, labelkeep),
with Prometheus's semantics: source labels joined by the separator, the regex anchored at
both ends, `$1`/`${1}`/`$name` expanded as Go's regexp.Expand does (`$1_` names the group
"1_", which is why configs write `${1}_`), and a replace that yields "" deleting its label.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

_GROUP = re.compile(r"\$\{(\w+)\}|\$(\w+)|\$\$")


def _expand(template: str, match: re.Match[str]) -> str:
    def one(ref: re.Match[str]) -> str:
        if ref.group(0) == "$$":
            return "$"
        name = ref.group(1) or ref.group(2)
        try:
            value = match.group(int(name)) if name.isdigit() else match.group(name)
        except IndexError:  # Go expands a group the regex lacks to nothing
            return ""
        return value or ""

    return _GROUP.sub(one, template)


def relabel(labels: Mapping[str, str], rules: Sequence[Mapping[str, Any]]) -> dict[str, str] | None:
    """The labels after `rules`, or None if a rule dropped the target."""
    out = dict(labels)
    for rule in rules:
        action = rule.get("action", "replace").lower()
        regex = re.compile(f"^(?:{rule.get('regex', '(.*)')})$")
        value = rule.get("separator", ";").join(out.get(name, "") for name in rule.get("source_labels", []))
        if action == "replace":
            match = regex.match(value)
            if match is None:
                continue
            target = _expand(rule["target_label"], match)
            result = _expand(str(rule.get("replacement", "$1")), match)
            if result:
                out[target] = result
            else:
                out.pop(target, None)
        elif action in {"keep", "drop"}:
            if (regex.match(value) is not None) != (action == "keep"):
                return None
        elif action == "labelmap":
            for name, label_value in list(out.items()):
                match = regex.match(name)
                if match:
                    out[_expand(str(rule.get("replacement", "$1")), match)] = label_value
        elif action in {"labeldrop", "labelkeep"}:
            out = {k: v for k, v in out.items() if (regex.match(k) is not None) == (action == "labelkeep")}
        else:
            raise ValueError(f"relabel action {action!r} is not modelled here")
    return out
