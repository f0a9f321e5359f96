"""KOReader's progress sync (kosync): its wire, its positions and BookMind's."""
