"""The three commands, installed as ``genie-train``, ``genie-dream`` and ``genie-prepare`` (``train.py``, ``dream.py``
and ``prepare.py`` in a checkout call the same functions). Their configs ship inside the package (``genie/configs``);
add your own with ``hydra.searchpath=[file:///path/to/my_configs]``."""
