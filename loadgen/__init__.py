"""Load generator for the agent: Locust traffic (locustfile.py) and fault scenarios (faults)."""
