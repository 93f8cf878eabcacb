"""The MongoDB store: Hyperopt's `jobs` schema, reserved exactly on MongoDB and FerretDB alike.

Exactness rests on one primitive both servers make atomic: inserting a document whose `_id`
already exists fails. (FerretDB v1 runs `findAndModify` and `update` as a read followed by a
separate write, so a conditional update cannot decide who owns a job.) Every decision about a
job is therefore an insert into the `claims` collection, under an `_id` naming the decision,
and the job document is a view of those claims. The modules, one concern each:

- `_connection`: the client, retries through outages, and `insert_once`;
- `_ids`: the chosen `_id` of every document;
- `_claims`: the decisions (run, start, give up, result);
- `_views`: the job documents, written after each decision and repaired from the claims;
- `_queue`: finding a queued job to claim, with candidates kept between reservations;
- `_dialect`: the server's cheap access paths (MongoDB proper or FerretDB), chosen once;
- `_server_clock`: the server's time, which every time the store writes or judges is on;
- `_experiments`, `_workers`, `_late_results`: the other collections;
- `_store`: MongoStore, the Store interface over all of them.
"""

from search.store._mongo._store import MongoStore

__all__ = ["MongoStore"]
