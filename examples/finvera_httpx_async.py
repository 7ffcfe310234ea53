"""FinveraCookieAuth with httpx.AsyncClient.

Try it offline: run `finauth sandbox`, paste its `export FINVERA_...` lines, then
`python examples/finvera_httpx_async.py`.
"""

import asyncio
import os

import httpx

from finauth import FinveraCookieAuth

BASE_URL = os.environ.get("FINVERA_BASE_URL", "https://api.finvera.news")
PATH = "/kms/api/v1/news/latest"


async def main() -> None:
    async with httpx.AsyncClient(base_url=BASE_URL, auth=FinveraCookieAuth.from_env()) as client:
        response = await client.get(PATH)
        response.raise_for_status()
        print(response.json())


asyncio.run(main())
