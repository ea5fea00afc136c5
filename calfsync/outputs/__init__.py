"""What calfsync shows outside the terminal: the report page, charts, MQTT.

Outputs read the store and draw; they never write rows and never decide anything a rule
decides (the report draws S1's own reference through :mod:`calfsync.rules.mileage`). Nothing in
``rules/`` or ``sources/`` imports them.
"""
