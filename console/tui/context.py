"""What every screen needs from the app: the store, the clock, who I am, the
policy set in force, and the state of the services beside the console.

One object, owned by the app and read by screens, so screens never reach into
the app's attributes and tests can build a console around any store.

Nothing here imports `policies` before the first frame: the overrides
(`console.overrides`) and who is on call (`services.oncall`) bring it in, and
both are first needed once the console is running.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from .model import HeaderInfo
from .services.clock import Clock
from .services.queue import Me, who_am_i
from .services.status import Services, header

if TYPE_CHECKING:
    from console.overrides import OverrideLog
    from console.store.store import Store
    from policies import PolicySet, Problem


@dataclass
class Context:
    store: Store
    clock: Clock
    actor: str
    policies: PolicySet | None = None
    policy_dir: Path | None = None
    problems: list[Problem] = field(default_factory=list)
    services: Services = field(default_factory=Services)
    readonly: bool = False
    me: Me = field(init=False)
    on_call: bool = field(init=False, default=False)
    region: str | None = field(init=False, default=None)
    _duty_checked: datetime | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.set_policies(self.policies, self.problems)

    @cached_property
    def overrides(self) -> OverrideLog:
        """Overrides made from consoles (ops): read in workers, the header uses the last
        look. Made on the UI thread when the services start (`SunrelayApp.first_rows_shown`)."""
        from console.overrides import OverrideLog

        return OverrideLog(self.store.engine)

    @property
    def policies_coming(self) -> bool:
        """No policy set yet, but a directory to read one from and no failed read:
        the app reads it once the first frame is on the terminal."""
        return self.policies is None and self.policy_dir is not None and not self.problems

    def set_policies(self, ps: PolicySet | None, problems: list[Problem]) -> None:
        self.policies = ps
        self.problems = problems
        self.me = who_am_i(self.actor, ps)
        self._duty_checked = None

    def recheck_duty(self) -> None:
        """Who is on call changed (an override): the header looks again at its next tick."""
        self._duty_checked = None

    def header(self) -> HeaderInfo:
        """The header's facts; who is on call is looked up once a minute."""
        now = self.clock.now()
        if self.policies is None:  # on call nowhere; nothing to import
            self.on_call, self.region = False, None
        elif self._duty_checked is None or abs(now - self._duty_checked) >= timedelta(minutes=1):
            from .services.oncall import my_duty

            self.on_call, self.region = my_duty(self.policies, self.me, now, self.overrides.shifts)
            self._duty_checked = now
        return header(self.store.site.name, self.region, self.me, self.on_call, now,
                      self.services, self.readonly)
