"""Money chains (资金链 / 钱骡链), found as the flows arrive: time-respecting paths of transfers in
which each account passes on most of what it received, a few per cent shaved at each hop.

The state is bounded per account: the inbound transfers of at least `min_amount` from the last
`hop_seconds`, each with the path that brought it (the out-legs from its origin). An onward flow
(to a person, or off the platform to a card) is set against the account's open inbounds oldest
first; when it completes one — at least `1 - max_decay` of it sent on within the hop time — the
account is a pass-through and the path grows by this flow, which a person payee's inbound then
carries. Transfers through the account's own products (the fund, securities cash) are not flows
out, and the time money sits in them does not count against the hop: money parked in the fund over
a weekend and redeemed days later still completes it. Once `min_hops`
accounts passed the money on, one alert names every account; a longer chain or another branch of
the same origin updates that alert (same id) rather than raising a new one.

Chains cross parties, so they are followed by an unpartitioned monitor only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from puhui.regtech.alerts import Alert, alert_id
from puhui.regtech.rules import MuleChain, Rule
from puhui.regtech.windows import DEVICE, OWN_PRODUCT, PERSON, Flow

SECOND = 1_000_000
MAX_OPEN = 16  # inbounds kept per account: an account receiving more at once is a hub, not a chain link
MAX_PATH = 24


@dataclass
class Inbound:
    path: tuple[Flow, ...]  # the out-legs that brought the money here, from its origin
    amount: int
    at: int  # when it arrived, moved on by the time it spent in the party's own products
    sent: int = 0
    done: bool = False
    parked: int | None = None  # since when it sits in the party's own product (the fund)


@dataclass
class Found:
    accounts: list[str]
    flows: dict[tuple[int, int], Flow]
    last_at: int


@dataclass
class Chains:
    rule: Rule
    open: dict[str, list[Inbound]] = field(default_factory=dict)
    handover: dict[int, tuple[Flow, ...]] = field(default_factory=dict)  # event position → path for its payee
    found: dict[str, Found] = field(default_factory=dict)  # chain key → what its alert names so far
    floor: int = 0  # min_amount in fen

    params: MuleChain = field(init=False)

    def __post_init__(self) -> None:
        self.use(self.rule)

    def use(self, rule: Rule) -> None:
        """Follow by `rule` from now on (a new version of it), keeping what is open."""
        assert isinstance(rule.params, MuleChain)
        self.rule, self.params, self.floor = rule, rule.params, int(rule.params.min_amount * 100)

    def see(self, flow: Flow) -> Alert | None:
        """Follow one flow (after the party's earlier ones); the chain alert it raises or grows."""
        p, floor = self.params, self.floor
        if flow.party_kind == DEVICE:
            return None
        if flow.direction == "in":
            if flow.counterparty_kind == OWN_PRODUCT and flow.party in self.open:
                self._park(flow)
            if not (flow.amount >= floor and flow.third_party_in):
                return None
            mirrored = flow._replace(party=flow.counterparty or "", counterparty=flow.party, direction="out")
            path = self.handover.pop(flow.position, (mirrored,))
            inbounds = self.open.setdefault(flow.party, [])
            inbounds.append(Inbound(path, flow.amount, flow.at))
            if len(inbounds) > MAX_OPEN:
                del inbounds[0]
            return None
        if not flow.onward:
            if flow.counterparty_kind == OWN_PRODUCT and flow.party in self.open:
                self._park(flow)
            return None
        path = self._pass_on(flow) if flow.party in self.open else None
        if flow.counterparty_kind == PERSON and flow.amount >= floor:
            self.handover[flow.position] = path or (flow,)
        if path is None or len(path) - 1 < p.min_hops:
            return None
        return self._alert(path, flow)

    def _park(self, flow: Flow) -> None:
        """Days in the party's own product do not count against the hop: the clock stops when the money
        goes into the fund and runs again when it comes back."""
        for inbound in self.open[flow.party]:
            if inbound.done:
                continue
            if flow.direction == "out" and inbound.parked is None:
                inbound.parked = flow.at
            elif flow.direction == "in" and inbound.parked is not None:
                inbound.at += flow.at - inbound.parked
                inbound.parked = None

    def _pass_on(self, flow: Flow) -> tuple[Flow, ...] | None:
        """Set `flow` against the party's open inbounds; the grown path of the one it completes."""
        p = self.params
        inbounds = [i for i in self.open.get(flow.party, ()) if flow.at - i.at <= p.hop_seconds * SECOND]
        if not inbounds:
            self.open.pop(flow.party, None)
            return None
        self.open[flow.party] = inbounds
        keep = int(p.max_decay * 1_000_000)
        whole = [  # an inbound this flow alone passes on (the usual hop): it takes the flow, not the oldest
            i
            for i in inbounds
            if not i.done
            and (i.sent + flow.amount) * 1_000_000 >= i.amount * (1_000_000 - keep)
            and i.sent + flow.amount <= i.amount
        ]
        if whole:
            inbounds = [min(whole, key=lambda i: i.amount - i.sent - flow.amount), *inbounds]
        left, completed = flow.amount, None
        for inbound in inbounds:
            take = min(left, inbound.amount - inbound.sent)
            if take <= 0:
                continue
            inbound.sent += take
            left -= take
            if not inbound.done and inbound.sent * 1_000_000 >= inbound.amount * (1_000_000 - keep):
                inbound.done, completed = True, completed or inbound
            if left == 0:
                break
        self.open[flow.party] = [i for i in self.open[flow.party] if i.sent < i.amount]
        if completed is None:
            return None
        return (completed.path + (flow,))[-MAX_PATH:]

    def _alert(self, path: tuple[Flow, ...], last: Flow) -> Alert | None:
        origin = path[0]
        key = f"chain:{origin.ref}"
        found = self.found.setdefault(key, Found([], {}, last.at))
        accounts = [f.party for f in path] + ([last.counterparty] if last.counterparty_kind == PERSON else [])
        fresh = [a for a in accounts if a is not None and a not in found.accounts]
        hops = {(f.position, f.leg): f for f in path if (f.position, f.leg) not in found.flows}
        if not fresh and not hops:
            return None
        found.accounts += fresh
        found.flows.update(hops)
        found.last_at = last.at
        flows = tuple(found.flows[k] for k in sorted(found.flows))
        return Alert(
            alert_id(self.rule.code, origin.party, key),
            self.rule.code,
            self.rule.version,
            self.rule.typology,
            origin.party,
            key,
            flows[0].at,
            last.at,
            flows,
            last.position,
            last.at,
            accounts=tuple(found.accounts),
        )

    def end_event(self) -> None:
        self.handover.clear()

    def forget_before(self, cutoff: int) -> None:
        """Drop accounts with nothing open since `cutoff` and chains that ended before it."""
        hop = self.params.hop_seconds * SECOND
        if len(self.open) > 50_000:
            self.open = {a: ins for a, ins in self.open.items() if ins and ins[-1].at >= cutoff - hop}
        if len(self.found) > 10_000:
            self.found = {k: f for k, f in self.found.items() if f.last_at >= cutoff}
