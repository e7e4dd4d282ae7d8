"""A one-off after the deploys that add the ``opportunities-by-status`` and
``opportunities-by-holder`` indexes: the opportunities stored before them are listed in them
(``OpportunityRepository.list_stored_before``), so that ops' list, the review that loses
them, and a person's erasure and export see them.

    python -m infra.aws.list_opportunities orquesta-prod --region eu-west-1

Safe while the app runs, and to run again (it lists only what is not listed yet)."""

from __future__ import annotations

import argparse

import boto3

from chalicelib.adapters.dynamodb.opportunities import OpportunityRepository


def main(argv: list[str] | None = None) -> int:
    """List the opportunities stored before the indexes; prints how many."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("table", help="the stage's table, e.g. orquesta-prod")
    parser.add_argument("--region", default=None, help="its region (default: the profile's)")
    args = parser.parse_args(argv)
    client = boto3.client("dynamodb", region_name=args.region)
    listed = OpportunityRepository(client, args.table).list_stored_before()
    print(f"{listed} opportunities stored before the indexes listed in them")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
