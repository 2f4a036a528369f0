"""Pure accounting and stock computations: plain functions over plain values.

No database, no I/O: ageing buckets, ABC classes, reorder maths, demand forecasts, the
MTD VAT boxes, Bacs payment files, Late Payment Act interest. The jobs feed them rows
and store what they return.
"""

from __future__ import annotations
