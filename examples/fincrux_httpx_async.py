"""FincruxJWTAuth with httpx.AsyncClient.

Try it offline: run `finauth sandbox`, paste its `export FINCRUX_...` lines, then
`python examples/fincrux_httpx_async.py`.
"""

import asyncio
import os

import httpx

from finauth import FincruxJWTAuth

BASE_URL = os.environ.get("FINCRUX_BASE_URL", "https://api.fincrux.org")
PATH = "/api/search/RELIANCE"


async def main() -> None:
    async with httpx.AsyncClient(base_url=BASE_URL, auth=FincruxJWTAuth.from_env()) as client:
        response = await client.get(PATH)
        response.raise_for_status()
        print(response.json())


asyncio.run(main())
