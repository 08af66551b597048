"""Adapters to external systems: CRM/LMS hosts and video platforms.

The built-in `local` host lives in `connector.local_host` because it keeps tasks in the
connector's own store; vendor hosts (Salesforce, HubSpot, EspoCRM) and video platforms get one
package each here, with the same files (`client.py`, `streams.py`, `mapping.py`, `writer.py`).
"""
