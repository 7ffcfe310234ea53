"""FincruxJWTAuth with httpx.Client.

Try it offline: run `finauth sandbox`, paste its `export FINCRUX_...` lines, then
`python examples/fincrux_httpx.py`.
"""

import os

import httpx

from finauth import FincruxJWTAuth

BASE_URL = os.environ.get("FINCRUX_BASE_URL", "https://api.fincrux.org")
PATH = "/api/search/RELIANCE"

with httpx.Client(base_url=BASE_URL, auth=FincruxJWTAuth.from_env()) as client:
    response = client.get(PATH)
    response.raise_for_status()
    print(response.json())
