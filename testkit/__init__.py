"""Helpers for the test suite only (never imported by the production packages under `gongzhi/`).

- `testkit.world`: named personas and the mini district the tests build on;
- `testkit.permissions`: the generated permission tests' table entries and runner;
- `testkit.race`: the one harness for the PostgreSQL concurrency tests.
"""
