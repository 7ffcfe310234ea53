"""FincruxJWTAuth with requests.

Try it offline: run `finauth sandbox`, paste its `export FINCRUX_...` lines, then
`python examples/fincrux_requests.py`.
"""

import os

import requests

from finauth import FincruxJWTAuth

BASE_URL = os.environ.get("FINCRUX_BASE_URL", "https://api.fincrux.org")
PATH = "/api/search/RELIANCE"

auth = FincruxJWTAuth.from_env()
response = requests.get(BASE_URL + PATH, auth=auth, timeout=30)
response.raise_for_status()
print(response.json())
