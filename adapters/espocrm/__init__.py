"""EspoCRM (self-hosted, open source) as a host: REST API with an API user's `X-Api-Key`.

`client.py` talks HTTP and raises typed errors, `streams.py` reads changes and named records,
`mapping.py` holds the default mapping (Contact, CPairing, CSession) and the Task values,
`writer.py` writes tasks and alerts as Tasks keyed on a custom field, and `host.py` puts them
together as a `HostSystem`. Facts: the project's CRM reference §3.
"""

from adapters.espocrm.client import EspoClient
from adapters.espocrm.host import EspoCrmHost
from adapters.espocrm.mapping import DEFAULT_STREAMS, DEFAULT_TASK_KEY_FIELD
from adapters.espocrm.writer import TaskTarget

__all__ = ["DEFAULT_STREAMS", "DEFAULT_TASK_KEY_FIELD", "EspoClient", "EspoCrmHost", "TaskTarget"]
