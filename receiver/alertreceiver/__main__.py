"""Run the receiver under gunicorn with the bundled settings: `python -m alertreceiver`."""

import sys

from gunicorn.app.wsgiapp import run

if __name__ == "__main__":
    sys.argv = ["gunicorn", "-c", "python:alertreceiver.gunicorn_conf", "alertreceiver.app:create_app()"]
    sys.exit(run())
