"""The ports: what services need from the outside world. Adapters implement them, the
tests' fakes too; services and the domain depend on nothing else."""

# A stock delta is the domain's (with its builders); the stock port applies it.
from chalicelib.domain.inventory import StockChange
from chalicelib.ports.catalogue import Catalogue
from chalicelib.ports.outside import (
    AccessRecords,
    AlertLog,
    Carrier,
    CarrierChoice,
    EventPublisher,
    IdempotentRequests,
    Keyring,
    Mailer,
    Metrics,
    Outbox,
    PaymentGateway,
    SandboxLedger,
    Secrets,
    Texter,
    Workflow,
)
from chalicelib.ports.persistence import (
    Analytics,
    CustomerRecord,
    CustomerStore,
    CustomerView,
    FiguresChange,
    Identities,
    Markers,
    Orders,
    OrderStore,
    Quotes,
    Shipments,
    Stock,
    Tickets,
)
from chalicelib.ports.promotions import Campaigns, Promotions

__all__ = [
    "AccessRecords",
    "AlertLog",
    "Analytics",
    "Campaigns",
    "Carrier",
    "CarrierChoice",
    "Catalogue",
    "CustomerRecord",
    "CustomerStore",
    "CustomerView",
    "EventPublisher",
    "FiguresChange",
    "IdempotentRequests",
    "Identities",
    "Keyring",
    "Mailer",
    "Markers",
    "Metrics",
    "OrderStore",
    "Orders",
    "Outbox",
    "PaymentGateway",
    "Promotions",
    "Quotes",
    "SandboxLedger",
    "Secrets",
    "Shipments",
    "Stock",
    "StockChange",
    "Texter",
    "Tickets",
    "Workflow",
]
