"""Users, roles, API tokens and console sessions."""
