"""The models a server offers: the registry and the importer (imports core and the engine)."""
