"""MQTT ingest: the topic scheme and its ACL, the built-in broker, and Cetate's subscriber.

See docs/devices.md for the topic scheme and how the built-in and external brokers differ.
"""
