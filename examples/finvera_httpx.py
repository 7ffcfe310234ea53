"""FinveraCookieAuth with httpx.Client.

Try it offline: run `finauth sandbox`, paste its `export FINVERA_...` lines, then
`python examples/finvera_httpx.py`.
"""

import os

import httpx

from finauth import FinveraCookieAuth

BASE_URL = os.environ.get("FINVERA_BASE_URL", "https://api.finvera.news")
PATH = "/kms/api/v1/news/latest"

with httpx.Client(base_url=BASE_URL, auth=FinveraCookieAuth.from_env()) as client:
    response = client.get(PATH)
    response.raise_for_status()
    print(response.json())
