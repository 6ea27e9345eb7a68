"""Qt-free acquisition: reader threads, the dispatcher, link supervision."""
