"""Rules and alerts, the pure core: rule definitions (:mod:`.model`), the per-(rule, entity)
state machine (:mod:`.evaluator`) and FIWARE Alert entities with their lifecycle
(:mod:`.alerts`), all without I/O; and the runtime built on it: rules as entities
(:mod:`.entity`, :mod:`.service`), the write observer (:mod:`.observer`), the engine
(:mod:`.engine`) and the actions (:mod:`.actions`). See docs/rules.md."""

from cetate.reactions.rules.alerts import (
    ALERT_CONTEXT,
    AUTO,
    acknowledge,
    alert_id,
    alert_status,
    build_alert,
    resolve,
    resolve_on_clear,
)
from cetate.reactions.rules.evaluator import (
    Cleared,
    Opened,
    Reading,
    ReadingIgnored,
    RuleState,
    Transition,
    evaluate,
    initial_state,
    reading_from_attributes,
    tick,
)
from cetate.reactions.rules.model import Rule, RuleScope, in_scope, parse_rule

__all__ = [
    "ALERT_CONTEXT",
    "AUTO",
    "Cleared",
    "Opened",
    "Reading",
    "ReadingIgnored",
    "Rule",
    "RuleScope",
    "RuleState",
    "Transition",
    "acknowledge",
    "alert_id",
    "alert_status",
    "build_alert",
    "evaluate",
    "in_scope",
    "initial_state",
    "parse_rule",
    "reading_from_attributes",
    "resolve",
    "resolve_on_clear",
    "tick",
]
