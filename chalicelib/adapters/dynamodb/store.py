"""The two stores services are handed today, each made of the repositories of its
aggregates on the same table (``Deps.store``, ``Deps.customers``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalicelib.adapters.dynamodb.analytics import AnalyticsRepository
from chalicelib.adapters.dynamodb.campaigns import CampaignRepository
from chalicelib.adapters.dynamodb.catalogue import CatalogueRepository
from chalicelib.adapters.dynamodb.customer_view import CustomerViewRepository
from chalicelib.adapters.dynamodb.identities import IdentityRepository
from chalicelib.adapters.dynamodb.markers import MarkerRepository
from chalicelib.adapters.dynamodb.orders import OrderRepository
from chalicelib.adapters.dynamodb.promotions import PromotionRepository
from chalicelib.adapters.dynamodb.quotes import QuoteRepository
from chalicelib.adapters.dynamodb.shipments import ShipmentRepository
from chalicelib.adapters.dynamodb.stock import StockRepository
from chalicelib.adapters.dynamodb.table import Table
from chalicelib.adapters.dynamodb.tickets import TicketRepository

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient


class DynamoStore(
    OrderRepository,
    ShipmentRepository,
    CatalogueRepository,
    StockRepository,
    MarkerRepository,
    IdentityRepository,
    QuoteRepository,
    PromotionRepository,
    CampaignRepository,
):
    """``OrderStore``: orders, shipments, catalogue, stock, markers, identities, quotes,
    promotions, campaign figures."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self.table = Table(client, table_name)
        super().__init__(self.table)


class CustomerStore(
    IdentityRepository, CustomerViewRepository, AnalyticsRepository, TicketRepository
):
    """``CustomerStore``: identities, the 360 projection, figures and aggregates, tickets."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self.table = Table(client, table_name)
        super().__init__(self.table)
