"""Run results and parameters made readable: pounds with the pence, counts as a table, files by name."""

from __future__ import annotations

from acas_batch.services.readable import Shown, readable_params, readable_result

AGED = {
    "summary": "6 customers owe 1,831.96",
    "counts": {"customers": 6, "over_limit": 0},
    "totals": {"total_pence": 183196, "bucket_1-30": 60333, "bytes_freed": 2048},
    "files": ["/srv/acas/output/37/aged_debtors.csv", "/srv/acas/output/37/aged_debtors.pdf"],
    "data": {"findings": [{"check": "disk", "severity": "info"}], "refund_pence": -1250},
}


def test_money_is_pounds_with_the_exact_pence_and_counts_are_a_table() -> None:
    shown = dict(readable_result(AGED))
    assert list(shown) == ["summary", "counts", "totals", "files", "data"]
    counts = shown["counts"]
    assert counts.kind == "table"
    assert [(r[0].text, r[1].text) for r in counts.rows] == [("customers", "6"), ("over limit", "0")]
    totals = dict(shown["totals"].items)
    assert (totals["total"].text, totals["total"].exact) == ("£1,831.96", "183196 pence")
    # Every figure of totals is pence (the jobs total money there), except byte counts.
    assert totals["bucket 1-30"].text == "£603.33"
    assert (totals["bytes freed"].kind, totals["bytes freed"].text) == ("bytes", "2.0 KB")


def test_files_are_named_without_the_servers_folders_and_nested_values_are_lists() -> None:
    shown = dict(readable_result(AGED))
    assert [f.text for f in shown["files"].values] == ["aged_debtors.csv", "aged_debtors.pdf"]
    assert "/srv/" not in repr(shown)
    data = dict(shown["data"].items)
    assert data["findings"].kind == "table" and data["findings"].columns == ("check", "severity")
    assert (data["refund"].text, data["refund"].exact) == ("-£12.50", "-1250 pence")


def test_a_notify_parameter_is_a_definition_list_not_a_python_dict() -> None:
    params = dict(readable_params({"notify": {"on_failure": ["ops@example.com"], "on_success": []}, "keep": True}))
    notify = params["notify"]
    assert notify.kind == "map"
    assert dict(notify.items)["on_failure"] == Shown("text", text="ops@example.com")
    assert dict(notify.items)["on_success"].kind == "empty"
    assert params["keep"].text == "yes"
    assert readable_result(None) == ()
