"""ISO 4217 currency codes: a ``Price XYZ`` column must name one of these."""

from __future__ import annotations

# Current codes plus the retired ones an older Medusa store may still hold (BYR, EEK, LTL, LVL, MRO, STD, VEF, ZMK).
CURRENCY_CODES = frozenset(
    """
    aed afn all amd ang aoa ars aud awg azn bam bbd bdt bgn bhd bif bmd bnd bob bov brl bsd btn bwp byn byr
    bzd cad cdf che chf chw clf clp cny cop cou crc cuc cup cve czk djf dkk dop dzd eek egp ern etb eur fjd
    fkp gbp gel ghs gip gmd gnf gtq gyd hkd hnl hrk htg huf idr ils inr iqd irr isk jmd jod jpy kes kgs khr
    kmf kpw krw kwd kyd kzt lak lbp lkr lrd lsl ltl lvl lyd mad mdl mga mkd mmk mnt mop mro mru mur mvr mwk
    mxn mxv myr mzn nad ngn nio nok npr nzd omr pab pen pgk php pkr pln pyg qar ron rsd rub rwf sar sbd scr
    sdg sek sgd shp sle sll sos srd ssp std stn svc syp szl thb tjs tmt tnd top try ttd twd tzs uah ugx usd
    usn uyi uyu uyw uzs ved vef ves vnd vuv wst xaf xag xau xba xbb xbc xbd xcd xdr xof xpd xpf xpt xsu xua
    yer zar zmk zmw zwl
    """.split()
)


def is_currency(code: str) -> bool:
    """Whether ``code`` (any case) is an ISO 4217 currency code."""
    return code.lower() in CURRENCY_CODES
