"""FinveraCookieAuth with requests.

Try it offline: run `finauth sandbox`, paste its `export FINVERA_...` lines, then
`python examples/finvera_requests.py`.
"""

import os

import requests

from finauth import FinveraCookieAuth

BASE_URL = os.environ.get("FINVERA_BASE_URL", "https://api.finvera.news")
PATH = "/kms/api/v1/news/latest"

auth = FinveraCookieAuth.from_env()
response = requests.get(BASE_URL + PATH, auth=auth, timeout=30)
response.raise_for_status()
print(response.json())
