"""Zoom: the `VideoPlatform` adapter (`ZoomPlatform`) over Zoom's REST API (`ZoomClient`).

Configuration: create a Server-to-Server OAuth app in the Zoom App Marketplace (Develop → Build
App → Server-to-Server OAuth) on the program's Zoom account, activate it, and give the connector
its **account id**, **client id** and **client secret** (settings `zoom.account_id`,
`zoom.client_id`, `zoom.client_secret`; `connector.platforms.build_platforms` builds the
adapter only when all three are set). The token is fetched with
`grant_type=account_credentials` and cached for its hour, less a 60 s margin.

Scopes to add to the app, one per call the adapter makes:

| call                                                  | scope            |
|-------------------------------------------------------|------------------|
| `GET /meetings/{meetingId}` (security settings)       | `meeting:read`   |
| `GET /past_meetings/{uuid}/participants` (attendance) | `meeting:read`   |
| `GET /meetings/{uuid}/recordings` (review links)      | `recording:read` |
| `DELETE /meetings/{uuid}/recordings?action=trash`     | `recording:write`|

These scope names are not in the project's video-platform reference (its token example shows
only the shape, `"scope": "meeting:read meeting:write user:read"`); they are Zoom's classic
names. Account-level Server-to-Server apps usually list them with an `:admin` suffix
(`meeting:read:admin`, …), and apps created since Zoom's granular scopes get finer names; check
the app's Scopes page against the table above.
"""

from adapters.zoom.client import ZoomClient, meeting_uuid_path
from adapters.zoom.platform import ZoomPlatform

__all__ = ["ZoomClient", "ZoomPlatform", "meeting_uuid_path"]
