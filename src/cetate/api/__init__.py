"""HTTP surfaces: the NGSI-LD API (:mod:`cetate.api.ngsild`) and the app factory
(:func:`cetate.api.app.create_app`)."""
