"""Google Meet: `MeetClient`, read-only calls to the Meet REST API v2.

`MeetPlatform` (`adapters.meet.platform`) is the `VideoPlatform` over it; the outbox reads
through it what each event stored by `webhooks.meet.MeetReceiver` names
(`MeetPlatform.read_change`, mapped to events by `adapters.meet.mapping`). Configuration and auth
(a token callable or google-auth credentials, e.g. a service account with domain-wide
delegation and the scope in `SCOPES`) are described in `adapters.meet.client`.
`DirectoryClient` (`adapters.meet.directory`) turns a signed-in participant's `users/{id}` into
their primary e-mail through the Admin SDK Directory API (scope `DIRECTORY_SCOPES`).
"""

from adapters.meet.client import BASE_URL, SCOPES, MeetClient
from adapters.meet.directory import SCOPES as DIRECTORY_SCOPES
from adapters.meet.directory import DirectoryClient

__all__ = ["BASE_URL", "DIRECTORY_SCOPES", "SCOPES", "DirectoryClient", "MeetClient"]
