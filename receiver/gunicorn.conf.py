"""gunicorn configuration of the receiver: gunicorn -c receiver/gunicorn.conf.py 'alertreceiver.app:create_app()'.

The settings live in the installed package (alertreceiver.gunicorn_conf), so this file and
``python -m alertreceiver`` start the receiver the same way.
"""

from alertreceiver.gunicorn_conf import *  # noqa: F401,F403 - gunicorn reads the module's names
