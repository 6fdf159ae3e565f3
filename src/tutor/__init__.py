"""An offline-first tutor for learning Generative AI.

Importing this package stays light: models, indexes and llama.cpp load only
when a command needs them.
"""

__version__ = "0.1.0"
