"""Room 3: reactions to context changes (subscriptions, rules, alerts, scheduler)."""
