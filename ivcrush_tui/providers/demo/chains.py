"""Option contracts of the demo market as quoted at an instant: prices from Black-Scholes-Merton
over given implied vols, provider-style bid/ask ticks, open interest, last trades and Greeks.

Units: dollars per share, vols as fractions per year, times in years, dates as epoch ms.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Collection
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ivcrush_tui.analytics.bsm import bsm_greeks, bsm_price
from ivcrush_tui.calendar import UTC, Session
from ivcrush_tui.domain import OptionType
from ivcrush_tui.providers.demo.options import RISK_FREE_RATE
from ivcrush_tui.providers.demo.world import Profile
from ivcrush_tui.symbols import occ_symbol

__all__ = ["ContractGreeks", "ContractQuote", "price_chain"]

_FloatArray = npt.NDArray[np.float64]


def ms(instant: dt.datetime) -> int:
    """Epoch milliseconds of an aware instant."""
    return round(instant.timestamp() * 1000.0)


@dataclass(frozen=True, slots=True)
class ContractGreeks:
    """Provider-style Greeks: delta per $1, gamma per $1 per $1, theta $/calendar day, vega and
    rho $/1 point, IVs as fractions per year, updated_at 'YYYY-MM-DD HH:MM:SS' (UTC)."""

    delta: float
    gamma: float
    theta: float
    vega: float
    rho: float
    phi: float
    bid_iv: float
    mid_iv: float
    ask_iv: float
    smv_vol: float
    updated_at: str


@dataclass(frozen=True, slots=True)
class ContractQuote:
    """One option contract as quoted at `now` (dollars per share; epoch-ms dates, 0 = never)."""

    symbol: str
    underlying: str
    root_symbol: str
    expiration: dt.date
    expiration_type: str
    strike: float
    option_type: OptionType
    bid: float
    ask: float
    bid_size: int
    ask_size: int
    last: float | None
    change: float | None
    change_percentage: float | None
    open: float | None
    high: float | None
    low: float | None
    prev_close: float | None
    volume: int
    last_volume: int
    open_interest: int
    trade_date_ms: int
    quote_date_ms: int
    greeks: ContractGreeks | None
    model_price: float
    model_iv: float


def price_chain(
    *,
    prof: Profile,
    expiration: dt.date,
    etype: str,
    exp_index: int,
    monthly: bool,
    strikes: _FloatArray,
    spot: float,
    texp: float,
    iv: _FloatArray,
    atm: float,
    g: np.random.Generator,
    sess: Session,
    now: dt.datetime,
    traded_today: bool,
    only_strikes_milli: Collection[int] | None = None,
) -> tuple[ContractQuote, ...]:
    """Calls and puts of `expiration` at `now` by ascending strike, priced at `spot` (dollars)
    with implied vols `iv` (per strike, fractions per year) and pricing time `texp` (years).
    `g` draws open interest, sizes and last trades (one draw per contract of the whole chain,
    so `only_strikes_milli` keeps a subset priced exactly as in the whole chain); `sess` is the
    session whose trades are shown (today's when `traded_today`, else the previous one)."""
    symbol = prof.listing.symbol
    thin = prof.listing.tier >= 4
    n = len(strikes)
    k2 = np.concatenate([strikes, strikes])
    iv2 = np.concatenate([iv, iv])
    is_call = np.concatenate([np.ones(n, bool), np.zeros(n, bool)])
    price = bsm_price(spot, k2, texp, iv2, is_call, RISK_FREE_RATE)
    greeks = bsm_greeks(spot, k2, texp, iv2, is_call, RISK_FREE_RATE)
    intrinsic = np.where(is_call, np.maximum(spot - k2, 0.0), np.maximum(k2 - spot, 0.0))
    price = np.where(np.isfinite(price), price, intrinsic)
    x = np.log(k2 / spot) / (atm * math.sqrt(texp))
    otm = np.where(is_call, x > 0, x < 0)
    widen = 1.0 + 0.8 * np.minimum(np.abs(x), 3.0) * np.where(otm, 1.0, 0.5)
    half = prof.spread_abs + prof.spread_rel * price * widen
    if prof.listing.tier == 1:
        tick = np.full_like(price, 0.01)
    else:
        tick = np.where(price < 3.0, 0.01, 0.05)
    bid = np.floor((price - half) / tick + 1e-9) * tick
    ask = np.ceil((price + half) / tick - 1e-9) * tick
    min_bid = 0.0 if thin else 0.01
    bid = np.maximum(bid, min_bid)
    ask = np.maximum(ask, bid + tick)

    exp_factor = (1.3 if monthly else 1.0) / (1.0 + 0.15 * exp_index)
    oi = prof.open_interest_scale * exp_factor * np.exp(-0.5 * (x / 1.3) ** 2)
    oi = np.floor(oi * np.exp(g.normal(0.0, 0.4, 2 * n))).astype(np.int64)
    p_traded = np.clip(0.98 * np.exp(-0.5 * (x / 2.0) ** 2), 0.02, 0.98)
    if thin:
        p_traded *= 0.5
    traded = g.uniform(size=2 * n) < p_traded
    last_noise = g.uniform(-1.0, 1.0, 2 * n)
    prev_noise = np.exp(g.normal(0.0, 0.08, 2 * n))
    vol_frac = g.uniform(0.02, 0.3, 2 * n)
    trade_frac = g.uniform(0.0, 1.0, 2 * n)
    sizes = g.integers(1, 200 if prof.listing.tier <= 2 else 40, (2, 2 * n))
    # Far wings of the thin name have no ORATS coverage: greeks null on the wire.
    no_greeks = (np.abs(x) > 1.5) if thin else np.zeros(2 * n, dtype=bool)

    t_end = min(now, sess.close)
    quote_ms = ms(t_end)
    span_s = max((t_end - sess.open).total_seconds(), 1.0)
    updated = _greeks_stamp(t_end)
    root = symbol.replace(".", "")
    tradier_sym = symbol.replace(".", "/")
    open_ms = ms(sess.open)
    # Vectorised per-contract fields, then plain lists for the (cheap) object loop.
    bid_r, ask_r = np.round(bid, 2), np.round(ask, 2)
    mid = 0.5 * (bid_r + ask_r)
    finite = np.ones(2 * n, dtype=bool)
    for arr in (greeks.delta, greeks.gamma, greeks.theta, greeks.vega, greeks.rho):
        finite &= np.isfinite(arr)
    has_greeks = (finite & ~no_greeks).tolist()
    vega_unit = np.maximum(np.nan_to_num(greeks.vega) * 100.0, 1e-9)  # $ per 1.00 of vol
    bid_iv = np.round(np.maximum(0.0, iv2 - (mid - bid_r) / vega_unit), 6).tolist()
    ask_iv = np.round(iv2 + (ask_r - mid) / vega_unit, 6).tolist()
    g_delta, g_gamma = greeks.delta.tolist(), greeks.gamma.tolist()
    g_theta, g_vega, g_rho = greeks.theta.tolist(), greeks.vega.tolist(), greeks.rho.tolist()
    last_a = np.maximum(0.01, np.round(mid + last_noise * (ask_r - mid), 2))
    prev_a = np.maximum(0.01, np.round(last_a * prev_noise, 2))
    change_a = np.round(last_a - prev_a, 2).tolist()
    change_pct_a = np.round(100.0 * (last_a / prev_a - 1.0), 2).tolist()
    volume_a = np.maximum(1, np.floor(oi * vol_frac)).astype(np.int64).tolist()
    trade_ms_a = (open_ms + np.floor(span_s * 1000.0 * trade_frac)).astype(np.int64).tolist()
    last_l, prev_l = last_a.tolist(), prev_a.tolist()
    bid_l, ask_l, iv_l = bid_r.tolist(), ask_r.tolist(), iv2.tolist()
    k_l, price_l, oi_l = k2.tolist(), price.tolist(), oi.tolist()
    traded_l, call_l = traded.tolist(), is_call.tolist()
    bsize_l, asize_l = sizes[0].tolist(), sizes[1].tolist()
    out: list[ContractQuote] = []
    for j in range(2 * n):
        if only_strikes_milli is not None and round(k_l[j] * 1000) not in only_strikes_milli:
            continue  # building the objects is most of a chain's cost
        kind = OptionType.CALL if call_l[j] else OptionType.PUT
        gr: ContractGreeks | None = None
        if has_greeks[j]:
            gr = ContractGreeks(
                delta=_sig(g_delta[j]),
                gamma=_sig(g_gamma[j]),
                theta=_sig(g_theta[j]),
                vega=_sig(g_vega[j]),
                rho=_sig(g_rho[j]),
                phi=_sig(-g_delta[j] * spot * texp / 100.0),
                bid_iv=bid_iv[j],
                mid_iv=round(iv_l[j], 6),
                ask_iv=ask_iv[j],
                smv_vol=round(iv_l[j], 3),
                updated_at=updated,
            )
        if traded_l[j]:
            last_opt: float | None = last_l[j]
            prev_opt: float | None = prev_l[j]
            change: float | None = change_a[j]
            change_pct: float | None = change_pct_a[j]
            volume = volume_a[j] if traded_today else 0
            trade_ms = trade_ms_a[j]
            o = prev_l[j] if traded_today else None
            hi = max(prev_l[j], last_l[j]) if traded_today else None
            lo = min(prev_l[j], last_l[j]) if traded_today else None
        else:
            last_opt = change = change_pct = prev_opt = None
            o = hi = lo = None
            volume = 0
            trade_ms = 0
        out.append(
            ContractQuote(
                symbol=occ_symbol(root, expiration, kind, k_l[j]),
                underlying=tradier_sym,
                root_symbol=root,
                expiration=expiration,
                expiration_type=etype,
                strike=k_l[j],
                option_type=kind,
                bid=bid_l[j],
                ask=ask_l[j],
                bid_size=bsize_l[j],
                ask_size=asize_l[j],
                last=last_opt,
                change=change,
                change_percentage=change_pct,
                open=o,
                high=hi,
                low=lo,
                prev_close=prev_opt,
                volume=volume,
                last_volume=min(volume, bsize_l[j]) if volume else 0,
                open_interest=oi_l[j],
                trade_date_ms=trade_ms,
                quote_date_ms=quote_ms,
                greeks=gr,
                model_price=price_l[j],
                model_iv=iv_l[j],
            )
        )
    # Tradier lists a chain by strike with the call and put of each strike together.
    out.sort(key=lambda c: (c.strike, c.option_type is OptionType.PUT))
    return tuple(out)


def _sig(x: float) -> float:
    """Round to 6 significant digits (provider style; keeps tiny Greeks non-zero)."""
    if x == 0.0 or not math.isfinite(x):
        return 0.0
    return float(f"{x:.6g}")


def _greeks_stamp(at: dt.datetime) -> str:
    """ORATS-style refresh stamp: the top of the hour at/before `at`, minus a minute (UTC)."""
    top = at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return (top - dt.timedelta(seconds=57)).strftime("%Y-%m-%d %H:%M:%S")
