"""Issue 13 §6: schemathesis over the OpenAPI document against a real server, as a
standing test. A bounded number of examples per operation keeps `make test` short; the
longer run is `python -m tests.bench.fuzz_openapi`. Valid input may not answer 500;
input the schema rules out is refused and changes nothing."""

from __future__ import annotations

import pytest

from tests.conftest import server_env
from tests.e2e.helpers import book_for, register
from tests.fuzzing import data_counts, fuzz
from tests.services import running_server

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


async def test_no_server_errors_and_rejected_input_changes_nothing(database_url: str) -> None:
    # a roomy upload limit per hour: the fuzzer uploads too
    env = server_env(database_url, UPLOADS_PER_HOUR="100000",
                     STRIPE_WEBHOOK_SECRET="whsec_fuzz_" + "f" * 24)  # fmt: skip
    async with running_server(env) as server:
        account = await register(server.base_url)
        await book_for(database_url, account.id, public=True)
        positive = await fuzz(server.base_url, account.token, mode="positive", examples=4,
                              max_time_s=22)  # fmt: skip
        assert positive.ok, positive.failures or positive.output
        before = await data_counts(database_url)
        # the fuzzing phase alone: in negative mode it sends only input the schema rules
        # out (the coverage phase also sends valid baselines, which may change rows)
        negative = await fuzz(server.base_url, account.token, mode="negative", examples=4,
                              max_time_s=22, phases="fuzzing")  # fmt: skip
        assert negative.ok, negative.failures or negative.output
        assert await data_counts(database_url) == before
