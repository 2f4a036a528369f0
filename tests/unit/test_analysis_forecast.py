from __future__ import annotations

import json

import numpy as np
import pytest

from acas_batch.analysis.forecast import Method, average_demand_interval, croston_sba, forecast_many
from acas_batch.errors import ValidationError
from acas_batch.jobs.stock import demand_forecast as stock_forecast

T = np.arange(36, dtype=np.float64)
FUTURE = np.arange(36, 42, dtype=np.float64)


def test_known_series_pick_the_right_method_and_extrapolate_exactly() -> None:
    flat = np.full(36, 10.0)
    trend = 5 + 2 * T
    seasonal = 100 + 3 * T + 20 * np.sin(2 * np.pi * T / 12)
    zero = np.zeros(36)
    batch = forecast_many(np.vstack([flat, trend, seasonal, zero]), horizon=6)
    assert batch.methods == [Method.MOVING_AVERAGE, Method.HOLT, Method.HOLT_WINTERS, Method.NONE]
    assert batch.holdout == 6
    np.testing.assert_allclose(batch.forecasts[0], 10.0)
    np.testing.assert_allclose(batch.forecasts[1], 5 + 2 * FUTURE, atol=1e-9)
    np.testing.assert_allclose(batch.forecasts[2], 100 + 3 * FUTURE + 20 * np.sin(2 * np.pi * FUTURE / 12), atol=1e-6)
    np.testing.assert_allclose(batch.forecasts[3], 0.0)
    np.testing.assert_allclose(batch.mae[:3], 0.0, atol=1e-6)


def test_holt_winters_needs_24_months() -> None:
    seasonal = (100 + 20 * np.sin(2 * np.pi * np.arange(20) / 12))[None, :]
    assert forecast_many(seasonal, horizon=3).methods[0] is not Method.HOLT_WINTERS


def test_croston_sba_by_hand() -> None:
    # Demand 0, 6, 0, 0, 2 with alpha 0.1; average demand interval 5 / 2 = 2.5.
    # First demand: size 6, interval 2.5; next after 3 months: size 6 + 0.1*(2-6) = 5.6,
    # interval 2.5 + 0.1*(3-2.5) = 2.55; SBA = (1 - 0.05) * 5.6 / 2.55
    fc = croston_sba(np.array([[0.0, 6, 0, 0, 2]]), h=2)
    np.testing.assert_allclose(fc, 0.95 * 5.6 / 2.55)


def test_intermittent_items_use_croston_and_report_accuracy() -> None:
    lumpy = np.where(np.arange(24) % 3 == 0, 9.0, 0.0)
    assert average_demand_interval(lumpy[None, :])[0] == pytest.approx(3.0)
    batch = forecast_many(lumpy[None, :], horizon=12)
    assert batch.methods == [Method.CROSTON_SBA]
    assert batch.forecasts.shape == (1, 12)
    assert batch.forecasts[0, 0] == pytest.approx(0.95 * 9 / 3)  # 9 every 3 months, SBA-deflated
    # hold-out of 6: actuals 9,0,0,9,0,0; MAPE counts only months with demand
    assert not np.isnan(batch.mae[0]) and not np.isnan(batch.mape[0])


def test_accuracy_is_measured_on_the_hold_out() -> None:
    rng = np.random.default_rng(7)
    noisy = 50 + rng.normal(0, 5, size=(3, 24))
    batch = forecast_many(noisy, horizon=12)
    assert (batch.mae > 0).all()
    assert (batch.forecasts >= 0).all()
    assert all(m in (Method.MOVING_AVERAGE, Method.SES, Method.HOLT, Method.HOLT_WINTERS) for m in batch.methods)


@pytest.mark.parametrize(
    ("history", "horizon", "fragment"),
    [
        (np.zeros(5), 12, "items × months"),
        (np.array([[1.0, -2, 3]]), 12, "non-negative"),
        (np.array([[1.0, np.nan, 3]]), 12, "non-negative"),
        (np.ones((2, 12)), 0, "horizon"),
    ],
)
def test_bad_history_is_refused(history: np.ndarray, horizon: int, fragment: str) -> None:
    with pytest.raises(ValidationError, match=fragment):
        forecast_many(history, horizon)


def test_forecast_quantities_are_formatted_once_for_the_csv_and_the_json_lists() -> None:
    # Given rounded forecasts of three items over four months, tiny, large and whole among them
    rows = [[1.0, 2.5, 1e-05, 0.1 + 0.2], [1234567.891, 3.0, 0.0, 7.125], [1e16, 0.5, 2.0, 9.999]]
    values = np.round(np.array(rows), 3)

    # When they are turned into text
    numbers = stock_forecast._number_text(values)

    # Then each is what str (so csv.writer) writes, and each row's JSON list reads back as the row
    assert numbers == [str(v) for v in values.ravel().tolist()]
    lists = list(stock_forecast._json_lists(numbers, 4, skip=1))
    assert [json.loads(row) for row in lists] == values.tolist()[1:]
    with pytest.raises(ValueError, match="not a finite number"):
        stock_forecast._number_text(np.array([[1.0, np.nan]]))
