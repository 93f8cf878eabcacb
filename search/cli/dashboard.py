"""`hpsearch dashboard`: a live, read-only web page over a store."""

from __future__ import annotations

import click

from search.cli.common import FiniteFloatRange, UserError, with_store
from search.reports import queries
from search.store import Store


@click.command()
@with_store
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Anything but loopback needs --token.")
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True,
              help="Port to listen on (0: any free one).")
@click.option("--token", envvar="HPSEARCH_DASHBOARD_TOKEN",
              help="Secret every request must carry (the printed address holds it; the first "
                   "visit keeps it in a cookie). Required with a --host other than loopback. "
                   "Env: HPSEARCH_DASHBOARD_TOKEN.")
@click.option("--exp-key", envvar="HPSEARCH_EXP_KEY",
              help="Print the address of this experiment's page. Env: HPSEARCH_EXP_KEY.")
@click.option("--interval", type=FiniteFloatRange(min=0.2), default=1.0, show_default=True,
              help="Seconds between two reads of the store (longer when a read is slow).")
def dashboard(store: Store, host: str, port: int, token: str | None, exp_key: str | None,
              interval: float) -> None:
    """Serve a live, read-only web page of the store's experiments, trials and workers.

    One read of the store per interval serves every open page; a page receives only what
    changed. Plots are drawn with the plotly.js that hpsearch ships; nothing is fetched
    from the internet. To watch a farm whose
    database is elsewhere, run this where the database is reachable and forward the port:
    ssh -L 8080:127.0.0.1:8080 HOST, then open http://127.0.0.1:8080/.
    """
    from search.dashboard import Dashboard, DashboardError  # the server: only here

    if exp_key is not None and store.experiment(exp_key) is None:
        raise queries.unknown_experiment(store, exp_key)
    try:
        served = Dashboard(store, host=host, port=port, token=token, interval=interval)
    except DashboardError as error:
        raise UserError(str(error)) from None
    click.echo(f"dashboard of {store.location} at {served.url_for(exp_key)}")
    click.echo("read-only; Ctrl-C to stop", err=True)
    try:
        served.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        served.close()
