"""Local fake providers speaking the real HTTP protocols, for tests and sandbox mode."""
