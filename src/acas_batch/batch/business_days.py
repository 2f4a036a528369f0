"""Business days: weekends, public holidays (the ``holidays`` package) and company closures."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from functools import lru_cache

from acas_batch.errors import ConfigError, ValidationError

WEEKEND = frozenset({5, 6})  # Saturday, Sunday
CLOSURE_NAME = "Company closure"
_ONE_DAY = timedelta(days=1)


@lru_cache(maxsize=1)
def _supported() -> Mapping[str, list[str]]:
    import holidays as holidays_lib  # on first use: a command that asks no calendar starts without it

    return dict(holidays_lib.list_supported_countries())


def _check_country(country: str, subdivision: str | None) -> None:
    supported = _supported()
    if country not in supported:
        raise ConfigError(f"holiday_country: no holiday calendar for country {country!r}")
    if subdivision is not None and subdivision not in supported[country]:
        known = ", ".join(supported[country]) or "none"
        raise ConfigError(f"holiday_subdivision: {subdivision!r} is not a subdivision of {country!r} (known: {known})")


@lru_cache(maxsize=512)
def _public_holidays(country: str, subdivision: str | None, year: int) -> Mapping[date, str]:
    """The public holidays of one year; built once per process, the package is slow to build."""
    import holidays as holidays_lib

    found = holidays_lib.country_holidays(country, subdiv=subdivision, years=year)
    return {day: str(name) for day, name in found.items() if day.year == year}


class BusinessCalendar:
    """Which days are business days: Monday to Friday, less public holidays and closures.

    The default is England and Wales bank holidays (substitute days included: Christmas
    Day on a Saturday makes Monday 27th a holiday). ``country=None`` means weekends only.
    Closures are company closure days (kept in the database by the ledger). Holiday years
    are built on first use and cached, so a lookup is a set membership test.
    """

    __slots__ = ("_closures", "_off", "country", "subdivision")

    def __init__(
        self,
        country: str | None = "GB",
        subdivision: str | None = "ENG",
        closures: Iterable[date] = (),
    ) -> None:
        self.country = country or None
        self.subdivision = (subdivision or None) if self.country else None
        self._closures = frozenset(closures)
        for day in self._closures:
            # A datetime is a date too, but never equal to one: it would silently match nothing.
            if isinstance(day, datetime) or not isinstance(day, date):
                raise ValidationError(f"closures: {day!r} is not a date")
        self._off: dict[int, frozenset[date]] = {}
        if self.country is not None:
            _check_country(self.country, self.subdivision)  # fail here, not in the middle of a forecast

    def __repr__(self) -> str:
        return f"BusinessCalendar({self.country!r}, {self.subdivision!r}, closures={len(self._closures)})"

    @property
    def closures(self) -> frozenset[date]:
        return self._closures

    def _holidays(self, year: int) -> Mapping[date, str]:
        if self.country is None:
            return {}
        return _public_holidays(self.country, self.subdivision, year)

    def _off_days(self, year: int) -> frozenset[date]:
        off = self._off.get(year)
        if off is None:
            off = frozenset(self._holidays(year)) | {d for d in self._closures if d.year == year}
            self._off[year] = off
        return off

    def is_business_day(self, day: date) -> bool:
        """Monday to Friday, not a public holiday and not a closure day."""
        if day.weekday() >= 5:
            return False
        try:
            return day not in self._off[day.year]
        except KeyError:
            return day not in self._off_days(day.year)

    def holiday_name(self, day: date) -> str | None:
        """The public holiday's name (``"Boxing Day (observed)"``), ``"Company closure"``, or None."""
        name = self._holidays(day.year).get(day)
        if name is None and day in self._closures:
            return CLOSURE_NAME
        return name

    def non_business_reason(self, day: date) -> str | None:
        """Why ``day`` is not a business day (``"Sunday 2026-12-27 is not a business day"``), or None."""
        if self.is_business_day(day):
            return None
        reason = f"{day.strftime('%A')} {day.isoformat()} is not a business day"
        name = self.holiday_name(day)
        return f"{reason} ({name})" if name else reason

    def next_business_day(self, day: date) -> date:
        """The first business day strictly after ``day``."""
        day += _ONE_DAY
        while not self.is_business_day(day):
            day += _ONE_DAY
        return day

    def previous_business_day(self, day: date) -> date:
        """The last business day strictly before ``day``."""
        day -= _ONE_DAY
        while not self.is_business_day(day):
            day -= _ONE_DAY
        return day

    def on_or_after(self, day: date) -> date:
        """``day`` if it is a business day, else the next one."""
        return day if self.is_business_day(day) else self.next_business_day(day)

    def on_or_before(self, day: date) -> date:
        """``day`` if it is a business day, else the previous one."""
        return day if self.is_business_day(day) else self.previous_business_day(day)

    def add_business_days(self, day: date, n: int) -> date:
        """The business day ``n`` business days after ``day`` (before it if ``n`` < 0).

        ``n == 0`` returns ``day`` itself, business day or not. ``day`` need not be a
        business day: one business day after Saturday is Monday (if Monday is one).
        Bacs submission for payment day D is ``add_business_days(D, -2)``.
        """
        step = self.next_business_day if n > 0 else self.previous_business_day
        for _ in range(abs(n)):
            day = step(day)
        return day

    def business_days_between(self, start: date, end: date) -> int:
        """The number of business days d with ``start`` < d <= ``end``; negative if ``end`` < ``start``.

        So ``add_business_days(start, business_days_between(start, end)) == end`` for
        every business day ``end`` on or after ``start``.
        """
        if end < start:
            return -self.business_days_between(end, start)
        weeks, extra = divmod((end - start).days, 7)
        count = weeks * 5
        day = start
        for _ in range(extra):
            day += _ONE_DAY
            if day.weekday() < 5:
                count += 1
        for year in range(start.year, end.year + 1):
            count -= sum(1 for d in self._off_days(year) if start < d <= end and d.weekday() < 5)
        return count
