"""The context store: one interface (:mod:`cetate.store.base`), two backends."""
