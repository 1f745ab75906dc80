"""Domain packages of Cetate (citizens, …), each plugged in through the ``cetate.domains``
entry-point group (see :mod:`cetate.web.registry`) without touching core files."""
