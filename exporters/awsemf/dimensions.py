"""Which dimension sets each metric is extracted with.

Without metric declarations a point is extracted with one set holding all
its dimensions; with them, a metric is extracted only when a declaration
selects it (a name selector matches, and a label matcher if any are given),
with each declared set whose keys the point has. The rollup option adds the
single-key sets (and the empty set) on top, as in the Collector's awsemf.
Sets are sorted and deduplicated; sets over CloudWatch's 30 keys are left
out and reported, since CloudWatch would skip them without a word.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping

from collector import emf
from exporters.awsemf.config import AwsEmfConfig, MetricDeclaration

DimensionSets = tuple[tuple[str, ...], ...]


@dataclass(frozen=True, slots=True)
class Selection:
    sets: DimensionSets
    #: sets left out for having more than 30 keys
    oversized: int = 0


class _Declaration:
    def __init__(self, declaration: MetricDeclaration) -> None:
        self.selectors = [re.compile(s) for s in declaration.metric_name_selectors]
        self.matchers = [(m.label_names, m.separator, re.compile(m.regex)) for m in declaration.label_matchers]
        self.sets = [tuple(sorted(set(names))) for names in declaration.dimensions]

    def selects(self, name: str, dims: Mapping[str, str]) -> bool:
        if not any(s.search(name) for s in self.selectors):
            return False
        if not self.matchers:
            return True
        return any(
            all(n in dims for n in names) and regex.search(sep.join(dims[n] for n in names))
            for names, sep, regex in self.matchers
        )


class DimensionSelector:
    def __init__(self, config: AwsEmfConfig) -> None:
        self._declarations = [_Declaration(d) for d in config.metric_declarations]
        rollup = config.dimension_rollup_option
        self._single = rollup != "NoDimensionRollup"
        self._zero = rollup == "ZeroAndSingleDimensionRollup"

    def select(self, name: str, dims: Mapping[str, str]) -> Selection | None:
        """The dimension sets for metric ``name`` at a point with ``dims``; None when no declaration selects it."""
        if self._declarations:
            chosen = [s for d in self._declarations if d.selects(name, dims) for s in d.sets
                      if all(k in dims for k in s)]
            if not chosen and not any(d.selects(name, dims) for d in self._declarations):
                return None
        else:
            chosen = [tuple(sorted(dims))]
        if dims and self._zero:
            chosen.append(())
        if self._single:
            chosen.extend((k,) for k in sorted(dims))
        unique = tuple(dict.fromkeys(chosen))
        fitting = tuple(s for s in unique if len(s) <= emf.MAX_DIMENSIONS_PER_SET)
        return Selection(fitting, len(unique) - len(fitting))
