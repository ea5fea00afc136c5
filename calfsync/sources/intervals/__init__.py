"""intervals.icu as a source: HTTP (:mod:`.client`), its replies (:mod:`.listing`), its state keys
(:mod:`.state`). Nothing here touches the database; :mod:`calfsync.ingest.intervals` saves."""
