"""Demo data for the local stack: three stores, a warehouse, 30 products, stock everywhere,
and a welcome coupon of the newsletter campaign."""

from __future__ import annotations

import contextlib
from decimal import Decimal

from chalicelib.domain.catalog import Location, LocationType, Product
from chalicelib.domain.errors import Conflict
from chalicelib.domain.inventory import StockLevel
from chalicelib.domain.money import Money
from chalicelib.domain.promotions import Promotion, PromotionKind
from chalicelib.ports import OrderStore

LOCATIONS = [
    Location(
        location_id="WH-GETAFE",
        type=LocationType.WAREHOUSE,
        name="Almacén Getafe",
        city="Getafe",
        pickup=False,
        ships=True,
        postal_code="28906",
        address="Calle de la Confianza 14",
    ),
    Location(
        location_id="ST-MADRID",
        type=LocationType.STORE,
        name="Tienda Madrid Centro",
        city="Madrid",
        pickup=True,
        ships=True,
        pickup_window_hours=72,
        postal_code="28013",
        address="Calle de Preciados 21",
    ),
    Location(
        location_id="ST-BARCELONA",
        type=LocationType.STORE,
        name="Tienda Barcelona Gràcia",
        city="Barcelona",
        pickup=True,
        ships=True,
        pickup_window_hours=72,
        postal_code="08012",
        address="Carrer Gran de Gràcia 88",
    ),
    Location(
        location_id="ST-VALENCIA",
        type=LocationType.STORE,
        name="Tienda Valencia Ruzafa",
        city="Valencia",
        pickup=True,
        ships=False,
        pickup_window_hours=48,
        postal_code="46004",
        address="Carrer de Sueca 35",
    ),
]

_PRODUCTS = [
    ("TSHIRT-BLK-M", "Camiseta negra M", "19.95"),
    ("TSHIRT-BLK-L", "Camiseta negra L", "19.95"),
    ("TSHIRT-WHT-M", "Camiseta blanca M", "19.95"),
    ("TSHIRT-WHT-L", "Camiseta blanca L", "19.95"),
    ("JEANS-32", "Vaquero recto 32", "49.90"),
    ("JEANS-34", "Vaquero recto 34", "49.90"),
    ("HOODIE-GRY-M", "Sudadera gris M", "39.50"),
    ("HOODIE-GRY-L", "Sudadera gris L", "39.50"),
    ("JACKET-DEN", "Cazadora vaquera", "69.00"),
    ("COAT-WOOL", "Abrigo de lana", "149.00"),
    ("SNEAKER-40", "Zapatilla blanca 40", "74.95"),
    ("SNEAKER-42", "Zapatilla blanca 42", "74.95"),
    ("SNEAKER-44", "Zapatilla blanca 44", "74.95"),
    ("BOOT-41", "Bota de piel 41", "119.00"),
    ("BOOT-43", "Bota de piel 43", "119.00"),
    ("SOCKS-3P", "Calcetines pack de 3", "9.99"),
    ("BELT-LEA", "Cinturón de piel", "29.90"),
    ("CAP-NAVY", "Gorra azul marino", "15.00"),
    ("SCARF-WOOL", "Bufanda de lana", "24.50"),
    ("BAG-TOTE", "Bolsa tote de lona", "12.00"),
    ("BACKPACK-20", "Mochila 20 L", "59.00"),
    ("WALLET-LEA", "Cartera de piel", "34.00"),
    ("SUNGLASS-01", "Gafas de sol clásicas", "45.00"),
    ("WATCH-STEEL", "Reloj de acero", "129.00"),
    ("DRESS-SUM", "Vestido de verano", "39.95"),
    ("SKIRT-MIDI", "Falda midi", "32.50"),
    ("SHIRT-OXF-M", "Camisa Oxford M", "35.00"),
    ("SHIRT-OXF-L", "Camisa Oxford L", "35.00"),
    ("SWEATER-CRW", "Jersey de cuello redondo", "44.90"),
    ("UMBRELLA", "Paraguas plegable", "18.50"),
]

PRODUCTS = [
    Product(sku=sku, name=name, price=Money.of(Decimal(price)), low_stock_threshold=3)
    for sku, name, price in _PRODUCTS
]


def stock_for(sku_index: int, location: Location) -> int:
    """Deterministic demo quantities: plenty in the warehouse, a few in each store."""
    if location.type is LocationType.WAREHOUSE:
        return 200 + 10 * (sku_index % 5)
    return 5 + (sku_index + len(location.location_id)) % 8


# The coupon the banner of ``make run`` shows: 10 % off, once per customer, counted for
# the newsletter campaign in every channel. Its id sorts before any made since (ids begin
# with their creation time): listed oldest, it is last in the console's newest first.
WELCOME_COUPON = Promotion(
    promotion_id="pr_0000000000000_bienvenida10",
    name="Bienvenida: 10 % en tu primer pedido",
    code="BIENVENIDA10",
    kind=PromotionKind.PERCENT,
    value=Decimal("10"),
    once_per_customer=True,
    campaign="newsletter",
)


def load_demo_data(store: OrderStore) -> None:
    """Write locations, catalogue, stock and the welcome coupon."""
    with contextlib.suppress(Conflict):  # loaded before: the coupon is there
        store.create_promotion(WELCOME_COUPON)
    for location in LOCATIONS:
        store.put_location(location)
    for index, product in enumerate(PRODUCTS):
        store.put_product(product)
        for location in LOCATIONS:
            store.put_stock(
                StockLevel(
                    sku=product.sku,
                    location_id=location.location_id,
                    location_type=location.type,
                    ships=location.ships,
                    pickup=location.pickup,
                    on_hand=stock_for(index, location),
                    reserved=0,
                    safety_stock=0,
                )
            )
