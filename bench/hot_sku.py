"""A hot SKU beyond one DynamoDB partition's 1,000 write units per second: a simulation.

See docs/hot-sku.md for the design. The simulation runs in virtual time: reservations
arrive at a fixed rate, each partition (one stock shard item) accepts at most 1,000 write
units in any second (a token bucket refilled continuously, as DynamoDB's adaptive
capacity does per partition), and a reservation is a conditional decrement of one shard
(``available >= quantity``) costing two write units (it is a transaction item). A
throttled or empty shard sends the request to the next shard; a request that finds every
shard empty is refused (out of stock). No real clock, no I/O: the figures are repeatable.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field

PARTITION_WCU_PER_S = 1000.0
WCU_PER_RESERVATION = 2.0


@dataclass
class Shard:
    """One stock item ``STOCK#<sku>#S<k>`` with its own partition and ceiling."""

    available: int
    tokens: float = PARTITION_WCU_PER_S
    last: float = 0.0
    writes: int = 0

    def try_reserve(self, quantity: int, now: float) -> str:
        """``ok``, ``throttled`` or ``empty``: a conditional write on this shard."""
        self.tokens = min(
            PARTITION_WCU_PER_S, self.tokens + (now - self.last) * PARTITION_WCU_PER_S
        )
        self.last = now
        if self.tokens < WCU_PER_RESERVATION:
            return "throttled"
        self.tokens -= WCU_PER_RESERVATION
        self.writes += 1
        if self.available < quantity:  # the condition fails: nothing written
            return "empty"
        self.available -= quantity
        return "ok"


@dataclass
class Outcome:
    """What one simulated run produced."""

    shards: int
    offered_per_s: float
    seconds: float
    stock: int
    reserved: int = 0
    refused_out_of_stock: int = 0
    gave_up_throttled: int = 0
    attempts: int = 0
    per_shard_peak_wcu: list[float] = field(default_factory=list)

    @property
    def reservations_per_s(self) -> float:
        """Successful reservations per second of virtual time."""
        return self.reserved / self.seconds

    @property
    def oversold(self) -> int:
        """Units promised beyond the stock (must be 0)."""
        return max(0, self.reserved - self.stock)


def simulate(
    shards: int, offered_per_s: float, seconds: float, stock: int, seed: int = 7
) -> Outcome:
    """Offer ``offered_per_s`` one-unit reservations for ``seconds`` against ``stock``
    units spread evenly over ``shards`` items (the ceiling per shard is its share)."""
    rng = random.Random(seed)
    items = [
        Shard(available=stock // shards + (1 if k < stock % shards else 0)) for k in range(shards)
    ]
    outcome = Outcome(shards=shards, offered_per_s=offered_per_s, seconds=seconds, stock=stock)
    total = int(offered_per_s * seconds)
    for n in range(total):
        now = n / offered_per_s
        start = rng.randrange(shards)
        result = "empty"
        for step in range(shards):
            outcome.attempts += 1
            result = items[(start + step) % shards].try_reserve(1, now)
            if result == "ok":
                outcome.reserved += 1
                break
        else:
            if result == "throttled":
                outcome.gave_up_throttled += 1
            else:
                outcome.refused_out_of_stock += 1
    outcome.per_shard_peak_wcu = [
        round(item.writes * WCU_PER_RESERVATION / seconds, 1) for item in items
    ]
    assert sum(item.available for item in items) + outcome.reserved == stock  # nothing lost
    return outcome


def main() -> None:
    """Print the comparison: one item against sharded items at 1,000 reservations/s, then
    a sell-out (more demand than stock) to show nothing is oversold."""
    rows = []
    for shards in (1, 2, 4, 8):
        result = simulate(shards=shards, offered_per_s=1000, seconds=10, stock=12_000)
        rows.append(result)
        print(_line("sustained", result))
    sell_out = simulate(shards=4, offered_per_s=1000, seconds=10, stock=5_000)
    print(_line("sell-out", sell_out))
    best = rows[2]
    print(
        json.dumps(
            {
                "hot_sku_sim_shards": best.shards,
                "hot_sku_sim_reservations_per_s": round(best.reservations_per_s, 1),
                "hot_sku_sim_oversold": best.oversold + sell_out.oversold,
                "hot_sku_sim_single_item_reservations_per_s": round(rows[0].reservations_per_s, 1),
            }
        )
    )


def _line(label: str, result: Outcome) -> str:
    return (
        f"{label:<9} shards={result.shards:>2} reserved/s={result.reservations_per_s:7.1f} "
        f"throttled={result.gave_up_throttled:>5} out_of_stock={result.refused_out_of_stock:>5} "
        f"oversold={result.oversold} WCU/s per shard={result.per_shard_peak_wcu}"
    )


if __name__ == "__main__":
    main()
