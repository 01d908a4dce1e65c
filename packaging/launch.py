"""Entry point of the frozen build: ``dist/rollbook/rollbook`` runs this."""

import sys

from app.paths import prepare_frozen_process

if __name__ == "__main__":
    prepare_frozen_process()
    from ui.launch import main

    sys.exit(main())
