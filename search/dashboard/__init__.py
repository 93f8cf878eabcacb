"""`hpsearch dashboard`: a live, read-only web page over either store.

    from search.dashboard import Dashboard
    dashboard = Dashboard(store, port=8080)   # reads the store on a thread of its own
    print(dashboard.url)
    dashboard.serve_forever()

One reading thread serves every open page (see `_live`); the pages poll for what changed
(`_server` lists the API) and draw with the plotly.js bundle in `assets`, shipped with hpsearch.
"""

from __future__ import annotations

from search.dashboard._errors import DashboardError
from search.dashboard._server import Dashboard

__all__ = ["Dashboard", "DashboardError"]
