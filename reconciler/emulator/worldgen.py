"""Generate large emulator worlds (and matching customer manifests) for benchmarks.

``python -m reconciler.emulator.worldgen --customers 5000 --subscriptions-per-customer 10
--out world.json --manifests bench-manifests/`` writes a seed (JSON, or YAML by suffix) with
the demo world's three partner tenants and apps, customers alternating between the ``de`` and
``fr`` sources, a deterministic mix of legacy, new-commerce and Azure subscriptions, and, with
``--manifests``, one manifest file per customer plus consolidation.yaml and offers.yaml in the
format of manifests/ (docs/manifests.md). Deterministic for a given ``--seed``. It must not
import anything from reconciler outside the emulator package.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from reconciler.emulator.seeds import SEED_FORMAT, read_seed

# (offer id, manifest offer name, billing cycle, term) - the demo catalog's purchasable mix.
_LICENSES = [
    ("796B6B5F-613C-4E24-A17C-EBA730D49C02", "office-365-e3", "annual", "P1Y"),
    ("195416C1-3447-423A-B37B-EE59A99A19C4", "exchange-online-plan-1", "monthly", "P1M"),
    ("031C9E47-4802-4248-838E-778FB1D2CC05", "m365-business-standard", "monthly", "P1M"),
    ("4B244418-9658-4451-A2B8-B5B2B7D1F06E", "visio-plan-2", "monthly", "P1M"),
    ("CFQ7TTC0LH18:0001:CFQ7TTC0K971", "m365-business-basic", "monthly", "P1Y"),
    ("CFQ7TTC0LCHC:0002:CFQ7TTC0HB8Z", "m365-business-premium", "monthly", "P1Y"),
]
_AZURE = ("MS-AZR-0145P", "DZH318Z0BPS6:0001:DZH318Z0BML6")
_SOURCES = ("de", "fr")


def customer_id(i: int) -> str:
    """The generated tenant id of customer ``i``."""
    return f"3f2c6d55-{i // 10**12 % 10**4:04x}-4000-9000-{i % 10**12:012d}"


def subscription_id(i: int, j: int) -> str:
    """The generated id of customer ``i``'s subscription ``j``."""
    return f"5b1e0a40-{j:04x}-4000-9000-{i % 10**12:012d}"


