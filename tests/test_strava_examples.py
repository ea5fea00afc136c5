"""The stand-in's committed example replies match Strava's published API description."""

from __future__ import annotations

import json

import pytest
from fakes.strava_server import EXAMPLES_FILE, swagger_examples, swagger_path


def test_committed_examples_match_swagger():
    try:
        spec = json.loads(swagger_path().read_text(encoding="utf-8"))
    except FileNotFoundError:
        pytest.skip("shared/strava/swagger.json is not beside this checkout (a plain clone)")
    committed = json.loads(EXAMPLES_FILE.read_text(encoding="utf-8"))
    committed.pop("_about")
    assert committed == swagger_examples(spec)
