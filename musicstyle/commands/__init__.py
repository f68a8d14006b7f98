"""Sub-commands of the ``musicstyle`` command line, one module per capability."""
