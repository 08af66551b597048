"""Microsoft Teams: `GraphClient`, app-only calls to Microsoft Graph.

`TeamsPlatform` (`adapters.teams.platform`) is the `VideoPlatform` over it; the outbox reads
through it what each notification stored by `webhooks.teams.TeamsReceiver` names
(`TeamsPlatform.read_change`, mapped to events by `adapters.teams.mapping`).

Configuration: register an app in Microsoft Entra ID (App registrations → New registration),
add a client secret, and give the connector its **tenant id**, **client id** and **client
secret**. Application permissions to grant (admin consent), one per call:

| call                                                        | permission                        |
|-------------------------------------------------------------|-----------------------------------|
| `GET /communications/callRecords/{id}`; subscribe to them   | `CallRecords.Read.All`            |
| `GET communications/onlineMeetings('…')/recordings('…')`     | `OnlineMeetingRecording.Read.All` |
| `GET communications/onlineMeetings('…')/transcripts('…')`    | `OnlineMeetingTranscript.Read.All`|
| `GET /users/{id}/onlineMeetings…` (lobby, passcode)         | `OnlineMeetings.Read.All`         |

Reading online meetings and their recordings app-only also needs an application access policy
granted to the organizers (`New-CsApplicationAccessPolicy`, `Grant-CsApplicationAccessPolicy`;
reference §4.3).
"""

from adapters.teams.client import GRAPH_URL, SCOPE, GraphClient, meeting_security

__all__ = ["GRAPH_URL", "SCOPE", "GraphClient", "meeting_security"]
