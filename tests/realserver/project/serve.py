"""`python -m realserver.project.serve`: migrate, then serve with waitress on 127.0.0.1.

The port is chosen by the kernel (port 0, so no race for a free one) and printed as
the first line of stdout once the socket listens; the parent reads it, then polls.
"""

from __future__ import annotations

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "realserver.project.settings")
    import django
    from django.core.management import call_command
    from django.core.wsgi import get_wsgi_application
    from waitress import create_server

    django.setup()
    call_command("migrate", interactive=False, verbosity=0)
    server = create_server(get_wsgi_application(), host="127.0.0.1", port=0, threads=8)
    print(server.effective_port, flush=True)
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # the parent stops reading
    server.run()


if __name__ == "__main__":
    main()
