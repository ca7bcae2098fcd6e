"""What is firing, as the monitor reads it: the Overview's strip and the sidebar's count.

``AlertReadings`` is a part of ``lib.monitor.ClusterMonitor`` (its only user), split out by
concern like ``PastReadings``: one indexed query of the store's ``alerts`` table
(``ix_alerts_cluster_state``), built once per collector poll and shared by every session and
rerun (``_once``); the collector's state machine changes alerts only in a poll. A store that
can't be read gives a reading with its error (the page says it in plain words) and is asked
again at the next rerun. The Alerts page itself reads the store afresh at each run: a silence
or an acknowledgement shows at once there.
"""

from __future__ import annotations

from lib.errors import ConsoleError
from lib.reading import Reading

__all__ = ["AlertReadings"]


class AlertReadings:
    """The firing alerts of the monitor's cluster; mixed into ``ClusterMonitor``."""

    def firing(self) -> Reading[list[dict]]:
        """The cluster's firing alerts (``lib.store.alert_views.firing_alerts``), once per poll."""
        cluster = self.health.cluster
        try:
            rows = self._once(
                f"alerts_firing/{cluster}",
                lambda: self.store.firing_alerts(cluster),
                per_poll=True,
            )
        except ConsoleError as exc:
            return Reading(None, self.health.data_until, exc)
        return Reading(rows, self.health.data_until)
