"""FinHubSessionAuth with httpx.AsyncClient.

Try it offline: run `finauth sandbox`, paste its `export FINHUB_...` lines, then
`python examples/finhub_httpx_async.py`.
"""

import asyncio
import os

import httpx

from finauth import FinHubSessionAuth

BASE_URL = os.environ.get("FINHUB_BASE_URL", "https://sandbox.finhub.cloud")
PATH = "/api/v2.1/customer/individual/categorization/hierarchy/d1e2f3a4-b5c6-47d8-9e0f-1a2b3c4d5e6f"


async def main() -> None:
    async with httpx.AsyncClient(base_url=BASE_URL, auth=FinHubSessionAuth.from_env()) as client:
        response = await client.get(PATH)
        response.raise_for_status()
        print(response.json())


asyncio.run(main())
