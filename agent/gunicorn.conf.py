"""gunicorn configuration of the agent and model services.

    gunicorn -c agent/gunicorn.conf.py 'agentlab.agent:create_app()'
    gunicorn -c agent/gunicorn.conf.py 'agentlab.model:create_app()'

The settings live in the installed package (agentlab.gunicorn_conf), so this file and
``python -m agentlab.agent`` / ``python -m agentlab.model`` start the services the same way.
"""

from agentlab.gunicorn_conf import *  # noqa: F401,F403 - gunicorn reads the module's names
