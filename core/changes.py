"""What an operation changed, so that every front end refreshes exactly that.

After Anki's `OpChanges`: each service function that writes returns, beside its
own result, an `OpChanges` naming what it touched. A front end never refreshes
a view by hand after an edit; it hands the `OpChanges` to every open view
(Anki's `operation_did_execute`), and each view decides from the flags whether
it has anything to reload. `identities` narrows a change to some rows where
the operation knows which; an empty set with a flag up means "all of them".
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields


@dataclass(frozen=True, slots=True)
class OpChanges:
    identities: frozenset[str] = field(default_factory=frozenset)  # keys whose rows changed, when known
    inventory: bool = False  # identities were added, removed or re-read (an import, a pull)
    decisions: bool = False  # a decision or agent spec changed
    graph: bool = False  # nodes or edges changed (an import, a manual dependency)
    recommendations: bool = False  # what `recommend` says may differ (imports, policy)
    policy: bool = False  # the project's recommendation policy changed
    audit: bool = False  # the audit log grew
    plan: bool = False  # a plan built before this is out of date
    project: bool = False  # another project was opened, or this one closed

    def __or__(self, other: OpChanges) -> OpChanges:
        flags = {f.name: getattr(self, f.name) or getattr(other, f.name)
                 for f in fields(self) if f.name != "identities"}
        return OpChanges(identities=self.identities | other.identities, **flags)

    def __bool__(self) -> bool:
        return bool(self.identities) or any(getattr(self, f.name) for f in fields(self) if f.name != "identities")

    @classmethod
    def everything(cls) -> OpChanges:
        """A new project, a reload: every view starts over."""
        return cls(inventory=True, decisions=True, graph=True, recommendations=True, policy=True, audit=True,
                   plan=True, project=True)


NOTHING = OpChanges()
