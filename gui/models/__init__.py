"""Qt item models of the desktop app: they hold ids and column arrays, never ORM objects."""
