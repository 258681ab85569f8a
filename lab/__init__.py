"""The lab command: run the observability lab natively, drive load, drill the alerts.

`python -m lab up` starts the agent, the model service, the alert receiver and the Debian
`prometheus` and `prometheus-alertmanager` binaries on 127.0.0.1 with the shipped configs.
`lab.stack.Stack` is the same runner as a Python API, used by the tests.
"""
