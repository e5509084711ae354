"""Code every service shares, in layers (import-linter enforces them): runtime over kernel over base and vn.

It knows no service: their names, ports and topics are in services/topology.py.
"""
