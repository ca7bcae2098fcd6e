"""Reading a Vega-Lite chart's data back, as the tests check it: the spec's encodings and the
rows of its dataset, from an Altair chart (``to_dict``) or from what a page sent (AppTest:
the ``vega_lite_chart`` element, its datasets as Arrow IPC bytes).

Times come back as UTC timestamps: the charts stamp the viewer's wall clock as UTC and draw
it on a UTC scale, so a drawn time is compared with the wall clock as a naive timestamp.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import altair as alt
import pandas as pd
import pyarrow as pa

__all__ = ["Drawn", "drawn", "on_page"]


@dataclass(frozen=True)
class Drawn:
    """A chart's spec (top level, or its first layer's encoding for a layered chart) and rows."""

    spec: dict
    rows: pd.DataFrame

    @property
    def encoding(self) -> dict:
        return (self.spec["layer"][0] if "layer" in self.spec else self.spec)["encoding"]

    def field(self, channel: str) -> str:
        return self.encoding[channel]["field"]

    def title(self, channel: str) -> str:
        return self.encoding[channel]["title"]

    def series(self) -> dict[str, pd.DataFrame]:
        """Rows per series, in the legend's order (the colour domain); one "" series without."""
        color = self.encoding.get("color")
        if color is None:
            return {"": self.rows}
        field = color["field"]
        return {name: self.rows[self.rows[field] == name] for name in color["scale"]["domain"]}

    def times(self, rows: pd.DataFrame, channel: str = "x") -> list[pd.Timestamp]:
        """A time channel's values as the wall clock the axis shows (UTC scale → naive)."""
        scale = self.encoding[channel.rstrip("2")]["scale"]  # x2 is drawn on x's scale
        assert scale["type"] == "utc", "times drawn on a UTC scale"
        column = rows[self.field(channel)]
        if pd.api.types.is_datetime64_any_dtype(column):  # Arrow, as a page sends it
            # Streamlit shifts a naive time by the browser's UTC offset: it must carry UTC.
            assert getattr(column.dt, "tz", None) is not None, f"naive: {column.dtype}"
            assert str(column.dt.tz) == "UTC", column.dtype
        stamped = pd.to_datetime(column, utc=True)
        return [t.tz_localize(None) for t in stamped]


def drawn(chart: alt.TopLevelMixin) -> Drawn:
    """An Altair chart's spec and its one dataset, as Vega-Lite gets them."""
    spec = chart.to_dict()
    (values,) = spec.pop("datasets").values()
    return Drawn(spec, pd.DataFrame(values))


def on_page(at, y_title: str) -> Drawn:
    """The chart a page drew whose y axis says ``y_title``, with the rows the browser gets."""
    found = {}
    for element in at.get("vega_lite_chart"):
        spec = json.loads(element.proto.spec)
        (dataset,) = element.proto.datasets
        rows = pa.ipc.open_stream(dataset.data.data).read_all().to_pandas()
        chart = Drawn(spec, rows)
        found[chart.title("y")] = chart
    assert y_title in found, f"no chart titled {y_title!r} among {list(found)}"
    return found[y_title]
