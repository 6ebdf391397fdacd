"""The demo market's universe: 80 liquid, real-looking US names (static reference data only).

Prices are rough reference levels in dollars (the market perturbs them per seed); `vol` is a rough
annualised volatility (fraction) used as the centre of each name's base vol.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "NO_OPTIONS_SYMBOL",
    "SHORT_HISTORY_SYMBOL",
    "SINGLE_EXPIRATION_SYMBOL",
    "THIN_SYMBOL",
    "UNIVERSE",
    "Listing",
]

# Deliberate edge cases (real-looking: BRK.A has no listed options, ARM is a recent IPO).
THIN_SYMBOL = "PTON"  # wide spreads, low open interest, monthlies only, some zero bids
SHORT_HISTORY_SYMBOL = "ARM"  # listed 2026-04-06: two past events at the end of 2026
NO_OPTIONS_SYMBOL = "BRK.A"  # no listed options: expirations null
SINGLE_EXPIRATION_SYMBOL = "RDDT"  # exactly one listed expiration (the event one)


@dataclass(frozen=True, slots=True)
class Listing:
    """Static facts of one name. tier: 1 mega-cap, 2 large, 3 mid, 4 thin."""

    symbol: str
    name: str
    sector: str
    industry: str
    exchange: str
    price: float
    vol: float
    tier: int
    loss_making: bool = False


_TECH = "TECHNOLOGY"
_COMM = "COMMUNICATION SERVICES"
_CYC = "CONSUMER CYCLICAL"
_DEF = "CONSUMER DEFENSIVE"
_FIN = "FINANCIAL SERVICES"
_HC = "HEALTHCARE"
_IND = "INDUSTRIALS"
_NQ = "NASDAQ"
_NY = "NYSE"
_SEMI = "SEMICONDUCTORS"
_SWI = "SOFTWARE - INFRASTRUCTURE"
_SWA = "SOFTWARE - APPLICATION"

UNIVERSE: tuple[Listing, ...] = (
    Listing("AAPL", "Apple Inc", _TECH, "CONSUMER ELECTRONICS", _NQ, 195, 0.24, 1),
    Listing("MSFT", "Microsoft Corporation", _TECH, _SWI, _NQ, 420, 0.22, 1),
    Listing("NVDA", "NVIDIA Corporation", _TECH, _SEMI, _NQ, 120, 0.48, 1),
    Listing("GOOGL", "Alphabet Inc - Class A", _COMM, "INTERNET CONTENT & INFORMATION", _NQ, 170,
            0.28, 1),
    Listing("AMZN", "Amazon.com Inc", _CYC, "INTERNET RETAIL", _NQ, 185, 0.30, 1),
    Listing("META", "Meta Platforms, Inc.", _COMM, "INTERNET CONTENT & INFORMATION", _NQ, 500,
            0.35, 1),
    Listing("TSLA", "Tesla Inc", _CYC, "AUTO MANUFACTURERS", _NQ, 240, 0.55, 1),
    Listing("AVGO", "Broadcom Inc", _TECH, _SEMI, _NQ, 170, 0.40, 1),
    Listing("AMD", "Advanced Micro Devices Inc", _TECH, _SEMI, _NQ, 150, 0.45, 1),
    Listing("ORCL", "Oracle Corp", _TECH, _SWI, _NY, 140, 0.30, 2),
    Listing("CRM", "Salesforce Inc", _TECH, _SWA, _NY, 270, 0.32, 2),
    Listing("ADBE", "Adobe Inc", _TECH, _SWI, _NQ, 520, 0.32, 2),
    Listing("INTC", "Intel Corp", _TECH, _SEMI, _NQ, 30, 0.42, 2),
    Listing("CSCO", "Cisco Systems Inc", _TECH, "COMMUNICATION EQUIPMENT", _NQ, 50, 0.20, 2),
    Listing("QCOM", "Qualcomm Inc", _TECH, _SEMI, _NQ, 170, 0.36, 2),
    Listing("TXN", "Texas Instruments Inc", _TECH, _SEMI, _NQ, 190, 0.27, 2),
    Listing("MU", "Micron Technology Inc", _TECH, _SEMI, _NQ, 100, 0.48, 2),
    Listing("NFLX", "Netflix Inc", _COMM, "ENTERTAINMENT", _NQ, 650, 0.38, 1),
    Listing("PLTR", "Palantir Technologies Inc - Class A", _TECH, _SWI, _NQ, 30, 0.62, 2),
    Listing("SNOW", "Snowflake Inc", _TECH, _SWA, _NY, 140, 0.55, 3, True),
    Listing("SHOP", "Shopify Inc - Class A", _TECH, _SWA, _NY, 75, 0.55, 2),
    Listing("UBER", "Uber Technologies Inc", _TECH, _SWA, _NY, 70, 0.40, 2),
    Listing("ABNB", "Airbnb Inc - Class A", _CYC, "TRAVEL SERVICES", _NQ, 140, 0.42, 2),
    Listing("PANW", "Palo Alto Networks Inc", _TECH, _SWI, _NQ, 330, 0.38, 2),
    Listing("CRWD", "CrowdStrike Holdings Inc - Class A", _TECH, _SWI, _NQ, 300, 0.50, 2),
    Listing("NOW", "ServiceNow Inc", _TECH, _SWA, _NY, 780, 0.33, 2),
    Listing("INTU", "Intuit Inc", _TECH, _SWA, _NQ, 620, 0.30, 2),
    Listing("IBM", "International Business Machines Corp", _TECH,
            "INFORMATION TECHNOLOGY SERVICES", _NY, 190, 0.22, 2),
    Listing("DELL", "Dell Technologies Inc - Class C", _TECH, "COMPUTER HARDWARE", _NY, 120,
            0.45, 2),
    Listing("SMCI", "Super Micro Computer Inc", _TECH, "COMPUTER HARDWARE", _NQ, 45, 0.70, 3),
    Listing("JPM", "JPMorgan Chase & Co", _FIN, "BANKS - DIVERSIFIED", _NY, 200, 0.21, 1),
    Listing("BAC", "Bank of America Corp", _FIN, "BANKS - DIVERSIFIED", _NY, 40, 0.25, 1),
    Listing("WFC", "Wells Fargo & Co", _FIN, "BANKS - DIVERSIFIED", _NY, 58, 0.27, 2),
    Listing("GS", "Goldman Sachs Group Inc", _FIN, "CAPITAL MARKETS", _NY, 470, 0.26, 2),
    Listing("MS", "Morgan Stanley", _FIN, "CAPITAL MARKETS", _NY, 100, 0.26, 2),
    Listing("C", "Citigroup Inc", _FIN, "BANKS - DIVERSIFIED", _NY, 62, 0.28, 2),
    Listing("V", "Visa Inc - Class A", _FIN, "CREDIT SERVICES", _NY, 275, 0.18, 1),
    Listing("MA", "Mastercard Inc - Class A", _FIN, "CREDIT SERVICES", _NY, 460, 0.19, 2),
    Listing("PYPL", "PayPal Holdings Inc", _FIN, "CREDIT SERVICES", _NQ, 65, 0.38, 2),
    Listing("AXP", "American Express Co", _FIN, "CREDIT SERVICES", _NY, 235, 0.25, 2),
    Listing("BRK.B", "Berkshire Hathaway Inc - Class B", _FIN, "INSURANCE - DIVERSIFIED", _NY,
            410, 0.16, 2),
    Listing("BRK.A", "Berkshire Hathaway Inc - Class A", _FIN, "INSURANCE - DIVERSIFIED", _NY,
            620000, 0.16, 3),
    Listing("BLK", "BlackRock Inc", _FIN, "ASSET MANAGEMENT", _NY, 800, 0.22, 3),
    Listing("COIN", "Coinbase Global Inc - Class A", _FIN, "FINANCIAL DATA & STOCK EXCHANGES",
            _NQ, 220, 0.70, 2),
    Listing("UNH", "UnitedHealth Group Inc", _HC, "HEALTHCARE PLANS", _NY, 520, 0.25, 2),
    Listing("JNJ", "Johnson & Johnson", _HC, "DRUG MANUFACTURERS - GENERAL", _NY, 155, 0.16, 2),
    Listing("LLY", "Eli Lilly and Co", _HC, "DRUG MANUFACTURERS - GENERAL", _NY, 800, 0.30, 1),
    Listing("PFE", "Pfizer Inc", _HC, "DRUG MANUFACTURERS - GENERAL", _NY, 28, 0.22, 2),
    Listing("MRK", "Merck & Co Inc", _HC, "DRUG MANUFACTURERS - GENERAL", _NY, 125, 0.20, 2),
    Listing("ABBV", "AbbVie Inc", _HC, "DRUG MANUFACTURERS - GENERAL", _NY, 170, 0.22, 2),
    Listing("TMO", "Thermo Fisher Scientific Inc", _HC, "DIAGNOSTICS & RESEARCH", _NY, 580,
            0.23, 3),
    Listing("MRNA", "Moderna Inc", _HC, "BIOTECHNOLOGY", _NQ, 110, 0.60, 3, True),
    Listing("WMT", "Walmart Inc", _DEF, "DISCOUNT STORES", _NY, 68, 0.18, 1),
    Listing("COST", "Costco Wholesale Corp", _DEF, "DISCOUNT STORES", _NQ, 850, 0.20, 2),
    Listing("HD", "Home Depot Inc", _CYC, "HOME IMPROVEMENT RETAIL", _NY, 350, 0.21, 2),
    Listing("LOW", "Lowe's Companies Inc", _CYC, "HOME IMPROVEMENT RETAIL", _NY, 230, 0.23, 2),
    Listing("NKE", "Nike Inc - Class B", _CYC, "FOOTWEAR & ACCESSORIES", _NY, 95, 0.30, 2),
    Listing("SBUX", "Starbucks Corp", _CYC, "RESTAURANTS", _NQ, 80, 0.27, 2),
    Listing("MCD", "McDonald's Corp", _CYC, "RESTAURANTS", _NY, 260, 0.17, 2),
    Listing("TGT", "Target Corp", _DEF, "DISCOUNT STORES", _NY, 150, 0.33, 2),
    Listing("DIS", "Walt Disney Co", _COMM, "ENTERTAINMENT", _NY, 100, 0.26, 2),
    Listing("KO", "Coca-Cola Co", _DEF, "BEVERAGES - NON-ALCOHOLIC", _NY, 63, 0.15, 2),
    Listing("PEP", "PepsiCo Inc", _DEF, "BEVERAGES - NON-ALCOHOLIC", _NQ, 170, 0.16, 2),
    Listing("PG", "Procter & Gamble Co", _DEF, "HOUSEHOLD & PERSONAL PRODUCTS", _NY, 165, 0.16, 2),
    Listing("LULU", "Lululemon Athletica Inc", _CYC, "APPAREL RETAIL", _NQ, 310, 0.42, 3),
    Listing("CMG", "Chipotle Mexican Grill Inc", _CYC, "RESTAURANTS", _NY, 58, 0.32, 2),
    Listing("BKNG", "Booking Holdings, Inc.", _CYC, "TRAVEL SERVICES", _NQ, 3700, 0.28, 3),
    Listing("XOM", "Exxon Mobil Corp", "ENERGY", "OIL & GAS INTEGRATED", _NY, 115, 0.22, 1),
    Listing("CVX", "Chevron Corp", "ENERGY", "OIL & GAS INTEGRATED", _NY, 155, 0.22, 2),
    Listing("BA", "Boeing Co", _IND, "AEROSPACE & DEFENSE", _NY, 180, 0.35, 2),
    Listing("CAT", "Caterpillar Inc", _IND, "FARM & HEAVY CONSTRUCTION MACHINERY", _NY, 340,
            0.28, 2),
    Listing("GE", "GE Aerospace", _IND, "AEROSPACE & DEFENSE", _NY, 165, 0.30, 2),
    Listing("UPS", "United Parcel Service Inc - Class B", _IND, "INTEGRATED FREIGHT & LOGISTICS",
            _NY, 140, 0.26, 2),
    Listing("FDX", "FedEx Corp", _IND, "INTEGRATED FREIGHT & LOGISTICS", _NY, 250, 0.32, 3),
    Listing("DE", "Deere & Co", _IND, "FARM & HEAVY CONSTRUCTION MACHINERY", _NY, 380, 0.26, 3),
    Listing("T", "AT&T Inc", _COMM, "TELECOM SERVICES", _NY, 18, 0.20, 2),
    Listing("ROKU", "Roku Inc - Class A", _COMM, "ENTERTAINMENT", _NQ, 60, 0.60, 3, True),
    Listing("RDDT", "Reddit Inc - Class A", _COMM, "INTERNET CONTENT & INFORMATION", _NY, 60,
            0.68, 3),
    Listing("ARM", "Arm Holdings plc ADR", _TECH, _SEMI, _NQ, 130, 0.60, 2),
    Listing("PTON", "Peloton Interactive Inc - Class A", _CYC, "LEISURE", _NQ, 5, 0.70, 4, True),
)  # fmt: skip

assert len(UNIVERSE) == 80
assert len({x.symbol for x in UNIVERSE}) == 80
