"""Batch runs: one flow over every row of a dataset, locally or on a Ray cluster.

Qt-free, beside ``studio.core``: the CLI (``orchestra batch``) and the studio's Batch
window both drive it. The pieces, each in its own module:

* ``dataset``   streaming readers for JSONL, CSV and Parquet (memory stays flat);
* ``mapping``   which column feeds which flow input, and the ``expected.*`` columns;
* ``evaluate``  per-row checks, reusing the flow-test expectation forms;
* ``rowrun``    one row through the ordinary executor -> one result record;
* ``results``   the JSON-lines results file: append-only, resumable exactly once;
* ``control``   when to stop (budget, failures, limit) and the running summary;
* ``local``     the local engine (asyncio, N rows at once);
* ``ray_engine`` the Ray engine (a pool of async actors, one budget actor).
"""