def generate(
    customers: int, per_customer: int, *, seed: int = 1, in_target_every: int = 0
) -> dict[str, Any]:
    """A seed document; every ``in_target_every``-th customer has accepted central (0: none)."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not secrets
    demo = read_seed(Path(__file__).parent / "worlds" / "demo.yaml")
    docs = []
    for i in range(customers):
        source = _SOURCES[i % 2]
        subs = []
        for j in range(per_customer):
            if j == per_customer - 1 and per_customer > 2 and i % 4 == 0:
                offer, cycle, term, qty = _AZURE[i % 8 // 4], "", "", 1
            else:
                offer, _, cycle, term = _LICENSES[rng.randrange(len(_LICENSES))]
                qty = rng.randint(1, 25)  # merged NCE entries stay under 300 seats
            subs.append(
                {
                    "id": subscription_id(i, j),
                    "partner": source,
                    "offerId": offer,
                    "quantity": qty,
                    "billingCycle": cycle,
                    "termDuration": term,
                    "created": f"-{rng.randint(10, 400)}d",
                }
            )
        related = [source] + (["central"] if in_target_every and i % in_target_every == 0 else [])
        docs.append(
            {
                "tenantId": customer_id(i),
                "companyName": f"Generated Customer {i:05d}",
                "domain": f"gen{i:05d}.onmicrosoft.com",
                "country": "DE" if source == "de" else "FR",
                "relationships": related,
                "invitations": [] if "central" in related else ["central"],
                "subscriptions": subs,
            }
        )
    return {
        "format": SEED_FORMAT,
        "github": demo["github"],
        "partners": demo["partners"],
        "customers": docs,
    }


def manifests(world: dict[str, Any], out: Path) -> int:
    """Write consolidation.yaml, offers.yaml and customers/*.yaml for ``world``; return count."""
    names = {offer: name for offer, name, _, _ in _LICENSES}
    (out / "customers").mkdir(parents=True, exist_ok=True)
    _dump(out / "consolidation.yaml", _consolidation(world))
    _dump(out / "offers.yaml", _offers())
    for customer in world["customers"]:
        wanted: dict[str, dict[str, Any]] = {}
        azure: list[dict[str, str]] = []
        for sub in customer["subscriptions"]:
            if sub["offerId"] in _AZURE:
                azure.append({"key": f"azure-{len(azure) + 1}", "subscription": sub["id"]})
                continue
            name = names[sub["offerId"]]
            entry = wanted.setdefault(
                name, {"key": name, "offer": name, "quantity": 0, "replaces": []}
            )
            entry["quantity"] += sub["quantity"]
            entry["replaces"].append({"subscription": sub["id"]})
        doc: dict[str, Any] = {
            "apiVersion": "reconciler/v1",
            "kind": "Customer",
            "customer": {
                "tenantId": customer["tenantId"],
                "name": customer["companyName"],
                "domain": customer["domain"],
                "source": customer["subscriptions"][0]["partner"]
                if customer["subscriptions"]
                else _SOURCES[0],
            },
            "subscriptions": list(wanted.values()),
        }
        if azure:
            doc["azure"] = azure
        _dump(out / "customers" / f"{customer['domain'].split('.')[0]}.yaml", doc)
    return len(world["customers"])


def _consolidation(world: dict[str, Any]) -> dict[str, Any]:
    partners = {p["name"]: p for p in world["partners"]}

    def tenant(name: str) -> dict[str, Any]:
        p = partners[name]
        return {
            "name": name,
            "displayName": p["companyName"],
            "tenantId": p["tenantId"],
            "country": p["country"],
        }

    return {
        "apiVersion": "reconciler/v1",
        "kind": "Consolidation",
        "metadata": {"name": "generated"},
        "target": tenant("central"),
        "sources": [tenant(s) for s in _SOURCES],
        "policy": {
            "maxSuspensionsPerApply": 1_000_000,
            "maxCancellationsPerApply": 1_000_000,
            "maxCustomersPerApply": 1_000_000,
            "billingOverlapToleranceDays": 1,
            # Generated worlds re-provision (buy, then stop the source): nobody accepts
            # transfers in them, and their benchmarks measure that path.
            "moveBy": "re-provision",
            "nceSourceStrategy": "cancel-or-expire",
            "activationTimeoutMinutes": 30,
        },
    }


def _offers() -> dict[str, Any]:
    return {
        "apiVersion": "reconciler/v1",
        "kind": "Offers",
        "offers": {
            "office-365-e3": {
                "name": "Office 365 E3",
                "offerId": "CFQ7TTC0LF8Q:0001:CFQ7TTC0HD0R",
                "replaces": ["796B6B5F-613C-4E24-A17C-EBA730D49C02"],
                "billingCycle": "annual",
                "termDuration": "P1Y",
            },
            "exchange-online-plan-1": {
                "name": "Exchange Online (Plan 1)",
                "offerId": "CFQ7TTC0LH16:0001:CFQ7TTC0HD1G",
                "replaces": ["195416C1-3447-423A-B37B-EE59A99A19C4"],
                "billingCycle": "monthly",
                "termDuration": "P1Y",
            },
            "m365-business-basic": {
                "name": "Microsoft 365 Business Basic",
                "offerId": "CFQ7TTC0LH18:0001:CFQ7TTC0K971",
                "billingCycle": "monthly",
                "termDuration": "P1Y",
            },
            "m365-business-premium": {
                "name": "Microsoft 365 Business Premium",
                "offerId": "CFQ7TTC0LCHC:0002:CFQ7TTC0HB8Z",
                "billingCycle": "monthly",
                "termDuration": "P1Y",
            },
            "m365-business-standard": {
                "name": "Microsoft 365 Business Standard",
                "offerId": "CFQ7TTC0LDPB:0001:CFQ7TTC0HD4N",
                "replaces": ["031C9E47-4802-4248-838E-778FB1D2CC05"],
                "billingCycle": "monthly",
                "termDuration": "P1M",
            },
            "visio-plan-2": {
                "name": "Visio Plan 2",
                "offerId": "CFQ7TTC0HD32:0002:CFQ7TTC0J1FV",
                "replaces": ["4B244418-9658-4451-A2B8-B5B2B7D1F06E"],
                "billingCycle": "monthly",
                "termDuration": "P1M",
            },
        },
    }


def _dump(path: Path, doc: dict[str, Any]) -> None:
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    path.write_text(yaml.dump(doc, Dumper=dumper, sort_keys=False), encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        prog="python -m reconciler.emulator.worldgen",
        description=__doc__.split("\n\n")[0] if __doc__ else "",
    )
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--subscriptions-per-customer", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--in-target-every",
        type=int,
        default=0,
        help="every Nth customer has already accepted central (0: none)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("world.json"),
        help="seed file to write (.json, or .yaml/.yml)",
    )
    parser.add_argument("--manifests", type=Path, help="also write matching manifests here")
    args = parser.parse_args(argv)
    world = generate(
        args.customers,
        args.subscriptions_per_customer,
        seed=args.seed,
        in_target_every=args.in_target_every,
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    if args.out.suffix.lower() in (".yaml", ".yml"):
        _dump(args.out, world)
    else:
        args.out.write_text(json.dumps(world), encoding="utf-8")
    subs = sum(len(c["subscriptions"]) for c in world["customers"])
    print(f"wrote {args.out}: {len(world['customers'])} customers, {subs} subscriptions")
    if args.manifests:
        count = manifests(world, args.manifests)
        print(f"wrote {count} customer manifests under {args.manifests}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
