"""Hooks for test/http/schemathesis.e2e.test.ts (loaded through SCHEMATHESIS_HOOKS)."""

import re
import uuid

import schemathesis

KEY = re.compile(r"^[\x21-\x7e]{1,255}$")  # services/http/plugins/idempotency.ts


@schemathesis.hook
def before_call(context, case, kwargs):
    """A valid Idempotency-Key made unique per request.

    Every phase draws the same shortest keys ("0", "!") for every operation and body, and the service answers
    the same key with another body with the documented 422 (http.idempotency_key_reused): right, but no
    finding. Keys that break the pattern are left as drawn, so negative tests still send them, and a case that
    leaves a header out on purpose (the coverage phase's missing-header scenario) is not touched at all.
    """
    data = getattr(getattr(case.meta, "phase", None), "data", None)
    if "MISSING" in str(getattr(data, "scenario", "")).upper():
        return
    headers = case.headers
    if not headers:
        return
    for name in list(headers):
        if name.lower() == "idempotency-key" and isinstance(headers[name], str) and KEY.match(headers[name]):
            headers[name] = f"st-{uuid.uuid4()}"
