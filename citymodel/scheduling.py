"""The event handlers every model of the city shares: orders placed, jobs released, started, retried, finished
and delivered, makers closing.

:class:`EventHandling` is a mixin for a model with ``config``, ``keyed``,
``events`` (an :class:`~citymodel.events.EventQueue`), ``now``, ``orders``,
``trips``, ``accounts``, ``facilities``, ``designers``, ``products``,
``processes`` (the platform processes by name), ``demand`` and ``production``.
The model supplies only what differs between orchestrations — how a trip is
routed (``_delivery_leg``, ``_walk_out``, ``_walk_back``) and where a citizen's
state lives (``_skill_of``, ``_is_eligible``, ``_record_use``,
``_become_prosumer``, ``_maker_closed``) — and inherits every rule.
"""

from __future__ import annotations

from citymodel.adoption import satisfaction
from citymodel.events import DELIVER, JOB_DONE, JOB_RELEASE, PLATFORM_ACCEPT, POOL_OPEN, SELF_FAB_ARRIVE
from citymodel.fabrication import attempt_fails, failure_probability
from citymodel.makers import job_margin
from citymodel.policy import subsidy_applies
from citymodel.vocabulary import MINUTES_PER_DAY, PLATFORM, VEHICLE_MODES

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

    # ------------------------------------------------------------------ platform orders
    def _place_platform_order(self, order_id: int, facility_id: int, price: float) -> None:
        """The order goes to the facility whose offer the citizen took, at the offered price: it enters the
        facility's order book until its release and is accepted after the process's quote time."""
        facility = self.facilities[facility_id]
        self.orders.assign(order_id, facility, self.config.platform.delivery_mode, price=price,
                           royalty=price * self.config.platform.royalty_share)
        facility.open_orders += 1
        process = self._process_of(order_id)
        accept = self.orders.created_of(order_id) + process.quote_min
        self._book_job(order_id, accept + process.booking_min)
        self.events.push(accept, PLATFORM_ACCEPT, order_id)

    def _process_of(self, order_id: int):
        """The platform process (:class:`~citymodel.platform.Process`) of an order's product."""
        return self.processes[self.products.process[self.orders.product_of(order_id)]]

    def _on_platform_accept(self, order_id: int) -> None:
        """The quote is accepted: the job joins the facility's queue after the maker's booking lead."""
        if self.orders.machine_of(order_id) == self.config.adoption.maker_machine:
            self.demand.append((self.now, self.orders.citizen_of(order_id)))
        self.events.push(self.now + self._process_of(order_id).booking_min, JOB_RELEASE, order_id)

    def _deliver_platform(self, order_id: int, facility) -> None:
        """A platform job is done: paid now; delivered by the courier's next round after the dispatch wait."""
        mode = self.config.platform.delivery_mode
        citizen = self.orders.citizen_of(order_id)
        depart = self.now + self._process_of(order_id).dispatch_min
        time_s, dist_m, origin, dest = self._delivery_leg(facility, citizen)
        self.trips.add(facility.facility_id, facility.kind, "delivery", mode, origin, dest, depart,
                       depart + time_s / 60.0, time_s, dist_m, order_id)
        self.orders.set_trip(order_id, origin, dest, time_s, dist_m, dist_m / 1000.0 if mode in VEHICLE_MODES else 0.0)
        self.accounts.platform_order(self.now, order_id, citizen, facility,
                                     self.designers[self.orders.designer_of(order_id)],
                                     self.orders.price_of(order_id), self.orders.royalty_of(order_id))
        facility.record_margin(self.now, job_margin(facility, self.orders, order_id, self.config))
        self.events.push(depart + time_s / 60.0, DELIVER, order_id)

    # ------------------------------------------------------------------ self-fabrication
    def _start_self_fabrication(self, order_id: int, citizen: int, workshop, depart: float, arrive: float) -> None:
        """The citizen walks to the workshop to arrive when the job is expected to start."""
        out_s, out_m, home = self._walk_out(workshop, citizen)
        self.trips.add(citizen, "citizen", "self_fabrication", "walk", home, workshop.nodes["walk"], depart, arrive,
                       out_s, out_m, order_id)
        self.orders.assign(order_id, workshop, "walk")
        self.events.push(arrive, SELF_FAB_ARRIVE, order_id)

    def _finish_self_fabrication(self, order_id: int, workshop, success: bool) -> None:
        """The item is made (or given up after the last failed attempt): the citizen pays and walks home."""
        citizen = self.orders.citizen_of(order_id)
        attempts = self.orders.attempts_of(order_id)
        eligible = self._is_eligible(citizen) and subsidy_applies(workshop.kind, self.orders.machine_of(order_id),
                                                                  self.config.policy)
        paid, subsidy = self.accounts.self_fabrication(
            self.now, order_id, citizen, workshop, attempts * self.orders.machine_minutes(order_id) / 60.0,
            attempts * self.orders.material_of(order_id), eligible)
        self.orders.set_money(order_id, price=paid, subsidy=subsidy)
        back_s, back_m, home = self._walk_back(workshop, citizen)
        self.trips.add(citizen, "citizen", "return_home", "walk", workshop.nodes["walk"], home, self.now,
                       self.now + back_s / 60.0, back_s, back_m, order_id)
        self.orders.set_trip(order_id, workshop.nodes["walk"], home, back_s, back_m, 0.0)
        if success:
            self._become_prosumer(citizen)
            self.events.push(self.now + back_s / 60.0, DELIVER, order_id)
        else:
            self.orders.cancel(order_id, self.now)
            self._record_use(citizen, 0.0, self.now)

    # ------------------------------------------------------------------ makers
    def _close_maker(self, maker) -> None:
        """A maker making losses sells the machine and stops trading."""
        maker.closed_min = self.now
        self.production.close(maker, self.now)
        self.accounts.resale(self.now, maker.owner)
        self._maker_closed(maker)

    def _prune_demand(self) -> None:
        """Forget platform orders older than the makers' demand window (``adoption.demand_window_days``)."""
        window_start = self.now - self.config.adoption.demand_window_days * MINUTES_PER_DAY
        while self.demand and self.demand[0][0] < window_start:
            self.demand.popleft()

    # ------------------------------------------------------------------ jobs
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
