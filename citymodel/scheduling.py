"""The event handlers every model of the city shares: jobs released, started, retried, finished and delivered.

:class:`EventHandling` is a mixin for a model with ``config``, ``keyed``,
``events`` (an :class:`~citymodel.events.EventQueue`), ``now``, ``orders``,
``facilities`` and ``production``. The model supplies what differs between
orchestrations — ``_on_platform_accept``, ``_deliver_platform`` and
``_finish_self_fabrication`` (routing the trips), ``_skill_of`` and
``_record_use`` (where a citizen's state lives) — and inherits the rest.
"""

from __future__ import annotations

from citymodel.adoption import satisfaction
from citymodel.events import DELIVER, JOB_DONE, JOB_RELEASE, PLATFORM_ACCEPT, POOL_OPEN, SELF_FAB_ARRIVE
from citymodel.fabrication import attempt_fails, failure_probability
from citymodel.vocabulary import PLATFORM

_HANDLERS = {PLATFORM_ACCEPT: "_on_platform_accept", SELF_FAB_ARRIVE: "_on_self_fab_arrive",
             JOB_DONE: "_on_job_done", DELIVER: "_on_deliver", POOL_OPEN: "_on_pool_open",
             JOB_RELEASE: "_on_job_release"}


class EventHandling:
    """Mixin: drain the event queue up to a time, each event handled at its exact minute."""

    _dispatch: dict = {}

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        cls._dispatch = {kind: getattr(cls, name) for kind, name in _HANDLERS.items() if hasattr(cls, name)}

    def process_events(self, end_min: float) -> None:
        """Handle every event before ``end_min`` in time order (``now`` moves to each event's time)."""
        dispatch = self._dispatch
        for time_min, kind, payload in self.events.pop_until(end_min):
            self.now = time_min
            dispatch[kind](self, payload)

    def _submit_job(self, order_id: int, platform: bool) -> None:
        facility = self.facilities[self.orders.facility_of(order_id)]
        self.production.submit(facility, self.orders.machine_of(order_id), order_id,
                               self.orders.machine_minutes(order_id), platform, self.now)

    def _on_self_fab_arrive(self, order_id: int) -> None:
        self._submit_job(order_id, platform=False)

    def _book_job(self, order_id: int, release_min: float) -> None:
        """A platform order enters its facility's order book (its stated machine time) until ``release_min``."""
        facility = self.facilities[self.orders.facility_of(order_id)]
        self.production.book(facility, self.orders.machine_of(order_id), order_id, release_min,
                             self.orders.quote_hours(order_id) * 60.0)

    def _on_job_release(self, order_id: int) -> None:
        """A platform job's booking lead is over: it leaves the order book and joins the facility's queue."""
        facility = self.facilities[self.orders.facility_of(order_id)]
        self.production.release(facility, self.orders.machine_of(order_id), order_id,
                                self.orders.machine_minutes(order_id), self.now)

    def _on_pool_open(self, payload: tuple[int, str]) -> None:
        self.production.wake(self.facilities[payload[0]], payload[1], self.now)

    def _on_job_done(self, payload: tuple[int, str, int]) -> None:
        facility_id, machine, batch_id = payload
        facility = self.facilities[facility_id]
        batch = self.production.finish(facility, machine, batch_id, self.now)
        for order_id in batch.order_ids:
            if self.orders.channel_of(order_id) == PLATFORM:
                self.orders.set_completed(order_id, self.now)
                facility.open_orders -= 1
                self._deliver_platform(order_id, facility)
            else:
                self._attempt_done(order_id, facility)
        self.production.start(facility, machine, self.now)

    def _attempt_done(self, order_id: int, workshop) -> None:
        """A self-fabrication attempt ended: it failed (and is tried again, or given up) or the item is made."""
        citizen = self.orders.citizen_of(order_id)
        attempt = self.orders.attempts_of(order_id)
        fab = self.config.fabrication
        p_fail = float(failure_probability(self._skill_of(citizen), fab))
        if attempt_fails(self.keyed, order_id, attempt, p_fail):
            if attempt < fab.max_attempts:
                self._submit_job(order_id, platform=False)
            else:
                self._finish_self_fabrication(order_id, workshop, success=False)
            return
        self.orders.set_completed(order_id, self.now)
        self._finish_self_fabrication(order_id, workshop, success=True)

    def _on_deliver(self, order_id: int) -> None:
        """The goods reach the citizen; a DM order leaves its mark on the citizen's experience."""
        orders = self.orders
        orders.set_delivered(order_id, self.now)
        s = satisfaction(self.now, orders.quoted_ready_of(order_id), orders.price_of(order_id),
                         orders.quoted_price_of(order_id), max(orders.attempts_of(order_id) - 1, 0),
                         self.config.adoption)
        self._record_use(orders.citizen_of(order_id), s, self.now)
