"""The query layer: filtered, keyset-paged reads of signals and entities."""
