"""Moved to the tests-only package `testkit.world`. This alias stays only until `gongzhi/bulkywaste/testing.py`
(owned by the bulky-waste branch) imports `testkit.world` itself; then delete this file."""

from testkit.world import *  # noqa: F403
from testkit.world import MiniDistrict, build_mini_district, make_user  # noqa: F401
