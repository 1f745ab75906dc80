"""The NGSI-LD information model, JSON-LD contexts, query language and geo-queries. Pure: no I/O."""
