"""Google Meet: `MeetClient`, read-only calls to the Meet REST API v2.

The webhook receiver (`webhooks.meet.MeetReceiver`) reads what each event names through it;
`MeetPlatform` (`adapters.meet.platform`) is the `VideoPlatform` over it. Configuration and auth
(a token callable or google-auth credentials, e.g. a service account with domain-wide
delegation and the scope in `SCOPES`) are described in `adapters.meet.client`.
"""

from adapters.meet.client import BASE_URL, SCOPES, MeetClient

__all__ = ["BASE_URL", "SCOPES", "MeetClient"]
