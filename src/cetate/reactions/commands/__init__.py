"""Commands to devices (dim a lamp to 40 %, reboot a sensor …), tracked from ``pending`` to
``delivered`` and ``succeeded`` / ``failed``, or ``expired`` when the device never answered.
See :mod:`.model` (statuses, transitions, documents), :mod:`.service` (send, get, list, status
changes, expiry), :mod:`.dispatcher` (MQTT delivery), :mod:`.inbox` (device results) and
docs/devices.md."""

from cetate.reactions.commands.model import COMMAND_STATUSES, Command, CommandStatus
from cetate.reactions.commands.service import CommandService

__all__ = ["COMMAND_STATUSES", "Command", "CommandService", "CommandStatus"]
