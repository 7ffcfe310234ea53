"""FinHubSessionAuth with httpx.Client.

Try it offline: run `finauth sandbox`, paste its `export FINHUB_...` lines, then
`python examples/finhub_httpx.py`.
"""

import os

import httpx

from finauth import FinHubSessionAuth

BASE_URL = os.environ.get("FINHUB_BASE_URL", "https://sandbox.finhub.cloud")
PATH = "/api/v2.1/customer/individual/categorization/hierarchy/d1e2f3a4-b5c6-47d8-9e0f-1a2b3c4d5e6f"

with httpx.Client(base_url=BASE_URL, auth=FinHubSessionAuth.from_env()) as client:
    response = client.get(PATH)
    response.raise_for_status()
    print(response.json())
